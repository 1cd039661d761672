/* shim/pidfile.c: pid file and /proc/<pid>/stat parsing (pure tables), identity checks against
 * a real child (a forged file with the right pid but the wrong starttime or exe is refused and
 * the process left alive), pidfd-based kill and wait of a verified child. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../shim/sandbox/pidfile.h"
#include "check_main.h"

/* A real stat line's tail after comm: state through field 52 (numbers from a live process). */
#define STAT_TAIL                                                                                 \
    " S 1 4242 4242 0 -1 4194560 1390 0 0 0 3 1 0 0 20 0 1 0 987654 12288000 300 "               \
    "18446744073709551615 1 1 0 0 0 256 0 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n"

static const struct {
    const char *text;
    int rc;
    pid_t pid;
    unsigned long long st;
    const char *exe;
} pf_cases[] = {
    { "123 456 /usr/bin/qemu-system-x86_64\n", 0, 123, 456, "/usr/bin/qemu-system-x86_64" },
    { "1 0 /x", 0, 1, 0, "/x" },
    { "2147483647 18446744073709551615 /a b (deleted)\n", 0, 2147483647, ~0ull, "/a b (deleted)" },
    { "123", -EINVAL, 0, 0, NULL },                     /* old format: the number only */
    { "123\n", -EINVAL, 0, 0, NULL },
    { "123 456", -EINVAL, 0, 0, NULL },                 /* truncated */
    { "123 456 ", -EINVAL, 0, 0, NULL },
    { "123 456 relative", -EINVAL, 0, 0, NULL },
    { "0 456 /x", -EINVAL, 0, 0, NULL },
    { "-1 456 /x", -EINVAL, 0, 0, NULL },
    { "2147483648 1 /x", -EINVAL, 0, 0, NULL },
    { "1 18446744073709551616 /x", -EINVAL, 0, 0, NULL },
    { "1  2 /x", -EINVAL, 0, 0, NULL },
    { " 1 2 /x", -EINVAL, 0, 0, NULL },
    { "1 2 /x\n\n", -EINVAL, 0, 0, NULL },
    { "1 2 /x\nmore", -EINVAL, 0, 0, NULL },
    { "1a 2 /x", -EINVAL, 0, 0, NULL },
    { "1 0x2 /x", -EINVAL, 0, 0, NULL },
    { "", -EINVAL, 0, 0, NULL },
    { "\xff\xfe garbage \x01", -EINVAL, 0, 0, NULL },
};

START_TEST(test_pidfile_parse_table)
{
    struct pid_ident id;
    memset(&id, 0, sizeof(id));
    int r = pidfile_parse(pf_cases[_i].text, strlen(pf_cases[_i].text), &id);
    ck_assert_msg(r == pf_cases[_i].rc, "'%s': got %d want %d", pf_cases[_i].text, r, pf_cases[_i].rc);
    if (r == 0) {
        ck_assert_int_eq(id.pid, pf_cases[_i].pid);
        ck_assert(id.starttime == pf_cases[_i].st);
        ck_assert_str_eq(id.exe, pf_cases[_i].exe);
    }
}
END_TEST

START_TEST(test_pidfile_nul_and_roundtrip)
{
    struct pid_ident id = { .pid = 77, .starttime = 123456789 }, back;
    char buf[PATH_MAX + 64];
    ck_assert_int_eq(pidfile_parse("1 2 /a\0b", 8, &back), -EINVAL);
    snprintf(id.exe, sizeof(id.exe), "/usr/bin/with space");
    int n = pidfile_format(&id, buf, sizeof(buf));
    ck_assert_int_gt(n, 0);
    ck_assert_str_eq(buf, "77 123456789 /usr/bin/with space\n");
    ck_assert_int_eq(pidfile_parse(buf, (size_t)n, &back), 0);
    ck_assert_int_eq(back.pid, 77);
    ck_assert(back.starttime == 123456789);
    ck_assert_str_eq(back.exe, id.exe);
    ck_assert_int_eq(pidfile_format(&id, buf, 10), -E2BIG);
    snprintf(id.exe, sizeof(id.exe), "/a\nb");
    ck_assert_int_eq(pidfile_format(&id, buf, sizeof(buf)), -EINVAL);
    snprintf(id.exe, sizeof(id.exe), "rel");
    ck_assert_int_eq(pidfile_format(&id, buf, sizeof(buf)), -EINVAL);
}
END_TEST

