/* shim/task_state.c: every (state, event) cell of the lifecycle table (spec §3.4). */
#include <check.h>

#include "../../shim/task/proc_state.h"
#include "check_main.h"
#include "errmap.h"

#define A 0
#define F RPC_FAILED_PRECONDITION
#define N RPC_NOT_FOUND
#define C PROC_CREATED
#define R PROC_RUNNING
#define S PROC_STOPPED
#define P PROC_PAUSED
#define G PROC_PAUSING
#define U PROC_UNKNOWN

struct cell {
    int code;
    enum proc_status next;
    int noop;
};

/* Columns: START EXIT KILL PAUSE RESUME DELETE EXEC VM_DIED */
static const struct cell expect[_PROC_STATUS_MAX][_PEV_MAX] = {
    [PROC_UNKNOWN] = { { F, U, 0 }, { F, U, 0 }, { F, U, 0 }, { F, U, 0 }, { F, U, 0 }, { F, U, 0 }, { F, U, 0 }, { F, U, 0 } },
    [PROC_CREATED] = { { A, R, 0 }, { A, S, 0 }, { A, C, 0 }, { F, C, 0 }, { F, C, 0 }, { A, U, 0 }, { F, C, 0 }, { A, S, 0 } },
    [PROC_RUNNING] = { { F, R, 0 }, { A, S, 0 }, { A, R, 0 }, { A, P, 0 }, { F, R, 0 }, { F, R, 0 }, { A, R, 0 }, { A, S, 0 } },
    [PROC_STOPPED] = { { F, S, 0 }, { A, S, 1 }, { N, S, 0 }, { F, S, 0 }, { F, S, 0 }, { A, U, 0 }, { F, S, 0 }, { A, S, 1 } },
    [PROC_PAUSED] = { { F, P, 0 }, { A, S, 0 }, { A, P, 0 }, { A, P, 1 }, { A, R, 0 }, { F, P, 0 }, { F, P, 0 }, { A, S, 0 } },
    [PROC_PAUSING] = { { F, G, 0 }, { A, S, 0 }, { A, G, 0 }, { F, G, 0 }, { F, G, 0 }, { F, G, 0 }, { F, G, 0 }, { A, S, 0 } },
};

START_TEST(test_cell)
{
    enum proc_status s = (enum proc_status)(_i / _PEV_MAX);
    enum proc_event e = (enum proc_event)(_i % _PEV_MAX);
    const struct proc_transition *t = proc_transition(s, e);
    const struct cell *c = &expect[s][e];
    ck_assert_msg(t->code == c->code && t->next == c->next && t->noop == c->noop,
                  "%s x %s: got code %d next %s noop %d", proc_status_name(s), proc_event_name(e),
                  t->code, proc_status_name(t->next), t->noop);
}
END_TEST

START_TEST(test_out_of_range)
{
    ck_assert_int_eq(proc_transition((enum proc_status)99, PEV_START)->code, RPC_FAILED_PRECONDITION);
    ck_assert_int_eq(proc_transition(PROC_RUNNING, (enum proc_event)99)->code, RPC_FAILED_PRECONDITION);
    ck_assert_str_eq(proc_status_name(PROC_STOPPED), "stopped");
    ck_assert_str_eq(proc_event_name(PEV_VM_DIED), "vm-died");
}
END_TEST

START_TEST(test_status_values_match_containerd)
{
    /* containerd.v1.types.Status numbering (spec §3.2) */
    ck_assert_int_eq(PROC_CREATED, 1);
    ck_assert_int_eq(PROC_RUNNING, 2);
    ck_assert_int_eq(PROC_STOPPED, 3);
    ck_assert_int_eq(PROC_PAUSED, 4);
    ck_assert_int_eq(PROC_PAUSING, 5);
}
END_TEST

static Suite *state_suite(void)
{
    Suite *s = suite_create("shim_state");
    TCase *tc = tcase_create("table");
    tcase_add_loop_test(tc, test_cell, 0, _PROC_STATUS_MAX * _PEV_MAX);
    tcase_add_test(tc, test_out_of_range);
    tcase_add_test(tc, test_status_values_match_containerd);
    suite_add_tcase(s, tc);
    return s;
}

CVM_CHECK_MAIN(state_suite)
