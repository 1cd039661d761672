/* The shim's task service against a fake VM and agent (shim_task/harness.h): the lifecycle,
 * Wait concurrency, event order, kill of a never-started task, exec, running delete, Pids. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../shim/naming/address.h"
#include "../../shim/events/events.h"
#include "../../shim/sandbox/mounts.h"
#include "../../shim/task/model.h"
#include "agent.pb-c.h"
#include "containerd/runc/v1/process.pb-c.h"
#include "agent_wire.h"
#include "check_main.h"
#include "shim_task/harness.h"
#include "cleanup.h"
#include "containerd/events/task.pb-c.h"
#include "containerd/services/events/ttrpc/v1/events.pb-c.h"
#include "containerd/task/v2/shim.pb-c.h"
#include "fd.h"
#include "hv.h"
#include "loop.h"
#include "runtimeoptions/v1/api.pb-c.h"
#include "ttrpc.h"


/* containerd 2.x speaks containerd.task.v3.Task to a shim: the same handlers answer under
 * both names, byte for byte; a name we do not serve is an error, not a silent answer. */
START_TEST(test_task_v2_and_v3_names)
{
    struct res r, v2, v3, v4;
    create("cv", outfile, &r);
    ck_assert_msg(r.code == 0, "create: %s", r.msg);
    Containerd__Task__V2__StateRequest q = CONTAINERD__TASK__V2__STATE_REQUEST__INIT;
    q.id = "cv";
    q.exec_id = "";
    call_service_async("containerd.task.v2.Task", "State", &q.base, &v2);
    run_until(&v2.done);
    call_service_async("containerd.task.v3.Task", "State", &q.base, &v3);
    run_until(&v3.done);
    ck_assert_msg(v2.code == 0 && v3.code == 0, "v2 %d %s, v3 %d %s", v2.code, v2.msg, v3.code, v3.msg);
    ck_assert_uint_gt(v3.len, 0);
    ck_assert_uint_eq(v2.len, v3.len);
    ck_assert_mem_eq(v2.buf, v3.buf, v3.len);
    ck_assert_int_eq(state_of("cv", "", NULL), PROC_CREATED);
    /* an unknown container: the same error under either name */
    q.id = "nope";
    call_service_async("containerd.task.v3.Task", "State", &q.base, &v3);
    run_until(&v3.done);
    call_service_async("containerd.task.v2.Task", "State", &q.base, &v2);
    run_until(&v2.done);
    ck_assert_int_ne(v3.code, 0);
    ck_assert_int_eq(v2.code, v3.code);
    ck_assert_str_eq(v2.msg, v3.msg);
    call_service_async("containerd.task.v4.Task", "State", &q.base, &v4);
    run_until(&v4.done);
    ck_assert_int_eq(v4.code, 12); /* UNIMPLEMENTED: no such service */
    simple("Delete", "cv", "", &r);
}
END_TEST

START_TEST(test_lifecycle)
{
    struct res r, w, w2;
    uint32_t es;
    create("c1", outfile, &r);
    ck_assert_msg(r.code == 0, "create: %s", r.msg);
    ck_assert_int_eq(state_of("c1", "", NULL), PROC_CREATED);
    wait_async("c1", "", &w);
    wait_async("c1", "", &w2); /* two concurrent waiters */
    simple("Start", "c1", "", &r);
    ck_assert_int_eq(r.code, 0);
    ck_assert_int_eq(state_of("c1", "", NULL), PROC_RUNNING); /* State answers while Wait is pending */
    ck_assert(!w.done && !w2.done);
    agent_exit("c1", "", 3, "hello\n");
    run_until(&w.done);
    run_until(&w2.done);
    ck_assert_uint_eq(wait_status(&w), 3);
    ck_assert_uint_eq(wait_status(&w2), 3);
    ck_assert_int_eq(state_of("c1", "", &es), PROC_STOPPED);
    ck_assert_uint_eq(es, 3);
    char buf[64] = "";
    int fd = open(outfile, O_RDONLY | O_CLOEXEC);
    ck_assert_int_eq(read(fd, buf, sizeof(buf)), 6);
    close(fd);
    ck_assert_str_eq(buf, "hello\n");
    simple("Kill", "c1", "", &r); /* signal 0 → invalid, but it's stopped first: NOT_FOUND */
    ck_assert_int_eq(r.code, RPC_NOT_FOUND);
    simple("Delete", "c1", "", &r);
    ck_assert_int_eq(r.code, 0);
    ck_assert_int_eq(state_of("c1", "", NULL), -RPC_NOT_FOUND);
    events_flush();
    ck_assert_int_eq(n_topics, 4);
    ck_assert_str_eq(topics[0], "/tasks/create");
    ck_assert_str_eq(topics[1], "/tasks/start");
    ck_assert_str_eq(topics[2], "/tasks/exit:c1=3");
    ck_assert_str_eq(topics[3], "/tasks/delete");
    /* Shutdown with nothing left: the VM stops, the run dir goes, the loop quits */
    Containerd__Task__V2__ShutdownRequest sq = CONTAINERD__TASK__V2__SHUTDOWN_REQUEST__INIT;
    sq.id = "c1";
    call("Shutdown", &sq.base, &r);
    ck_assert_int_eq(r.code, 0);
    for (int i = 0; i < 200 && !loop_is_quitting(L); i++)
        loop_run_once(L, 5);
    ck_assert(loop_is_quitting(L));
    char run[128];
    shim_run_dir(S.hash, run, sizeof(run));
    ck_assert_int_eq(access(run, F_OK), -1);
}
END_TEST

