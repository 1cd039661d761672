/* runtime/args.c, signals.c, rt_state.c (pure parts): runc's command lines as Docker's runc
 * shim, conmon and people write them; signal names; container ids; state.json round trip. */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/args.h"
#include "../../runtime/rt.h"
#include "../../runtime/signals.h"
#include "check_main.h"

#define ARGC(a) ((int)(sizeof(a) / sizeof(a[0])) - 1)

START_TEST(test_docker_create)
{
    char *argv[] = { "cvm-runtime", "--root", "/run/docker/runtime-runc/moby", "--log", "/b/log.json",
                     "--log-format", "json", "--systemd-cgroup", "create", "--bundle", "/b",
                     "--pid-file", "/b/init.pid", "abc", NULL };
    struct rt_args a;
    char err[256];
    ck_assert_int_eq(rt_args_parse(ARGC(argv), argv, &a, err, sizeof(err)), 0);
    ck_assert_str_eq(a.root, "/run/docker/runtime-runc/moby");
    ck_assert_str_eq(a.log, "/b/log.json");
    ck_assert_str_eq(a.log_format, "json");
    ck_assert(a.systemd_cgroup);
    ck_assert_str_eq(a.cmd, "create");
    ck_assert_str_eq(rt_flag(&a, "bundle"), "/b");
    ck_assert_str_eq(rt_flag(&a, "pid-file"), "/b/init.pid");
    ck_assert_ptr_null(rt_flag(&a, "console-socket"));
    ck_assert_uint_eq(a.n_operands, 1);
    ck_assert_str_eq(a.operands[0], "abc");
}
END_TEST

/* conmon: "--flag=value" globals, single-dash flags, aliases, booleans with =true|false */
START_TEST(test_conmon_forms)
{
    char *argv[] = { "cvm-runtime", "--log-format=json", "--log=/x/oci-log", "--cvm-config=/c.json",
                     "exec", "-d", "--pid-file", "/x/pid", "-process", "/x/p.json", "--tty=false",
                     "--console-socket=/s", "id1", NULL };
    struct rt_args a;
    char err[256];
    ck_assert_int_eq(rt_args_parse(ARGC(argv), argv, &a, err, sizeof(err)), 0);
    ck_assert_str_eq(a.log, "/x/oci-log");
    ck_assert_str_eq(a.cvm_config, "/c.json");
    ck_assert(rt_flag_bool(&a, "detach"));
    ck_assert(!rt_flag_bool(&a, "tty"));
    ck_assert_str_eq(rt_flag(&a, "process"), "/x/p.json");
    ck_assert_str_eq(rt_flag(&a, "console-socket"), "/s");
    ck_assert_str_eq(a.operands[0], "id1");
}
END_TEST

/* exec without --process: after the id everything is the command, flags included */
START_TEST(test_exec_command_operands)
{
    char *argv[] = { "cvm-runtime", "exec", "-e", "A=1", "--env", "B=2", "id1", "sh", "-c", "ls -l", NULL };
    struct rt_args a;
    char err[256];
    ck_assert_int_eq(rt_args_parse(ARGC(argv), argv, &a, err, sizeof(err)), 0);
    ck_assert_uint_eq(a.n_operands, 4);
    ck_assert_str_eq(a.operands[2], "-c");
    ck_assert_uint_eq(a.n_flags, 2);
    ck_assert_str_eq(a.flags[0].value, "A=1");
    ck_assert_str_eq(rt_flag(&a, "env"), "B=2");
}
END_TEST

START_TEST(test_kill_delete_list)
{
    char *k[] = { "cvm-runtime", "kill", "--all", "id1", "9", NULL };
    char *d[] = { "cvm-runtime", "delete", "--force", "id1", NULL };
    char *l[] = { "cvm-runtime", "list", "-f", "json", "-q", NULL };
    struct rt_args a;
    char err[256];
    ck_assert_int_eq(rt_args_parse(ARGC(k), k, &a, err, sizeof(err)), 0);
    ck_assert(rt_flag_bool(&a, "all"));
    ck_assert_str_eq(a.operands[1], "9");
    ck_assert_int_eq(rt_args_parse(ARGC(d), d, &a, err, sizeof(err)), 0);
    ck_assert(rt_flag_bool(&a, "force"));
    ck_assert_int_eq(rt_args_parse(ARGC(l), l, &a, err, sizeof(err)), 0);
    ck_assert_str_eq(rt_flag(&a, "format"), "json");
    ck_assert(rt_flag_bool(&a, "quiet"));
}
END_TEST

static const struct {
    const char *argv[8];
    const char *err;
} bad[] = {
    { { "cvm-runtime", NULL }, "no command given" },
    { { "cvm-runtime", "frobnicate", "x", NULL }, "No help topic for 'frobnicate'" },
    { { "cvm-runtime", "create", "--bundel", "/b", "x", NULL }, "flag provided but not defined: --bundel" },
    { { "cvm-runtime", "--nope", "state", "x", NULL }, "flag provided but not defined: --nope" },
    { { "cvm-runtime", "create", "--bundle", NULL }, "flag needs an argument: -bundle" },
    { { "cvm-runtime", "delete", "--force=maybe", "x", NULL }, "invalid boolean value \"maybe\" for -force" },
    { { "cvm-runtime", "kill", "--", NULL }, NULL }, /* "--" alone: parses, no operand */
};

