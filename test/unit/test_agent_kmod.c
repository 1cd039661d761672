/* common/kmod.c: the guest's module list loader (the loading itself needs a guest; here
 * the list handling and its failure reports). */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"
#include "fd.h"
#include "kmod.h"

static char path[64];

static void write_list(const char *text)
{
    strcpy(path, "/tmp/cvm-kmod-test.XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write_all(fd, text, strlen(text)), 0);
    close(fd);
}

START_TEST(missing_list)
{
    struct kmod_report rep;
    ck_assert_int_eq(kmod_load_list("/nonexistent/modules.load", &rep), -ENOENT);
}
END_TEST

START_TEST(empty_and_comments)
{
    struct kmod_report rep;
    write_list("# nothing\n\n   \n# more\n");
    ck_assert_int_eq(kmod_load_list(path, &rep), 0);
    ck_assert_uint_eq(rep.loaded, 0);
    ck_assert_int_eq(rep.failed_errno, 0);
    unlink(path);
}
END_TEST

START_TEST(stops_at_first_failure)
{
    struct kmod_report rep;
    write_list("# deps first\n/nonexistent/a.ko\n/nonexistent/b.ko\n");
    ck_assert_int_eq(kmod_load_list(path, &rep), -ENOENT);
    ck_assert_str_eq(rep.failed, "/nonexistent/a.ko");
    ck_assert_int_eq(rep.failed_errno, ENOENT);
    unlink(path);
}
END_TEST

START_TEST(not_a_module)
{
    /* finit_module refuses a non-module (ENOEXEC as root, EPERM without CAP_SYS_MODULE);
     * either way the loader reports the path and the errno. */
    struct kmod_report rep;
    write_list("/etc/hostname\n");
    int r = kmod_load_list(path, &rep);
    ck_assert_int_lt(r, 0);
    ck_assert_int_ne(r, -ENOENT);
    ck_assert_str_eq(rep.failed, "/etc/hostname");
    ck_assert_int_eq(rep.failed_errno, -r);
    unlink(path);
}
END_TEST

START_TEST(too_many)
{
    struct kmod_report rep;
    char *text = malloc((KMOD_MAX_MODULES + 2) * 8);
    size_t n = 0;
    for (unsigned i = 0; i < KMOD_MAX_MODULES + 1; i++)
        n += (size_t)sprintf(text + n, "#c\n");
    write_list(text);
    ck_assert_int_eq(kmod_load_list(path, &rep), 0); /* comments do not count */
    unlink(path);
    n = 0;
    /* KMOD_MAX_MODULES + 1 entries: the list is refused before loading past the limit */
    for (unsigned i = 0; i < KMOD_MAX_MODULES + 1; i++)
        n += (size_t)sprintf(text + n, "/e%u\n", i % 10);
    write_list(text);
    free(text);
    ck_assert_int_eq(kmod_load_list(path, &rep), -E2BIG); /* refused before loading any */
    ck_assert_uint_eq(rep.loaded, 0);
    unlink(path);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("agent_kmod");
    TCase *tc = tcase_create("list");
    tcase_add_test(tc, missing_list);
    tcase_add_test(tc, empty_and_comments);
    tcase_add_test(tc, stops_at_first_failure);
    tcase_add_test(tc, not_a_module);
    tcase_add_test(tc, too_many);
    suite_add_tcase(s, tc);
    return s;
}

CVM_CHECK_MAIN(suite)