START_TEST(test_kill_never_started_and_errors)
{
    struct res r, w;
    create("c1", NULL, &r);
    ck_assert_msg(r.code == 0, "create: %s", r.msg);
    create("c1", NULL, &r);
    ck_assert_int_eq(r.code, RPC_ALREADY_EXISTS);
    wait_async("c1", "", &w);
    Containerd__Task__V2__KillRequest k = CONTAINERD__TASK__V2__KILL_REQUEST__INIT;
    k.id = "c1";
    k.signal = 9;
    call("Kill", &k.base, &r);
    ck_assert_int_eq(r.code, 0);
    run_until(&w.done);
    ck_assert_uint_eq(wait_status(&w), 137);
    simple("Start", "c1", "", &r);
    ck_assert_int_eq(r.code, RPC_FAILED_PRECONDITION);
    simple("State", "nope", "", &r);
    ck_assert_int_eq(r.code, RPC_NOT_FOUND);
    simple("Checkpoint", "c1", "", &r);
    ck_assert_int_eq(r.code, RPC_UNIMPLEMENTED);
    /* Shutdown is a no-op while a container is tracked */
    Containerd__Task__V2__ShutdownRequest sq = CONTAINERD__TASK__V2__SHUTDOWN_REQUEST__INIT;
    call("Shutdown", &sq.base, &r);
    settle();
    ck_assert_int_eq(r.code, 0);
    ck_assert(!loop_is_quitting(L));
    simple("Delete", "c1", "", &r);
    ck_assert_int_eq(r.code, 0);
    events_flush();
    ck_assert_str_eq(topics[0], "/tasks/create");
    ck_assert_str_eq(topics[1], "/tasks/exit:c1=137");
    ck_assert_str_eq(topics[2], "/tasks/delete");
}
END_TEST

