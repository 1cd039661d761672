/* qemu_privs: the decision table of QEMU's identity (pure) and the
 * effectful pieces where they can run anywhere (as root here: the open check as QEMU's ids). */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_main.h"
#include "cleanup.h"
#include "errmap.h"
#include "qemu_privs.h"

struct row {
    const char *what;
    struct qemu_privs_facts f;
    int want;
    bool set_ids;
    uid_t uid;
    size_t n_groups;
    const char *why; /* substring */
};

static const struct row rows[] = {
    {"root, tcg: the sandbox uid as uid and gid, no group",
     {.root = true, .uid = 1000000007, .kvm_group_found = true, .kvm_gid = 107},
     0, true, 1000000007, 0, "sandbox uid 1000000007 (gid 1000000007)"},
    {"root, kvm: + the kvm group, nothing else",
     {.root = true, .uid = 1000000007, .kvm = true, .kvm_group_found = true, .kvm_gid = 107},
     0, true, 1000000007, 1, "group kvm (107)"},
    {"kvm but no kvm group: nothing extra", {.root = true, .uid = 5, .kvm = true}, 0, true, 5, 0,
     "sandbox uid 5 (gid 5)"},
    {"kvm group 0: not given", {.root = true, .uid = 5, .kvm = true, .kvm_group_found = true},
     0, true, 5, 0, "sandbox uid 5"},
    {"uid 0: refused", {.root = true, .uid = 0}, -EPERM, false, 0, 0, "refused"},
    {"uid -1: refused", {.root = true, .uid = (uid_t)-1}, -EPERM, false, 0, 0, "refused"},
    {"not root: keep our ids", {.self_uid = 1000, .uid = 0, .kvm = true, .kvm_group_found = true,
                                .kvm_gid = 107},
     0, false, 0, 0, "not root"},
};

START_TEST(test_plan_table)
{
    const struct row *w = &rows[_i];
    struct hv_proc_creds c = {.uid = 4242};
    char why[256] = "";
    int r = qemu_privs_plan(&w->f, &c, why, sizeof(why));
    ck_assert_msg(r == w->want, "%s: r=%d (%s)", w->what, r, why);
    ck_assert_msg(strstr(why, w->why), "%s: why='%s'", w->what, why);
    if (r < 0) {
        ck_assert_uint_eq(c.uid, 4242); /* untouched */
        return;
    }
    ck_assert_msg(c.set_ids == w->set_ids, "%s", w->what);
    ck_assert_uint_eq(c.n_groups, w->n_groups);
    if (c.set_ids) {
        ck_assert_uint_eq(c.uid, w->uid);
        ck_assert_uint_eq(c.gid, w->uid); /* a gid of its own: the same number */
        ck_assert_uint_ne(c.uid, 0);
    }
    if (w->n_groups)
        ck_assert_uint_eq(c.groups[0], 107);
}
END_TEST

/* As root: a 0644 file in a 0700 dir is readable through the /proc/self/fd reopen (what QEMU
 * does with /dev/fd/N) but not by path; a 0600 file not at all. */
START_TEST(test_check_open)
{
    char dir[] = "/tmp/cvm-privs.XXXXXX", ok[64], secret[64];
    struct hv_proc_creds c = {.set_ids = true, .uid = 1000065535, .gid = 1000065535};
    int fd;
    ck_assert_msg(geteuid() == 0, "switching to QEMU's ids needs root: run the unit tests as root");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(ok, sizeof(ok), "%s/ok", dir);
    snprintf(secret, sizeof(secret), "%s/secret", dir);
    fd = open(ok, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    ck_assert_int_ge(fd, 0);
    close(fd);
    fchmodat(AT_FDCWD, ok, 0644, 0);
    fd = open(secret, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_assert_int_eq(qemu_privs_check_open(&c, ok, O_RDONLY, true), 0);
    ck_assert_int_eq(qemu_privs_check_open(&c, ok, O_RDONLY, false), -EACCES);
    ck_assert_int_eq(qemu_privs_check_open(&c, secret, O_RDONLY, true), -EACCES);
    ck_assert_int_eq(qemu_privs_check_open(&c, "/nonexistent/x", O_RDONLY, true), -ENOENT);
    ck_assert_int_eq(qemu_privs_check_open(&c, "/dev/null", O_RDWR, false), 0);
    unlink(ok), unlink(secret), rmdir(dir);
}
END_TEST

START_TEST(test_resolve)
{
    struct hv_proc_creds c;
    struct cvm_err err = {0};
    char why[256];
    ck_assert_int_eq(qemu_privs_resolve(1000000042, false, &c, why, sizeof(why), &err), 0);
    if (geteuid() == 0) {
        ck_assert(c.set_ids);
        ck_assert_uint_eq(c.uid, 1000000042);
        ck_assert_uint_eq(c.gid, 1000000042);
        ck_assert_uint_eq(c.n_groups, 0);
        ck_assert_int_eq(qemu_privs_resolve(0, false, &c, why, sizeof(why), &err), -EPERM);
        ck_assert_msg(strstr(err.msg, "refused"), "%s", err.msg);
    } else {
        ck_assert(!c.set_ids);
    }
}
END_TEST

static Suite *qemu_privs_suite(void)
{
    Suite *s = suite_create("qemu_privs");
    TCase *tc = tcase_create("core");
    tcase_add_loop_test(tc, test_plan_table, 0, (int)ELEMENTSOF(rows));
    tcase_add_test(tc, test_check_open);
    tcase_add_test(tc, test_resolve);
    suite_add_tcase(s, tc);
    return s;
}

CVM_CHECK_MAIN(qemu_privs_suite)
