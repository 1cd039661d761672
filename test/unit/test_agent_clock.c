/* agent/clock.c: when the guest's wall clock is stepped to the host's, and by how much. */
#include <check.h>
#include <stdint.h>

#include "../../agent/clock.h"
#include "../../proto/agent_wire.h"
#include "check_main.h"

#define S 1000000000ull
#define MIN AGENT_CLOCK_STEP_MIN_NS

START_TEST(test_close_clocks_left_alone)
{
    uint64_t h = 1796000000ull * S;
    ck_assert_int_eq(clock_step_for(h, h, MIN), 0);
    ck_assert_int_eq(clock_step_for(h, h - (uint64_t)MIN + 1, MIN), 0);
    ck_assert_int_eq(clock_step_for(h, h + (uint64_t)MIN - 1, MIN), 0);
}
END_TEST

START_TEST(test_behind_and_ahead_stepped)
{
    uint64_t h = 1796000000ull * S;
    /* a guest 0.68 s behind (RTC seconds at boot, TCG lag) is moved forward */
    ck_assert_int_eq(clock_step_for(h, h - 680000000ull, MIN), 680000000ll);
    ck_assert_int_eq(clock_step_for(h, h - (uint64_t)MIN, MIN), MIN);
    /* ahead: moved back */
    ck_assert_int_eq(clock_step_for(h, h + 2 * S, MIN), -2 * (int64_t)S);
    /* a guest at 1970 (no RTC) is brought to now */
    ck_assert_int_eq(clock_step_for(h, 5 * S, MIN), (int64_t)(h - 5 * S));
}
END_TEST

START_TEST(test_absurd_values_ignored)
{
    /* values past 2^63 are not wall-clock times: no step, no overflow */
    ck_assert_int_eq(clock_step_for(UINT64_MAX, 1796000000ull * S, MIN), 0);
    ck_assert_int_eq(clock_step_for(1796000000ull * S, UINT64_MAX, MIN), 0);
}
END_TEST

START_TEST(test_no_host_time_no_step)
{
    int64_t stepped = 42;
    ck_assert_int_eq(clock_sync_to_host(0, MIN, &stepped), 0);
    ck_assert_int_eq(stepped, 0);
}
END_TEST

static Suite *clock_suite(void)
{
    Suite *s = suite_create("agent_clock");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_close_clocks_left_alone);
    tcase_add_test(tc, test_behind_and_ahead_stepped);
    tcase_add_test(tc, test_absurd_values_ignored);
    tcase_add_test(tc, test_no_host_time_no_step);
    suite_add_tcase(s, tc);
    return s;
}

CVM_CHECK_MAIN(clock_suite)