START_TEST(test_exec_and_running_delete)
{
    struct res r, w;
    create("c1", NULL, &r);
    ck_assert_int_eq(r.code, 0);
    simple("Start", "c1", "", &r);
    ck_assert_int_eq(r.code, 0);
    Containerd__Task__V2__ExecProcessRequest e = CONTAINERD__TASK__V2__EXEC_PROCESS_REQUEST__INIT;
    Google__Protobuf__Any spec = GOOGLE__PROTOBUF__ANY__INIT;
    static char json[] = "{\"args\":[\"sh\"],\"cwd\":\"/\"}";
    spec.type_url = "types.containerd.io/opencontainers/runtime-spec/1/Process";
    spec.value.data = (uint8_t *)json;
    spec.value.len = strlen(json);
    e.id = "c1";
    e.exec_id = "e1";
    e.stdout = outfile;
    e.spec = &spec;
    call("Exec", &e.base, &r);
    ck_assert_msg(r.code == 0, "exec: %s", r.msg);
    call("Exec", &e.base, &r);
    ck_assert_int_eq(r.code, RPC_ALREADY_EXISTS);
    ck_assert_int_eq(state_of("c1", "e1", NULL), PROC_CREATED);
    wait_async("c1", "e1", &w);
    simple("Start", "c1", "e1", &r);
    ck_assert_int_eq(r.code, 0);
    agent_exit("c1", "e1", 7, "x");
    run_until(&w.done);
    ck_assert_uint_eq(wait_status(&w), 7);
    deleted_exec[0] = 0;
    simple("Delete", "c1", "e1", &r);
    ck_assert_int_eq(r.code, 0);
    ck_assert_str_eq(deleted_exec, "c1/e1"); /* freed in the agent too */
    ck_assert_int_eq(state_of("c1", "e1", NULL), -RPC_NOT_FOUND);
    call("Exec", &e.base, &r); /* the exec ID is free again */
    ck_assert_msg(r.code == 0, "exec again: %s", r.msg);
    /* killed before Start: exits 128+sig here, and the waiting guest process gets SIGKILL */
    wait_async("c1", "e1", &w);
    Containerd__Task__V2__KillRequest k = CONTAINERD__TASK__V2__KILL_REQUEST__INIT;
    k.id = "c1";
    k.exec_id = "e1";
    k.signal = 15;
    last_signal[0] = 0;
    call("Kill", &k.base, &r);
    ck_assert_int_eq(r.code, 0);
    run_until(&w.done);
    ck_assert_uint_eq(wait_status(&w), 143);
    for (int i = 0; i < 100 && !last_signal[0]; i++)
        loop_run_once(L, 10);
    ck_assert_str_eq(last_signal, "c1/e1:9");
    simple("Delete", "c1", "e1", &r);
    ck_assert_int_eq(r.code, 0);
    simple("Delete", "c1", "", &r);
    ck_assert_int_eq(r.code, RPC_FAILED_PRECONDITION); /* init still running */
    events_flush();
    ck_assert_str_eq(topics[2], "/tasks/exec-added");
    ck_assert_str_eq(topics[3], "/tasks/exec-started");
    ck_assert_str_eq(topics[4], "/tasks/exit:e1=7");
}
END_TEST

/* Pids: the guest's processes, exec ids in info as runc's shim gives them. */
START_TEST(test_pids_from_guest)
{
    struct res r;
    create("c1", NULL, &r);
    ck_assert_msg(r.code == 0, "create: %s", r.msg);
    Containerd__Task__V2__PidsRequest q = CONTAINERD__TASK__V2__PIDS_REQUEST__INIT;
    q.id = "c1";
    call("Pids", &q.base, &r);
    ck_assert_int_eq(r.code, 0);
    Containerd__Task__V2__PidsResponse *pr = containerd__task__v2__pids_response__unpack(NULL, r.len, r.buf);
    ck_assert_ptr_nonnull(pr);
    ck_assert_uint_eq(pr->n_processes, 2);
    ck_assert_uint_eq(pr->processes[0]->pid, 100);
    ck_assert_ptr_null(pr->processes[0]->info);
    ck_assert_uint_eq(pr->processes[1]->pid, 101);
    ck_assert_ptr_nonnull(pr->processes[1]->info);
    ck_assert_str_eq(pr->processes[1]->info->type_url, "containerd.runc.v1.ProcessDetails");
    Containerd__Runc__V1__ProcessDetails *d = containerd__runc__v1__process_details__unpack(
        NULL, pr->processes[1]->info->value.len, pr->processes[1]->info->value.data);
    ck_assert_ptr_nonnull(d);
    ck_assert_str_eq(d->exec_id, "e1");
    containerd__runc__v1__process_details__free_unpacked(d, NULL);
    containerd__task__v2__pids_response__free_unpacked(pr, NULL);
}
END_TEST

/* A guest whose ListProcesses answer has too many entries, or too many bytes: Pids answers
 * the task pid alone (nothing of the answer was decoded past the guard). */
static void pids_gets_task_pid_only(int flood)
{
    struct res r;
    create("c1", NULL, &r);
    ck_assert_msg(r.code == 0, "create: %s", r.msg);
    list_flood = flood;
    Containerd__Task__V2__PidsRequest q = CONTAINERD__TASK__V2__PIDS_REQUEST__INIT;
    q.id = "c1";
    call("Pids", &q.base, &r);
    ck_assert_int_eq(r.code, 0);
    Containerd__Task__V2__PidsResponse *pr = containerd__task__v2__pids_response__unpack(NULL, r.len, r.buf);
    ck_assert_ptr_nonnull(pr);
    ck_assert_uint_eq(pr->n_processes, 1);
    ck_assert_uint_ne(pr->processes[0]->pid, 1);
    containerd__task__v2__pids_response__free_unpacked(pr, NULL);
}

