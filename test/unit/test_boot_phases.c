/* boot_phases: the boot watchdog's verdict for each missing event, the derived init time,
 * the phases line and the stall messages. */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "../../shim/sandbox/boot_phases.h"
#include "check_main.h"

#define MS 1000000ull
#define T0 (1000 * MS) /* boot start */

static const struct boot_limits LIM = {.console_ns = 3000 * MS, .deadline_ns = 30000 * MS};

static enum boot_verdict at(const struct boot_phases *b, uint64_t ms_after_start,
                            enum boot_phase *stalled, uint64_t *next)
{
    return boot_phases_check(b, &LIM, T0 + ms_after_start * MS, stalled, next);
}

START_TEST(test_limits_for)
{
    struct boot_limits l = boot_limits_for(0, 30000, true);
    ck_assert_uint_eq(l.console_ns, BOOT_CONSOLE_DEFAULT_KVM_MS * MS);
    ck_assert_uint_eq(l.deadline_ns, 30000 * MS);
    l = boot_limits_for(0, 30000, false);
    ck_assert_uint_eq(l.console_ns, BOOT_CONSOLE_DEFAULT_TCG_MS * MS);
    l = boot_limits_for(500, 2000, false);
    ck_assert_uint_eq(l.console_ns, 500 * MS);
    ck_assert_uint_eq(l.deadline_ns, 2000 * MS);
}
END_TEST

/* Nothing started at all: wait for the deadline, then blame QEMU's start. */
START_TEST(test_stall_before_qemu)
{
    struct boot_phases b;
    enum boot_phase st = _BOOT_PHASE_MAX;
    uint64_t next = 0;
    boot_phases_init(&b, T0);
    ck_assert_int_eq(at(&b, 10, &st, &next), BOOT_WAITING);
    ck_assert_uint_eq(next, T0 + 30000 * MS);
    ck_assert_int_eq(at(&b, 30000, &st, &next), BOOT_STALLED);
    ck_assert_int_eq(st, BOOT_QEMU_SPAWNED);
}
END_TEST

START_TEST(test_stall_qmp)
{
    struct boot_phases b;
    enum boot_phase st = _BOOT_PHASE_MAX;
    uint64_t next = 0;
    boot_phases_init(&b, T0);
    boot_phases_mark(&b, BOOT_QEMU_SPAWNED, T0 + 50 * MS);
    boot_phases_mark(&b, BOOT_CONSOLE, T0 + 100 * MS); /* odd, but QMP is what is missing */
    ck_assert_int_eq(at(&b, 30001, &st, &next), BOOT_STALLED);
    ck_assert_int_eq(st, BOOT_QMP_READY);
}
END_TEST

/* QEMU runs, the console stays silent: fail at spawn + console limit, long before the
 * deadline (the PVM host's signature). */
START_TEST(test_stall_silent_console)
{
    struct boot_phases b;
    enum boot_phase st = _BOOT_PHASE_MAX;
    uint64_t next = 0;
    boot_phases_init(&b, T0);
    boot_phases_mark(&b, BOOT_QEMU_SPAWNED, T0 + 200 * MS);
    boot_phases_mark(&b, BOOT_QMP_READY, T0 + 400 * MS);
    ck_assert_int_eq(at(&b, 500, &st, &next), BOOT_WAITING);
    ck_assert_uint_eq(next, T0 + 3200 * MS); /* spawn + console limit */
    ck_assert_int_eq(at(&b, 3199, &st, &next), BOOT_WAITING);
    ck_assert_int_eq(at(&b, 3200, &st, &next), BOOT_STALLED);
    ck_assert_int_eq(st, BOOT_CONSOLE);
}
END_TEST

/* Kernel output came, the agent never answered: wait for the whole deadline, blame the agent. */
START_TEST(test_stall_agent)
{
    struct boot_phases b;
    enum boot_phase st = _BOOT_PHASE_MAX;
    uint64_t next = 0;
    boot_phases_init(&b, T0);
    boot_phases_mark(&b, BOOT_QEMU_SPAWNED, T0 + 200 * MS);
    boot_phases_mark(&b, BOOT_QMP_READY, T0 + 400 * MS);
    boot_phases_mark(&b, BOOT_CONSOLE, T0 + 900 * MS);
    ck_assert_int_eq(at(&b, 5000, &st, &next), BOOT_WAITING);
    ck_assert_uint_eq(next, T0 + 30000 * MS);
    ck_assert_int_eq(at(&b, 30000, &st, &next), BOOT_STALLED);
    ck_assert_int_eq(st, BOOT_AGENT);
}
END_TEST