static const struct {
    const char *text;
    int rc;
    char state;
    const char *comm_note;
} st_cases[] = {
    { "4242 (qemu-system-x86)" STAT_TAIL, 0, 'S', "plain" },
    { "4242 (a b c)" STAT_TAIL, 0, 'S', "spaces" },
    { "4242 (x) S 1 2)" STAT_TAIL, 0, 'S', "comm with ') S 1 2'" },
    { "4242 ())))" STAT_TAIL, 0, 'S', "parens only" },
    { "4242 (()" STAT_TAIL, 0, 'S', "open paren" },
    { "4242 (\n)" STAT_TAIL, 0, 'S', "newline in comm" },
    { "4242 ()" STAT_TAIL, 0, 'S', "empty comm" },
    { "4242 (x) Z 1 4242 4242 0 -1 4194560 1390 0 0 0 3 1 0 0 20 0 1 0 987654 0 0 0 0 0 0 0 0 256", 0, 'Z', "zombie, ends at field 31" },
    { "4242 (x) S 1 4242 4242 0 -1 4194560 1390 0 0 0 3 1 0 0 20 0 1 0 987654 0 0 0 0 0 0 0 0", -EINVAL, 0, "ends at field 30" },
    { "4242 (x) S 1 4242", -EINVAL, 0, "truncated" },
    { "4242 (x)", -EINVAL, 0, "no fields" },
    { "4242 (x", -EINVAL, 0, "no ')'" },
    { "4242 x) S" STAT_TAIL, -EINVAL, 0, "no '('" },
    { "(x)" STAT_TAIL, -EINVAL, 0, "no pid" },
    { "4242 (x)S" STAT_TAIL, -EINVAL, 0, "no space after ')'" },
    { "4242 (x) SS 1 4242", -EINVAL, 0, "state two chars" },
    { "4242 (x)  S" STAT_TAIL, -EINVAL, 0, "double space" },
    { "", -EINVAL, 0, "empty" },
    { "garbage", -EINVAL, 0, "garbage" },
};

START_TEST(test_proc_stat_table)
{
    struct proc_stat st;
    unsigned long long t = 0;
    const char *s = st_cases[_i].text;
    int r = proc_stat_parse(s, strlen(s), &st);
    ck_assert_msg(r == st_cases[_i].rc, "%s: got %d want %d", st_cases[_i].comm_note, r, st_cases[_i].rc);
    if (r == 0) {
        ck_assert_int_eq(st.pid, 4242);
        ck_assert_int_eq(st.state, st_cases[_i].state);
        ck_assert_int_eq(st.pgrp, 4242);
        ck_assert_uint_eq(st.flags, 4194560);
        ck_assert(st.starttime == 987654);
        ck_assert(st.sigpending == 256);
        ck_assert_int_eq(proc_stat_starttime(s, strlen(s), &t), 0);
        ck_assert(t == 987654);
        ck_assert(proc_stat_exiting(&st)); /* 256 = SIGKILL pending */
    }
}
END_TEST

START_TEST(test_proc_stat_starttime_only)
{
    const char *s = "9 (a) b) R 1 9 9 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 31337";
    unsigned long long t = 0;
    struct proc_stat st;
    ck_assert_int_eq(proc_stat_starttime(s, strlen(s), &t), 0);
    ck_assert(t == 31337);
    ck_assert_int_eq(proc_stat_parse(s, strlen(s), &st), -EINVAL); /* no field 31 */
    ck_assert_int_eq(proc_stat_starttime(s, strlen(s) - 6, &t), -EINVAL);
    const char *bad = "9 (a) R 1 9 9 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 1x";
    ck_assert_int_eq(proc_stat_starttime(bad, strlen(bad), &t), -EINVAL);
    /* not NUL-terminated: len bounds the parse */
    char buf[] = "9 (a) R 1 9 9 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 42XXXX";
    ck_assert_int_eq(proc_stat_starttime(buf, strlen(buf) - 4, &t), 0);
    ck_assert(t == 42);
}
END_TEST

START_TEST(test_ident_check_pure)
{
    struct pid_ident id = { .pid = 10, .starttime = 500 };
    struct proc_stat st = { .pid = 10, .state = 'S', .pgrp = 10, .starttime = 500 };
    snprintf(id.exe, sizeof(id.exe), "/usr/bin/sleep");
    ck_assert_int_eq(pid_ident_check(&id, &st, "/usr/bin/sleep"), 0);
    ck_assert_int_eq(pid_ident_check(&id, &st, "/usr/bin/sleep (deleted)"), 0);
    ck_assert_int_eq(pid_ident_check(&id, &st, "/usr/bin/sleeper"), -ESTALE);
    ck_assert_int_eq(pid_ident_check(&id, &st, "/usr/bin/slee"), -ESTALE);
    ck_assert_int_eq(pid_ident_check(&id, &st, NULL), -ESTALE);
    st.starttime = 501;
    ck_assert_int_eq(pid_ident_check(&id, &st, "/usr/bin/sleep"), -ESTALE);
    st.starttime = 500;
    st.pid = 11;
    ck_assert_int_eq(pid_ident_check(&id, &st, "/usr/bin/sleep"), -ESTALE);
    st.pid = 10;
    st.state = 'Z';
    ck_assert_int_eq(pid_ident_check(&id, &st, NULL), -ESRCH);
    st.state = 'S';
    ck_assert(!proc_stat_exiting(&st));
    st.flags = 0x4; /* PF_EXITING */
    ck_assert(proc_stat_exiting(&st));
}
END_TEST