START_TEST(test_pids_too_many_entries)
{
    pids_gets_task_pid_only(1);
}
END_TEST

START_TEST(test_pids_reply_over_cap)
{
    pids_gets_task_pid_only(2);
}
END_TEST

static int count_topic(const char *t)
{
    int n = 0;
    for (int i = 0; i < n_topics; i++)
        n += strcmp(topics[i], t) == 0;
    return n;
}

/* A guest answering every WaitOOM at once, naming a container of ours and one it made up:
 * at most one TaskOOM per container per second, and WaitOOM asked again at most once a
 * second; the invented id is never published. */
START_TEST(test_oom_flood_is_rate_limited)
{
    struct res r;
    oom_flood_ids[0] = "c1";
    oom_flood_ids[1] = "ghost";
    n_oom_flood = 2;
    create("c1", NULL, &r);
    ck_assert_msg(r.code == 0, "create: %s", r.msg);
    uint64_t end = now_ns() + 2300000000ull;
    while (now_ns() < end)
        loop_run_once(L, 10);
    events_flush();
    int ooms = count_topic("/tasks/oom");
    ck_assert_msg(ooms >= 2 && ooms <= 3, "%d TaskOOM in 2.3 s", ooms);
    ck_assert_msg(n_waitoom >= 2 && n_waitoom <= 4, "%d WaitOOM in 2.3 s", n_waitoom);
}
END_TEST

/* A WaitOOM answer with more ids than AGENT_MAX_OOM_IDS is refused whole (counted on the raw
 * bytes before decoding): nothing of it is published. */
START_TEST(test_oom_answer_with_too_many_ids_is_refused)
{
    struct res r;
    for (size_t i = 0; i <= AGENT_MAX_OOM_IDS; i++)
        oom_flood_ids[i] = "c1";
    n_oom_flood = AGENT_MAX_OOM_IDS + 1;
    create("c1", NULL, &r);
    ck_assert_msg(r.code == 0, "create: %s", r.msg);
    uint64_t end = now_ns() + 1300000000ull;
    while (now_ns() < end)
        loop_run_once(L, 10);
    events_flush();
    ck_assert_int_eq(count_topic("/tasks/oom"), 0);
    ck_assert_int_ge(n_waitoom, 2); /* and the watch goes on */
}
END_TEST

/* A guest that reports the exit but never ends the stream: the exit goes out once the drain
 * bound passed, with what had arrived by then. */
START_TEST(test_exit_with_a_never_ending_stream)
{
    struct res r, w;
    S.exit_drain_ms = 300;
    keep_streams_open = 1;
    create("c1", outfile, &r);
    ck_assert_msg(r.code == 0, "create: %s", r.msg);
    wait_async("c1", "", &w);
    simple("Start", "c1", "", &r);
    ck_assert_int_eq(r.code, 0);
    agent_exit("c1", "", 5, "partial\n");
    uint64_t t0 = now_ns();
    run_until(&w.done);
    ck_assert_uint_ge(now_ns() - t0, 250000000ull);
    ck_assert_uint_eq(wait_status(&w), 5);
    char buf[64] = "";
    int fd = open(outfile, O_RDONLY | O_CLOEXEC);
    ck_assert_int_eq(read(fd, buf, sizeof(buf)), 8);
    close(fd);
    events_flush();
    ck_assert_int_eq(count_topic("/tasks/exit:c1=5"), 1);
}
END_TEST

static Suite *task_suite(void)
{
    Suite *s = suite_create("shim_task");
    TCase *tc = tcase_create("fake-vm");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_lifecycle);
    tcase_add_test(tc, test_task_v2_and_v3_names);
    tcase_add_test(tc, test_kill_never_started_and_errors);
    tcase_add_test(tc, test_exec_and_running_delete);
    tcase_add_test(tc, test_pids_from_guest);
    tcase_add_test(tc, test_pids_too_many_entries);
    tcase_add_test(tc, test_pids_reply_over_cap);
    tcase_add_test(tc, test_oom_flood_is_rate_limited);
    tcase_add_test(tc, test_oom_answer_with_too_many_ids_is_refused);
    tcase_add_test(tc, test_exit_with_a_never_ending_stream);
    suite_add_tcase(s, tc);
    return s;
}

CVM_CHECK_MAIN(task_suite)