/* A console limit past the deadline never fires on its own: the deadline decides. */
START_TEST(test_console_limit_past_deadline)
{
    struct boot_phases b;
    struct boot_limits l = {.console_ns = 60000 * MS, .deadline_ns = 2000 * MS};
    enum boot_phase st = _BOOT_PHASE_MAX;
    uint64_t next = 0;
    boot_phases_init(&b, T0);
    boot_phases_mark(&b, BOOT_QEMU_SPAWNED, T0 + 10 * MS);
    boot_phases_mark(&b, BOOT_QMP_READY, T0 + 20 * MS);
    ck_assert_int_eq(boot_phases_check(&b, &l, T0 + 100 * MS, &st, &next), BOOT_WAITING);
    ck_assert_uint_eq(next, T0 + 2000 * MS);
    ck_assert_int_eq(boot_phases_check(&b, &l, T0 + 2000 * MS, &st, &next), BOOT_STALLED);
    ck_assert_int_eq(st, BOOT_CONSOLE);
}
END_TEST

START_TEST(test_up_and_init_derived)
{
    struct boot_phases b;
    enum boot_phase st = _BOOT_PHASE_MAX;
    uint64_t next = 0;
    char line[512];
    boot_phases_init(&b, T0);
    boot_phases_mark(&b, BOOT_QEMU_SPAWNED, T0 + 12 * MS);
    boot_phases_mark(&b, BOOT_QMP_READY, T0 + 40 * MS);
    boot_phases_mark(&b, BOOT_QMP_READY, T0 + 99 * MS); /* first mark wins */
    boot_phases_mark(&b, BOOT_CONSOLE, T0 + 180 * MS);
    /* the agent answers at +2000 ms; its clock: init at 1400 ms, serving 1500, now 1700 */
    boot_phases_agent(&b, T0 + 2000 * MS, 1400 * MS, 1500 * MS, 1700 * MS);
    ck_assert_uint_eq(b.at_ns[BOOT_INIT], T0 + 1700 * MS);
    ck_assert_uint_eq(b.at_ns[BOOT_AGENT], T0 + 2000 * MS);
    ck_assert(b.agent_reached);
    ck_assert_int_eq(at(&b, 40000, &st, &next), BOOT_UP); /* up is up, even past the deadline */
    boot_phases_mark(&b, BOOT_CONTAINER, T0 + 2300 * MS);
    boot_phases_format(&b, line, sizeof(line));
    ck_assert_str_eq(line, "qemu +12 ms, qmp +40 ms, console +180 ms, init +1700 ms (guest uptime "
                           "1400 ms, agent serving at 1500 ms), agent +2000 ms, container +2300 ms");
}
END_TEST

/* A guest clock ahead of the host's must not put init before QEMU existed. */
START_TEST(test_init_clamped)
{
    struct boot_phases b;
    boot_phases_init(&b, T0);
    boot_phases_mark(&b, BOOT_QEMU_SPAWNED, T0 + 500 * MS);
    boot_phases_agent(&b, T0 + 1000 * MS, 100 * MS, 200 * MS, 5000 * MS);
    ck_assert_uint_eq(b.at_ns[BOOT_INIT], T0 + 500 * MS);
    /* no uptime from the agent (an old agent): no init phase, agent still marked */
    boot_phases_init(&b, T0);
    boot_phases_agent(&b, T0 + 1000 * MS, 0, 0, 0);
    ck_assert_uint_eq(b.at_ns[BOOT_INIT], 0);
    ck_assert_uint_eq(b.at_ns[BOOT_AGENT], T0 + 1000 * MS);
}
END_TEST

START_TEST(test_format_partial_and_small)
{
    struct boot_phases b;
    char line[16];
    boot_phases_init(&b, T0);
    ck_assert_int_eq(boot_phases_format(&b, line, sizeof(line)), 0);
    ck_assert_str_eq(line, "");
    boot_phases_mark(&b, BOOT_QEMU_SPAWNED, T0 + 5 * MS);
    boot_phases_mark(&b, BOOT_QMP_READY, T0 + 70 * MS);
    int n = boot_phases_format(&b, line, sizeof(line));
    ck_assert_int_eq(n, (int)strlen("qemu +5 ms, qmp +70 ms"));
    ck_assert_uint_eq(strlen(line), sizeof(line) - 1); /* truncated, terminated */
}
END_TEST

