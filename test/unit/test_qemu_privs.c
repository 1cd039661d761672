/* qemu_privs: the decision table of QEMU's identity (pure), "UID:GID" parsing, and the
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

static const struct qemu_privs_facts ROOT_CVM = {
    .root = true, .user_found = true, .user_uid = 999, .user_gid = 998,
    .kvm_group_found = true, .kvm_gid = 107};

struct row {
    const char *what;
    struct qemu_privs_facts f;
    int want;
    bool set_ids;
    uid_t uid;
    gid_t gid;
    size_t n_groups;
    const char *why; /* substring */
};

static const struct row rows[] = {
    {"default: user cvm, tcg: no kvm group", ROOT_CVM, 0, true, 999, 998, 0, "user cvm (uid 999, gid 998)"},
    {"default: user cvm, kvm: + kvm group",
     {.root = true, .user_found = true, .user_uid = 999, .user_gid = 998, .kvm = true,
      .kvm_group_found = true, .kvm_gid = 107},
     0, true, 999, 998, 1, "group kvm (107)"},
    {"kvm but no kvm group: nothing extra",
     {.root = true, .user_found = true, .user_uid = 999, .user_gid = 998, .kvm = true},
     0, true, 999, 998, 0, "user cvm"},
    {"default, no cvm user: fixed fallback ids", {.root = true}, 0, true, QEMU_FALLBACK_UID,
     QEMU_FALLBACK_GID, 0, "no user 'cvm'"},
    {"default, no cvm user, fallback uid taken: refuse", {.root = true, .fallback_uid_taken = true},
     -EEXIST, false, 0, 0, 0, "belongs to another user"},
    {"named user", {.user = "qemu", .root = true, .user_found = true, .user_uid = 64055,
                    .user_gid = 64055},
     0, true, 64055, 64055, 0, "user qemu (uid 64055"},
    {"named user missing: no fallback", {.user = "qemu", .root = true}, -ENOENT, false, 0, 0, 0,
     "qemu_user 'qemu': no such user"},
    {"named root: refused", {.user = "root", .root = true, .user_found = true}, -EPERM, false, 0,
     0, 0, "is root"},
    {"gid 0: refused", {.user = "5:0", .root = true, .user_found = true, .user_uid = 5}, -EPERM,
     false, 0, 0, 0, "is root"},
    {"default cvm with uid 0 (misconfigured): refused",
     {.root = true, .user_found = true, .user_uid = 0, .user_gid = 998}, -EPERM, false, 0, 0, 0,
     "is root"},
    {"not root, default: keep our ids", {.self_uid = 1000, .kvm = true, .kvm_group_found = true,
                                         .kvm_gid = 107},
     0, false, 0, 0, 0, "not root"},
    {"not root, explicit other user: refuse",
     {.user = "cvm", .self_uid = 1000, .user_found = true, .user_uid = 999}, -EPERM, false, 0, 0,
     0, "needs the shim to run as root"},
    {"not root, explicit self: fine",
     {.user = "me", .self_uid = 1000, .user_found = true, .user_uid = 1000, .user_gid = 1000}, 0,
     false, 0, 0, 0, "not root"},
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
        ck_assert_uint_eq(c.gid, w->gid);
        ck_assert_uint_ne(c.uid, 0);
        ck_assert_uint_ne(c.gid, 0);
    }
    if (w->n_groups)
        ck_assert_uint_eq(c.groups[0], 107);
}
END_TEST

START_TEST(test_parse_ids)
{
    uid_t u = 1;
    gid_t g = 1;
    ck_assert_int_eq(qemu_privs_parse_ids("64999:65000", &u, &g), 0);
    ck_assert_uint_eq(u, 64999);
    ck_assert_uint_eq(g, 65000);
    ck_assert_int_eq(qemu_privs_parse_ids("0:0", &u, &g), 0); /* parsed; the plan refuses it */
    ck_assert_int_eq(qemu_privs_parse_ids("4294967294:1", &u, &g), 0);
    const char *bad[] = {"cvm", "", ":", "1:", ":1", "1:2:3", "-1:1", "1:x", "4294967295:1",
                         "99999999999:1", " 1:1", "1:1 ", "+1:1"};
    for (size_t i = 0; i < ELEMENTSOF(bad); i++)
        ck_assert_msg(qemu_privs_parse_ids(bad[i], &u, &g) == -EINVAL, "'%s'", bad[i]);
    ck_assert_int_eq(qemu_privs_parse_ids(NULL, &u, &g), -EINVAL);
}
END_TEST

/* As root: a 0644 file in a 0700 dir is readable through the /proc/self/fd reopen (what QEMU
 * does with /dev/fd/N) but not by path; a 0600 file not at all. */
START_TEST(test_check_open)
{
    char dir[] = "/tmp/cvm-privs.XXXXXX", ok[64], secret[64];
    struct hv_proc_creds c = {.set_ids = true, .uid = QEMU_FALLBACK_UID, .gid = QEMU_FALLBACK_GID};
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
    ck_assert_int_eq(qemu_privs_resolve("64998:64997", false, &c, why, sizeof(why), &err),
                     geteuid() == 0 ? 0 : -EPERM);
    if (geteuid() == 0) {
        ck_assert(c.set_ids);
        ck_assert_uint_eq(c.uid, 64998);
        ck_assert_uint_eq(c.gid, 64997);
    }
    ck_assert_int_eq(qemu_privs_resolve("no-such-user-cvm-test", false, &c, why, sizeof(why), &err),
                     geteuid() == 0 ? -ENOENT : -EPERM);
    ck_assert_msg(strstr(err.msg, "no-such-user-cvm-test"), "%s", err.msg);
    ck_assert_int_eq(qemu_privs_resolve("root", false, &c, why, sizeof(why), &err), -EPERM);
    ck_assert_int_eq(qemu_privs_resolve(NULL, false, &c, why, sizeof(why), &err), 0);
}
END_TEST

static Suite *qemu_privs_suite(void)
{
    Suite *s = suite_create("qemu_privs");
    TCase *tc = tcase_create("core");
    tcase_add_loop_test(tc, test_plan_table, 0, (int)ELEMENTSOF(rows));
    tcase_add_test(tc, test_parse_ids);
    tcase_add_test(tc, test_check_open);
    tcase_add_test(tc, test_resolve);
    suite_add_tcase(s, tc);
    return s;
}

CVM_CHECK_MAIN(qemu_privs_suite)