START_TEST(test_bad_lines)
{
    struct rt_args a;
    char err[256];
    int argc = 0;
    while (bad[_i].argv[argc])
        argc++;
    int r = rt_args_parse(argc, (char **)bad[_i].argv, &a, err, sizeof(err));
    if (!bad[_i].err) {
        ck_assert_int_eq(r, 0);
        ck_assert_uint_eq(a.n_operands, 0);
        return;
    }
    ck_assert_int_eq(r, -EINVAL);
    ck_assert_str_eq(err, bad[_i].err);
}
END_TEST

START_TEST(test_signals)
{
    ck_assert_int_eq(rt_signal_parse("15"), SIGTERM);
    ck_assert_int_eq(rt_signal_parse("9"), SIGKILL);
    ck_assert_int_eq(rt_signal_parse("TERM"), SIGTERM);
    ck_assert_int_eq(rt_signal_parse("SIGHUP"), SIGHUP);
    ck_assert_int_eq(rt_signal_parse("sigusr1"), SIGUSR1);
    ck_assert_int_eq(rt_signal_parse("RTMIN"), 34);
    ck_assert_int_eq(rt_signal_parse("RTMIN+3"), 37);
    ck_assert_int_eq(rt_signal_parse("RTMAX-1"), 63);
    ck_assert_int_eq(rt_signal_parse("64"), 64);
    ck_assert_int_eq(rt_signal_parse("65"), -EINVAL);
    ck_assert_int_eq(rt_signal_parse("0"), -EINVAL);
    ck_assert_int_eq(rt_signal_parse("-9"), -EINVAL);
    ck_assert_int_eq(rt_signal_parse("9x"), -EINVAL);
    ck_assert_int_eq(rt_signal_parse("SIG"), -EINVAL);
    ck_assert_int_eq(rt_signal_parse("RTMIN+31"), -EINVAL);
    ck_assert_int_eq(rt_signal_parse(""), -EINVAL);
}
END_TEST

START_TEST(test_ids)
{
    ck_assert(rt_id_valid("d49c8a1c6f37593e5959eea633230965f3f0719f4128c70ec67a11e322604518"));
    ck_assert(rt_id_valid("a_b+c-d.e"));
    ck_assert(!rt_id_valid(""));
    ck_assert(!rt_id_valid("."));
    ck_assert(!rt_id_valid(".."));
    ck_assert(!rt_id_valid("a/b"));
    ck_assert(!rt_id_valid("a b"));
    char long_id[RT_ID_MAX + 2];
    memset(long_id, 'a', sizeof(long_id) - 1);
    long_id[RT_ID_MAX + 1] = 0;
    ck_assert(!rt_id_valid(long_id));
    long_id[RT_ID_MAX] = 0;
    ck_assert(rt_id_valid(long_id));
}
END_TEST

START_TEST(test_state_roundtrip)
{
    struct rt_state st = { .id = "c1", .bundle = "/b", .rootfs = "/b/rootfs",
                           .created = "2026-12-07T01:00:00.000000001Z", .terminal = true }, back;
    char *s = rt_state_format(&st);
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(rt_state_parse(s, strlen(s), &back), 0);
    ck_assert_str_eq(back.id, "c1");
    ck_assert_str_eq(back.rootfs, "/b/rootfs");
    ck_assert(back.terminal);
    free(s);
    const char *badj[] = { "", "[]", "{\"id\":\"../x\",\"bundle\":\"/b\",\"rootfs\":\"/r\",\"created\":\"t\",\"terminal\":false}",
                           "{\"id\":\"c\",\"bundle\":\"/b\",\"rootfs\":\"/r\",\"created\":\"t\"}",
                           "{\"id\":\"c\",\"id\":\"d\",\"bundle\":\"/b\",\"rootfs\":\"/r\",\"created\":\"t\",\"terminal\":false}" };
    for (size_t i = 0; i < sizeof(badj) / sizeof(badj[0]); i++)
        ck_assert_int_eq(rt_state_parse(badj[i], strlen(badj[i]), &back), -EINVAL);
}
END_TEST

static Suite *rt_suite(void)
{
    Suite *s = suite_create("rt_args");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_docker_create);
    tcase_add_test(tc, test_conmon_forms);
    tcase_add_test(tc, test_exec_command_operands);
    tcase_add_test(tc, test_kill_delete_list);
    tcase_add_loop_test(tc, test_bad_lines, 0, (int)(sizeof(bad) / sizeof(bad[0])));
    tcase_add_test(tc, test_signals);
    tcase_add_test(tc, test_ids);
    tcase_add_test(tc, test_state_roundtrip);
    suite_add_tcase(s, tc);
    return s;
}

CVM_CHECK_MAIN(rt_suite)