/* --- against real processes */
static char dir[64];

static void make_dir(void)
{
    snprintf(dir, sizeof(dir), "/tmp/cvm-pidfile-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void remove_dir(void)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char path[PATH_MAX];
    while (d && (de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        (void)unlink(path);
    }
    if (d)
        closedir(d);
    ck_assert_int_eq(rmdir(dir), 0);
}

static pid_t spawn_sleep(int own_group)
{
    pid_t p = fork();
    if (p == 0) {
        if (own_group)
            (void)setpgid(0, 0);
        execl("/bin/sleep", "sleep", "1000", (char *)NULL);
        _exit(127);
    }
    ck_assert_int_gt(p, 0);
    /* wait until it is sleep (exec done), not the forked test binary */
    for (int i = 0; i < 200; i++) {
        char path[64], exe[PATH_MAX];
        snprintf(path, sizeof(path), "/proc/%d/exe", (int)p);
        ssize_t n = readlink(path, exe, sizeof(exe) - 1);
        if (n > 0 && (exe[n] = 0, strstr(exe, "sleep")))
            break;
        usleep(5000);
    }
    return p;
}

static void write_text(const char *name, const char *text)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "we");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static int alive(pid_t p)
{
    return waitpid(p, NULL, WNOHANG) == 0;
}

START_TEST(test_identity_real_child)
{
    struct pid_ref ref = PID_REF_INIT;
    struct pid_ident id;
    char text[PATH_MAX + 64];
    pid_t p;

    make_dir();
    p = spawn_sleep(0);
    ck_assert_int_eq(pidfile_write(dir, "s.pid", p), 0);
    ck_assert_int_eq(pid_ident_read(p, &id, NULL), 0);
    ck_assert_ptr_nonnull(strstr(id.exe, "sleep"));

    /* the real file: verified, pidfd open */
    ck_assert_int_eq(pidfile_open(dir, "s.pid", &ref), 0);
    ck_assert_int_ge(ref.pidfd, 0);
    ck_assert_int_eq(ref.id.pid, p);
    ck_assert(!pid_ref_exited(&ref));
    ck_assert(!proc_stat_exiting(&ref.st));
    pid_ref_close(&ref);

    /* forged: right pid, wrong starttime → refused, process untouched */
    snprintf(text, sizeof(text), "%d %llu %s\n", (int)p, id.starttime + 1, id.exe);
    write_text("f1.pid", text);
    ck_assert_int_eq(pidfile_open(dir, "f1.pid", &ref), -ESTALE);
    ck_assert_int_eq(ref.pidfd, -1);
    ck_assert_int_eq(ref.id.pid, p);
    /* forged: right pid and starttime, wrong exe */
    snprintf(text, sizeof(text), "%d %llu /usr/bin/qemu-system-x86_64\n", (int)p, id.starttime);
    write_text("f2.pid", text);
    ck_assert_int_eq(pidfile_open(dir, "f2.pid", &ref), -ESTALE);
    /* the old format (number only) and garbage */
    snprintf(text, sizeof(text), "%d", (int)p);
    write_text("f3.pid", text);
    ck_assert_int_eq(pidfile_open(dir, "f3.pid", &ref), -EINVAL);
    write_text("f4.pid", "\x01\x02 not a pid file");
    ck_assert_int_eq(pidfile_open(dir, "f4.pid", &ref), -EINVAL);
    ck_assert_int_eq(pidfile_open(dir, "missing.pid", &ref), -ENOENT);
    ck_assert(alive(p));

    /* a pid file can only be written for a live process */
    ck_assert_int_eq(pidfile_write(dir, "x.pid", 0), -ESRCH);

    /* dead: a zombie (not reaped yet), then reaped */
    kill(p, SIGKILL);
    for (int i = 0; i < 200; i++) {
        struct proc_stat st;
        if (pid_ident_read(p, &id, &st) == -ESRCH)
            break;
        usleep(5000);
    }
    ck_assert_int_eq(pidfile_open(dir, "s.pid", &ref), -ESRCH);
    ck_assert_int_eq(waitpid(p, NULL, 0), p);
    ck_assert_int_eq(pidfile_open(dir, "s.pid", &ref), -ESRCH);
    ck_assert_int_eq(ref.pidfd, -1);
    ck_assert_int_eq(pidfile_write(dir, "x.pid", p), -ESRCH);
    remove_dir();
}
END_TEST

START_TEST(test_pidfd_kill_verified_child)
{
    struct pid_ref ref = PID_REF_INIT, other = PID_REF_INIT;
    struct pid_ref *refs[] = { &ref };
    int status = 0;
    pid_t p, q;

    make_dir();
    p = spawn_sleep(0);
    q = spawn_sleep(1);
    ck_assert_int_eq(pidfile_write(dir, "s.pid", p), 0);
    ck_assert_int_eq(pidfile_write(dir, "q.pid", q), 0);
    ck_assert_int_eq(pidfile_open(dir, "s.pid", &ref), 0);
    /* not a group leader (it is in the test's group): no group kill */
    ck_assert_int_eq(pid_ref_kill_group(&ref, SIGKILL), -EPERM);
    ck_assert(alive(p));
    ck_assert_int_eq(pid_refs_wait(refs, 1, 50), 1);
    ck_assert_int_eq(pid_ref_kill(&ref, SIGKILL), 0);
    ck_assert_int_eq(pid_refs_wait(refs, 1, 2000), 0);
    ck_assert(pid_ref_exited(&ref));
    ck_assert_int_eq(pid_ref_check(&ref), -ESRCH);
    ck_assert_int_eq(waitpid(p, &status, 0), p);
    ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    /* the pidfd outlives the pid: signalling it now cannot reach anyone else */
    ck_assert_int_eq(pid_ref_kill(&ref, SIGKILL), -ESRCH);
    pid_ref_close(&ref);
    ck_assert_int_eq(ref.pidfd, -1);
    ck_assert(alive(q));

    /* a group leader of its own: the group kill reaches the leader */
    ck_assert_int_eq(pidfile_open(dir, "q.pid", &other), 0);
    ck_assert_int_eq(other.st.pgrp, q);
    ck_assert_int_eq(pid_ref_kill_group(&other, SIGKILL), 0);
    ck_assert_int_eq(waitpid(q, &status, 0), q);
    ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    pid_ref_close(&other);
    remove_dir();
}
END_TEST

/* A live process whose comm reads like stat fields: "x) Z 1 (" */
START_TEST(test_identity_tricky_comm)
{
    struct pid_ref ref = PID_REF_INIT;
    int pp[2];
    char c;
    pid_t p;

    make_dir();
    ck_assert_int_eq(pipe(pp), 0);
    p = fork();
    if (p == 0) {
        (void)prctl(PR_SET_NAME, "x) Z 1 (", 0, 0, 0);
        (void)!write(pp[1], "r", 1);
        pause();
        _exit(0);
    }
    close(pp[1]);
    ck_assert_int_eq(read(pp[0], &c, 1), 1);
    close(pp[0]);
    ck_assert_int_eq(pidfile_write(dir, "c.pid", p), 0);
    ck_assert_int_eq(pidfile_open(dir, "c.pid", &ref), 0);
    ck_assert_int_eq(ref.st.state == 'S' || ref.st.state == 'R', 1);
    ck_assert_int_eq(ref.st.pid, p);
    ck_assert_int_eq(pid_ref_kill(&ref, SIGKILL), 0);
    ck_assert_int_eq(waitpid(p, NULL, 0), p);
    pid_ref_close(&ref);
    remove_dir();
}
END_TEST

static Suite *pidfile_suite(void)
{
    Suite *s = suite_create("shim_pidfile");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 30);
    tcase_add_loop_test(tc, test_pidfile_parse_table, 0, (int)(sizeof(pf_cases) / sizeof(pf_cases[0])));
    tcase_add_test(tc, test_pidfile_nul_and_roundtrip);
    tcase_add_loop_test(tc, test_proc_stat_table, 0, (int)(sizeof(st_cases) / sizeof(st_cases[0])));
    tcase_add_test(tc, test_proc_stat_starttime_only);
    tcase_add_test(tc, test_ident_check_pure);
    tcase_add_test(tc, test_identity_real_child);
    tcase_add_test(tc, test_pidfd_kill_verified_child);
    tcase_add_test(tc, test_identity_tricky_comm);
    suite_add_tcase(s, tc);
    return s;
}

CVM_CHECK_MAIN(pidfile_suite)
