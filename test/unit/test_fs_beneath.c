/* fs_beneath: descriptor-relative operations in a tree another party changes under us. Every
 * attack case checks that a canary directory outside the tree is untouched. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check_main.h"
#include "fs_beneath.h"

/* a link met where a directory must be: the kernel says ELOOP or ENOTDIR (O_NOFOLLOW with
 * O_DIRECTORY), both refusals */
#define IS_LINK_REFUSAL(r) ((r) == -ELOOP || (r) == -ENOTDIR)

static char base[64];
static int root = -1; /* the tree under attack: <base>/tree */
static char canary[128];

/* Entries in the canary (it starts with one file, "keep", holding "k"). */
static int canary_entries(void)
{
    DIR *d = opendir(canary);
    struct dirent *e;
    int n = 0;
    ck_assert_ptr_nonnull(d);
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

static void assert_canary_intact(void)
{
    char p[160], buf[8] = "";
    ck_assert_int_eq(canary_entries(), 1);
    snprintf(p, sizeof(p), "%s/keep", canary);
    FILE *f = fopen(p, "re");
    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_nonnull(fgets(buf, sizeof(buf), f));
    fclose(f);
    ck_assert_str_eq(buf, "k");
}

static void setup(void)
{
    char p[160];
    snprintf(base, sizeof(base), "/tmp/cvm-fsb-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(base));
    snprintf(canary, sizeof(canary), "%s/canary", base);
    ck_assert_int_eq(mkdir(canary, 0755), 0);
    snprintf(p, sizeof(p), "%s/keep", canary);
    FILE *f = fopen(p, "we");
    ck_assert_ptr_nonnull(f);
    fputs("k", f);
    fclose(f);
    snprintf(p, sizeof(p), "%s/tree", base);
    ck_assert_int_eq(mkdir(p, 0755), 0);
    root = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
    ck_assert_int_ge(root, 0);
}

static void teardown(void)
{
    close(root);
    ck_assert_int_eq(fsb_rm_path(base), 0);
}

START_TEST(test_path_check)
{
    ck_assert_int_eq(fsb_path_check("a"), 0);
    ck_assert_int_eq(fsb_path_check("a/b/c"), 0);
    ck_assert_int_eq(fsb_path_check("a..b/.c"), 0);
    ck_assert_int_eq(fsb_path_check(""), -EINVAL);
    ck_assert_int_eq(fsb_path_check(NULL), -EINVAL);
    ck_assert_int_eq(fsb_path_check("/etc"), -EINVAL);
    ck_assert_int_eq(fsb_path_check(".."), -EINVAL);
    ck_assert_int_eq(fsb_path_check("a/../b"), -EINVAL);
    ck_assert_int_eq(fsb_path_check("a/./b"), -EINVAL);
    ck_assert_int_eq(fsb_path_check("a//b"), -EINVAL);
    ck_assert_int_eq(fsb_path_check("a/"), -EINVAL);
    char long_name[300];
    memset(long_name, 'x', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = 0;
    ck_assert_int_eq(fsb_path_check(long_name), -ENAMETOOLONG);
    const char *p = "ab/c", *s;
    ck_assert_uint_eq(fsb_next_component(&p, &s), 2);
    ck_assert_int_eq(strncmp(s, "ab", 2), 0);
    ck_assert_uint_eq(fsb_next_component(&p, &s), 1);
    ck_assert_int_eq(s[0], 'c');
    ck_assert_uint_eq(fsb_next_component(&p, &s), 0);
}
END_TEST

START_TEST(test_mkdir_p_and_links)
{
    int fd = -1;
    struct stat st;
    ck_assert_int_eq(fsb_mkdir_p(root, "a/b/c", 0700, &fd), 0);
    ck_assert_int_eq(fstat(fd, &st), 0);
    ck_assert(S_ISDIR(st.st_mode));
    ck_assert_uint_eq(st.st_mode & 07777, 0700);
    close(fd);
    ck_assert_int_eq(fsb_mkdir_p(root, "a/b/c", 0700, NULL), 0); /* our own: accepted */
    /* a link at any component: refused, the canary gets nothing */
    ck_assert_int_eq(symlinkat(canary, root, "l"), 0);
    ck_assert(IS_LINK_REFUSAL(fsb_mkdir_p(root, "l/x", 0755, NULL)));
    ck_assert_int_eq(symlinkat(canary, root, "a/b/l2"), 0);
    ck_assert(IS_LINK_REFUSAL(fsb_mkdir_p(root, "a/b/l2/x", 0755, NULL)));
    ck_assert_int_lt(fsb_open_dir(root, "l", false), 0);
    ck_assert_int_eq(fsb_open_dir(root, "../canary", false), -EINVAL);
    ck_assert_int_eq(fsb_open_dir(root, canary, false), -EINVAL);
    /* a relative link that climbs out */
    ck_assert_int_eq(symlinkat("../canary", root, "up"), 0);
    ck_assert_int_lt(fsb_mkdir_p(root, "up/x", 0755, NULL), 0);
    /* a FIFO and a file where a directory should be: refused without blocking */
    ck_assert_int_eq(mkfifoat(root, "a/fifo", 0600), 0);
    ck_assert_int_eq(fsb_mkdir_p(root, "a/fifo/x", 0755, NULL), -ENOTDIR);
    ck_assert_int_eq(fsb_create_file(root, "file", 0644, NULL), 0);
    ck_assert_int_eq(fsb_mkdir_p(root, "file/x", 0755, NULL), -ENOTDIR);
    /* a directory someone else owns is not one we made */
    ck_assert_int_eq(mkdirat(root, "foreign", 0755), 0);
    if (geteuid() == 0) {
        ck_assert_int_eq(fchownat(root, "foreign", 1234, 1234, AT_SYMLINK_NOFOLLOW), 0);
        ck_assert_int_eq(fsb_mkdir_p(root, "foreign/x", 0755, NULL), -EPERM);
    }
    assert_canary_intact();
}
END_TEST

START_TEST(test_create_file)
{
    int fd = -1;
    char p[160];
    ck_assert_int_eq(fsb_create_file(root, "f", 0600, &fd), 0);
    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_assert_int_eq(fsb_create_file(root, "f", 0600, NULL), 0); /* a retry */
    ck_assert_int_eq(fsb_create_file(root, "a/f", 0600, NULL), -EINVAL);
    /* a link to a file outside, a hard link to it, a FIFO: all refused */
    snprintf(p, sizeof(p), "%s/keep", canary);
    ck_assert_int_eq(symlinkat(p, root, "ln"), 0);
    ck_assert_int_eq(fsb_create_file(root, "ln", 0644, NULL), -EEXIST);
    ck_assert_int_eq(linkat(AT_FDCWD, p, root, "hard", 0), 0);
    ck_assert_int_eq(fsb_create_file(root, "hard", 0644, NULL), -EEXIST);
    ck_assert_int_eq(unlinkat(root, "hard", 0), 0);
    ck_assert_int_eq(mkfifoat(root, "fifo", 0600), 0);
    ck_assert_int_eq(fsb_create_file(root, "fifo", 0644, NULL), -EEXIST);
    assert_canary_intact();
}
END_TEST

START_TEST(test_rm_tree)
{
    char p[160];
    ck_assert_int_eq(fsb_mkdir_p(root, "a/b/c/d", 0755, NULL), 0);
    ck_assert_int_eq(fsb_create_file(root, "a/f", 0644, NULL), -EINVAL);
    int afd = fsb_open_dir(root, "a", true);
    ck_assert_int_ge(afd, 0);
    ck_assert_int_eq(fsb_create_file(afd, "f", 0644, NULL), 0);
    ck_assert_int_eq(symlinkat(canary, afd, "tocanary"), 0);
    ck_assert_int_eq(mkfifoat(afd, "fifo", 0600), 0);
    close(afd);
    ck_assert_int_eq(fsb_rm_tree(root, "a"), 0);
    ck_assert_int_eq(faccessat(root, "a", F_OK, AT_SYMLINK_NOFOLLOW), -1);
    assert_canary_intact(); /* the link went, not what it pointed at */
    ck_assert_int_eq(fsb_rm_tree(root, "gone"), 0);
    ck_assert_int_eq(fsb_rm_tree(root, "../canary"), -EINVAL);
    /* a link as the named entry itself: only the link goes */
    ck_assert_int_eq(symlinkat(canary, root, "l"), 0);
    ck_assert_int_eq(fsb_rm_tree(root, "l"), 0);
    assert_canary_intact();
    /* depth is bounded */
    char deep[FSB_MAX_DEPTH * 2 + 8] = "";
    for (int i = 0; i < FSB_MAX_DEPTH + 2; i++)
        strcat(deep, i ? "/d" : "d");
    ck_assert_int_eq(fsb_mkdir_p(root, deep, 0755, NULL), 0);
    ck_assert_int_eq(fsb_rm_tree(root, "d"), -ELOOP);
    /* a mount point inside is never entered nor removed */
    if (geteuid() != 0) {
        ck_abort_msg("needs root (mounts)");
        return;
    }
    ck_assert_int_eq(fsb_mkdir_p(root, "m/mnt", 0755, NULL), 0);
    snprintf(p, sizeof(p), "%s/tree/m/mnt", base);
    ck_assert_int_eq(mount("tmpfs", p, "tmpfs", 0, "size=64k"), 0);
    int mfd = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
    ck_assert_int_eq(fsb_create_file(mfd, "inside", 0644, NULL), 0);
    close(mfd);
    ck_assert_int_eq(fsb_rm_tree(root, "m"), -EBUSY);
    snprintf(p, sizeof(p), "%s/tree/m/mnt/inside", base);
    ck_assert_int_eq(access(p, F_OK), 0);
    snprintf(p, sizeof(p), "%s/tree/m/mnt", base);
    ck_assert_int_eq(umount2(p, MNT_DETACH), 0);
    ck_assert_int_eq(fsb_rm_tree(root, "m"), 0);
    ck_assert_int_eq(fsb_rm_tree(root, "d"), -ELOOP); /* still too deep: left, reported */
    int dfd = fsb_open_dir(root, "d/d/d/d", true); /* from nearer, it fits */
    ck_assert_int_ge(dfd, 0);
    ck_assert_int_eq(fsb_rm_tree(dfd, "d"), 0);
    close(dfd);
    ck_assert_int_eq(fsb_rm_tree(root, "d"), 0);
    assert_canary_intact();
}
END_TEST

/* An attacker swaps a real directory and a link to the canary (renameat2 RENAME_EXCHANGE, so the
 * name is never missing) and plants links inside, as fast as it can, while we build and remove
 * under the same names. Whatever interleaving happens, nothing lands in the canary. */
START_TEST(test_race)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        (void)mkdirat(root, "x", 0755);
        (void)symlinkat(canary, root, "a");
        for (;;) {
            if (renameat2(root, "a", root, "x", RENAME_EXCHANGE) < 0) {
                (void)symlinkat(canary, root, "a");
                (void)mkdirat(root, "x", 0755);
            }
            int fd = openat(root, "x", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (fd >= 0) {
                (void)symlinkat(canary, fd, "b");
                (void)symlinkat(canary, fd, "f");
                close(fd);
            }
        }
    }
    int ok = 0;
    for (int i = 0; i < 20000; i++) {
        int fd = -1;
        if (fsb_mkdir_p(root, "a/b/c", 0755, NULL) == 0)
            ok++;
        if (fsb_mkdir_p(root, "a", 0755, &fd) == 0) {
            (void)fsb_create_file(fd, "f", 0644, NULL);
            close(fd);
        }
        (void)fsb_rm_tree(root, "a");
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    assert_canary_intact();
    (void)ok; /* how often the attacker let us through varies; only the canary matters */
}
END_TEST

static Suite *fsb_suite(void)
{
    Suite *s = suite_create("fs_beneath");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_path_check);
    tcase_add_test(tc, test_mkdir_p_and_links);
    tcase_add_test(tc, test_create_file);
    tcase_add_test(tc, test_rm_tree);
    tcase_add_test(tc, test_race);
    suite_add_tcase(s, tc);
    return s;
}

CVM_CHECK_MAIN(fsb_suite)