START_TEST(test_stall_messages)
{
    struct boot_phases b;
    char m[1024];
    boot_phases_init(&b, T0);
    boot_phases_mark(&b, BOOT_QEMU_SPAWNED, T0 + 200 * MS);
    boot_phases_mark(&b, BOOT_QMP_READY, T0 + 400 * MS);
    boot_stall_message(&b, &LIM, BOOT_CONSOLE, true,
                       "kvm: forced by \"accel\": \"kvm\" although /dev/kvm is served by kvm_pvm",
                       "", "", m, sizeof(m));
    ck_assert_msg(strstr(m, "console stayed silent for 3000 ms") && strstr(m, "accel kvm: forced") &&
                      strstr(m, "set \"accel\": \"tcg\""),
                  "%s", m);
    boot_stall_message(&b, &LIM, BOOT_CONSOLE, false, "tcg: no /dev/kvm", "", "", m, sizeof(m));
    ck_assert_msg(strstr(m, "accel tcg: no /dev/kvm") && strstr(m, "console_deadline_ms") &&
                      !strstr(m, "set \"accel\""),
                  "%s", m);
    boot_phases_mark(&b, BOOT_CONSOLE, T0 + 700 * MS);
    boot_stall_message(&b, &LIM, BOOT_AGENT, false, "tcg", "agent vsock connect: Connection reset by peer",
                       "[ 1.0] Kernel panic|end", m, sizeof(m));
    ck_assert_msg(strstr(m, "first output 500 ms after QEMU started") &&
                      strstr(m, "did not answer within 30000 ms") &&
                      strstr(m, "Connection reset by peer") && strstr(m, "console: [ 1.0] Kernel panic|end"),
                  "%s", m);
    b.agent_reached = true;
    boot_stall_message(&b, &LIM, BOOT_AGENT, false, "tcg", "agent health: boom", "", m, sizeof(m));
    ck_assert_msg(strstr(m, "reachable but failing") && strstr(m, "agent health: boom") &&
                      strstr(m, "console: (empty)"),
                  "%s", m);
    boot_stall_message(&b, &LIM, BOOT_QMP_READY, false, "tcg", "", "", m, sizeof(m));
    ck_assert_msg(strstr(m, "QMP monitor within 30000 ms"), "%s", m);
    boot_stall_message(&b, &LIM, BOOT_QEMU_SPAWNED, false, "tcg", "", "", m, sizeof(m));
    ck_assert_msg(strstr(m, "QEMU was not started"), "%s", m);
    ck_assert_str_eq(boot_phase_name(BOOT_CONSOLE), "console");
    ck_assert_str_eq(boot_phase_name(_BOOT_PHASE_MAX), "?");
}
END_TEST

START_TEST(test_last_and_panic)
{
    struct boot_phases b;
    char line[64];
    boot_phases_init(&b, T0);
    ck_assert_int_eq(boot_phases_last(&b), _BOOT_PHASE_MAX);
    boot_phases_mark(&b, BOOT_QEMU_SPAWNED, T0 + 1);
    boot_phases_mark(&b, BOOT_CONSOLE, T0 + 3); /* QMP missing: the latest reached counts */
    ck_assert_int_eq(boot_phases_last(&b), BOOT_CONSOLE);

    const char *con = "[ 0.8] Run /init as init process\r\n[ 0.9] Kernel panic - not syncing: "
                      "No working init found.  Try passing init= option\r\n[ 0.9] CPU: 0 PID: 1\r\n"
                      "[ 1.0] ---[ end Kernel panic - not syncing: No working init found. ]---\r\n";
    ck_assert_int_eq(boot_console_panic(con, line, sizeof(line)), 0);
    ck_assert_str_eq(line, "Kernel panic - not syncing: No working init found.");
    ck_assert_int_eq(boot_console_panic("a|Kernel panic - not syncing: VFS: x|b", line, sizeof(line)), 0);
    ck_assert_str_eq(line, "Kernel panic - not syncing: VFS: x");
    ck_assert_int_eq(boot_console_panic("Kernel panic - not syncing: \x1b[0mred", line, 12), 0);
    ck_assert_str_eq(line, "Kernel pani"); /* bounded */
    ck_assert_int_eq(boot_console_panic("Kernel panic - not syncing: \x1b!", line, sizeof(line)), 0);
    ck_assert_str_eq(line, "Kernel panic - not syncing: ?!");
    ck_assert_int_eq(boot_console_panic("all is well\n", line, sizeof(line)), -ENOENT);
    ck_assert_int_eq(boot_console_panic("", line, sizeof(line)), -ENOENT);
}
END_TEST

static Suite *boot_phases_suite(void)
{
    Suite *s = suite_create("boot_phases");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_limits_for);
    tcase_add_test(tc, test_stall_before_qemu);
    tcase_add_test(tc, test_stall_qmp);
    tcase_add_test(tc, test_stall_silent_console);
    tcase_add_test(tc, test_stall_agent);
    tcase_add_test(tc, test_console_limit_past_deadline);
    tcase_add_test(tc, test_up_and_init_derived);
    tcase_add_test(tc, test_init_clamped);
    tcase_add_test(tc, test_format_partial_and_small);
    tcase_add_test(tc, test_stall_messages);
    tcase_add_test(tc, test_last_and_panic);
    suite_add_tcase(s, tc);
    return s;
}

CVM_CHECK_MAIN(boot_phases_suite)
