/* shim/mounts.c: option parsing (pure), and as root: overlay with a lowerdir list longer than
 * a page (the chdir/relative-path trick, spec §3.6), ro bind, recursive unmount, rm that does
 * not cross mount points; shim/sandbox/share.c: a container's directory published whole, under
 * a name never given twice. */
#include <check.h>
#include <sched.h>
#include <sys/mount.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "../../shim/sandbox/mounts.h"
#include "../../shim/sandbox/share.h"
#include "fs_beneath.h"
#include "check_main.h"
#include "fd.h"
#include "errmap.h"

START_TEST(test_parse_options)
{
    const char *o[] = { "ro", "nosuid", "rbind", "rprivate", "lowerdir=/a:/b", "upperdir=/u", "", "index=off" };
    unsigned long fl, prop;
    char data[64];
    ck_assert_int_eq(mnt_parse_options(o, 8, &fl, &prop, data, sizeof(data)), 0);
    ck_assert(fl & MS_RDONLY);
    ck_assert(fl & MS_NOSUID);
    ck_assert(fl & MS_BIND);
    ck_assert(fl & MS_REC);
    ck_assert_uint_eq(prop, MS_PRIVATE | MS_REC);
    ck_assert_str_eq(data, "lowerdir=/a:/b,upperdir=/u,index=off");
    const char *o2[] = { "ro", "rw" };
    ck_assert_int_eq(mnt_parse_options(o2, 2, &fl, &prop, data, sizeof(data)), 0);
    ck_assert(!(fl & MS_RDONLY));
    ck_assert_str_eq(data, "");
    const char *o3[] = { "lowerdir=/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" };
    ck_assert_int_eq(mnt_parse_options(o3, 1, &fl, &prop, data, sizeof(data)), -E2BIG);
}
END_TEST

static char base[] = "/tmp/cvm-mnt-XXXXXX";
#define LONG "io.containerd.snapshotter.v1.overlayfs-abcdefghijklmnopqrstuvwxyz/snapshots"

START_TEST(test_overlay_long_lowerdir)
{
    char lower[8192] = "lowerdir=", path[PATH_MAX], target[PATH_MAX], up[PATH_MAX], work[PATH_MAX];
    struct cvm_err err = { 0 };
    int n = 60;

    if (geteuid() != 0) {
        ck_abort_msg("needs root (mounts)");
        return;
    }
    ck_assert_ptr_nonnull(mkdtemp(base));
    for (int i = 0; i < n; i++) {
        /* containerd's layout: a long common prefix, short per-layer suffixes (<n>/fs) */
        snprintf(path, sizeof(path), "%s/layers/%s/%d/fs", base, LONG, i);
        ck_assert_int_eq(mkdir_p(path, 0755, 0755), 0);
        snprintf(path + strlen(path), sizeof(path) - strlen(path), "/file%d", i);
        int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        ck_assert_int_ge(fd, 0);
        close(fd);
        snprintf(path, sizeof(path), "%s%s/layers/%s/%d/fs", i ? ":" : "", base, LONG, i);
        strcat(lower, path);
    }
    ck_assert_uint_gt(strlen(lower), 4096);
    snprintf(up, sizeof(up), "upperdir=%s/up", base);
    snprintf(work, sizeof(work), "workdir=%s/work", base);
    snprintf(path, sizeof(path), "%s/up", base);
    mkdir_p(path, 0755, 0755);
    snprintf(path, sizeof(path), "%s/work", base);
    mkdir_p(path, 0755, 0755);
    snprintf(target, sizeof(target), "%s/shared/c1/rootfs", base);
    char cwd_before[PATH_MAX], cwd_after[PATH_MAX];
    ck_assert_ptr_nonnull(getcwd(cwd_before, sizeof(cwd_before)));
    const char *opts[] = { "index=off", work, up, lower };
    int basefd = open(base, O_PATH | O_DIRECTORY | O_CLOEXEC), cfd = -1, mfd = -1;
    ck_assert_int_ge(basefd, 0);
    ck_assert_int_eq(fsb_mkdir_p(basefd, "shared/c1", 0755, &cfd), 0);
    int r = mnt_mount_one("overlay", "overlay", opts, 4, cfd, "rootfs", target, &err);
    ck_assert_msg(r == 0, "mount: %s", err.msg);
    ck_assert_ptr_nonnull(getcwd(cwd_after, sizeof(cwd_after)));
    ck_assert_str_eq(cwd_before, cwd_after); /* the trick's chdir is undone */
    snprintf(path, sizeof(path), "%s/file0", target);
    ck_assert_int_eq(access(path, F_OK), 0);
    struct statvfs vfs; /* host mounts of the share never open a device node */
    ck_assert_int_eq(statvfs(target, &vfs), 0);
    ck_assert(vfs.f_flag & ST_NODEV);
    snprintf(path, sizeof(path), "%s/file%d", target, n - 1);
    ck_assert_int_eq(access(path, F_OK), 0);

    /* a read-only bind next to it, then tear everything down */
    snprintf(path, sizeof(path), "%s/shared/c1/mounts/0", base);
    snprintf(up, sizeof(up), "%s/layers", base);
    ck_assert_int_eq(fsb_mkdir_p(cfd, "mounts", 0755, &mfd), 0);
    ck_assert_int_eq(mnt_bind_at(up, mfd, "0", 1, 0, path, &err), 0);
    ck_assert_int_eq(statvfs(path, &vfs), 0);
    ck_assert((vfs.f_flag & ST_NODEV) && (vfs.f_flag & ST_RDONLY));
    /* a file bind: the target is made a file */
    snprintf(work, sizeof(work), "%s/layers/%s/0/fs/file0", base, LONG);
    ck_assert_int_eq(mnt_bind_at(work, mfd, "1", 0, 0, "file", &err), 0);
    snprintf(work, sizeof(work), "%s/shared/c1/mounts/1", base);
    ck_assert_int_eq(statvfs(work, &vfs), 0);
    ck_assert((vfs.f_flag & ST_NODEV) && !(vfs.f_flag & ST_RDONLY));
    snprintf(work, sizeof(work), "%s/layers/%s/0/fs/file0", base, LONG);
    struct stat st;
    ck_assert_int_eq(fstatat(mfd, "1", &st, AT_SYMLINK_NOFOLLOW), 0);
    ck_assert(S_ISREG(st.st_mode));
    /* a link planted where a target goes is refused, never followed */
    ck_assert_int_eq(symlinkat(base, mfd, "2"), 0);
    ck_assert_int_ne(mnt_bind_at(up, mfd, "2", 0, 0, "link", &err), 0);
    ck_assert_int_ne(mnt_bind_at(work, mfd, "2", 0, 0, "link", &err), 0);
    close(mfd);
    close(cfd);
    snprintf(work, sizeof(work), "%s/x", path);
    ck_assert_int_eq(mkdir(work, 0755), -1);
    ck_assert_int_eq(errno, EROFS);
    /* rm must not cross into the mounts: the layers survive a premature rm */
    snprintf(path, sizeof(path), "%s/shared", base);
    ck_assert_int_eq(fsb_rm_tree(basefd, "shared"), -EBUSY);
    snprintf(work, sizeof(work), "%s/layers/%s/0/fs/file0", base, LONG);
    ck_assert_int_eq(access(work, F_OK), 0);
    ck_assert_int_eq(mnt_umount_tree(path), 3);
    ck_assert_int_eq(mnt_umount_tree(path), 0);
    ck_assert_int_eq(fsb_rm_tree(basefd, "shared"), 0);
    ck_assert_int_eq(access(path, F_OK), -1);
    close(basefd);
    ck_assert_int_eq(fsb_rm_path(base), 0);
}
END_TEST

/* A volume's bind receives what the node mounts under its source later (HostToContainer), in
 * mounts/ and in the shared/ view virtiofsd serves; nothing mounted on our side reaches the
 * node's tree. In a private mount namespace of this (forked) test. */
START_TEST(test_bind_propagation_one_way)
{
    char pbase[] = "/tmp/cvm-prop.XXXXXX", p[256], q[256];
    struct cvm_err err = {0};
    int mfd = -1;
    ck_assert_int_eq(unshare(CLONE_NEWNS), 0);
    ck_assert_int_eq(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
    ck_assert_ptr_nonnull(mkdtemp(pbase));
    /* the node's source: a shared mount, as kubelet needs for HostToContainer */
    snprintf(p, sizeof(p), "%s/src", pbase);
    ck_assert_int_eq(mkdir(p, 0755), 0);
    ck_assert_int_eq(mount("t", p, "tmpfs", 0, NULL), 0);
    ck_assert_int_eq(mount(NULL, p, NULL, MS_SHARED, NULL), 0);
    /* the run dir's two trees: mounts/ shared, shared/ a read-only slave view of it */
    snprintf(p, sizeof(p), "%s/mounts", pbase);
    ck_assert_int_eq(mkdir(p, 0755), 0);
    ck_assert_int_eq(mount(p, p, NULL, MS_BIND, NULL), 0);
    ck_assert_int_eq(mount(NULL, p, NULL, MS_SHARED, NULL), 0);
    snprintf(q, sizeof(q), "%s/shared", pbase);
    ck_assert_int_eq(mkdir(q, 0755), 0);
    ck_assert_int_eq(mount(p, q, NULL, MS_BIND | MS_REC, NULL), 0);
    ck_assert_int_eq(mount(NULL, q, NULL, MS_REC | MS_SLAVE, NULL), 0);
    mfd = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
    ck_assert_int_ge(mfd, 0);
    snprintf(p, sizeof(p), "%s/src", pbase);
    ck_assert_msg(mnt_bind_at(p, mfd, "v", 0, 1, "volume", &err) == 0, "%s", err.msg);
    /* the node mounts under the source after the container started */
    snprintf(p, sizeof(p), "%s/src/sub", pbase);
    ck_assert_int_eq(mkdir(p, 0755), 0);
    ck_assert_int_eq(mount("sub", p, "tmpfs", 0, NULL), 0);
    snprintf(p, sizeof(p), "%s/src/sub/marker", pbase);
    close(open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
    snprintf(p, sizeof(p), "%s/mounts/v/sub/marker", pbase);
    ck_assert_msg(access(p, F_OK) == 0, "not propagated into mounts/");
    snprintf(p, sizeof(p), "%s/shared/v/sub/marker", pbase);
    ck_assert_msg(access(p, F_OK) == 0, "not propagated into the shared/ view");
    /* a mount on our side stays ours */
    snprintf(p, sizeof(p), "%s/mounts/v/back", pbase);
    ck_assert_int_eq(mkdir(p, 0755), 0);
    ck_assert_int_eq(mount("back", p, "tmpfs", 0, NULL), 0);
    snprintf(p, sizeof(p), "%s/mounts/v/back/m", pbase);
    close(open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
    snprintf(p, sizeof(p), "%s/src/back/m", pbase);
    ck_assert_msg(access(p, F_OK) != 0, "a mount made in mounts/ reached the node's source");
    close(mfd);
}
END_TEST

START_TEST(test_share_publish_whole_and_unique)
{
    char run[] = "/tmp/cvm-share.XXXXXX", p[PATH_MAX], st1[SHARE_STAGING_LEN], n1[SHARE_NAME_LEN];
    char st2[SHARE_STAGING_LEN], n2[SHARE_NAME_LEN];
    static const char *const opts[] = {"size=1m"};
    struct cvm_err err = {0};
    struct share sh;
    int fd1 = -1, fd2 = -1;
    ck_assert_int_eq(unshare(CLONE_NEWNS), 0);
    ck_assert_int_eq(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
    ck_assert_ptr_nonnull(mkdtemp(run));
    ck_assert_msg(share_open(&sh, run, &err) == 0, "%s", err.msg);
    ck_assert_msg(share_container_dir(&sh, "c1", st1, n1, &fd1, &err) == 0, "%s", err.msg);
    /* "<id>.<16 hex>", built under a hidden staging name the view shows no rootfs of */
    ck_assert_int_eq(strncmp(n1, "c1.", 3), 0);
    ck_assert_uint_eq(strlen(n1), 3 + 16);
    ck_assert_uint_eq(strspn(n1 + 3, "0123456789abcdef"), 16);
    ck_assert_int_eq(st1[0], '.');
    ck_assert_msg(mnt_mount_one("tmpfs", "t", opts, 1, fd1, "rootfs", "rootfs", &err) == 0, "%s",
                  err.msg);
    snprintf(p, sizeof(p), "%s/shared/%s", run, n1);
    ck_assert_msg(access(p, F_OK) != 0, "published before share_publish_container");
    ck_assert_msg(share_publish_container(&sh, st1, n1, &err) == 0, "%s", err.msg);
    /* whole at once: the view has the rootfs mounted, writable through the host tree */
    snprintf(p, sizeof(p), "%s/mounts/%s/rootfs/f", run, n1);
    close(open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
    snprintf(p, sizeof(p), "%s/shared/%s/rootfs/f", run, n1);
    ck_assert_msg(access(p, F_OK) == 0, "the view lacks the mounted rootfs");
    snprintf(p, sizeof(p), "%s/shared/%s", run, st1);
    ck_assert_msg(access(p, F_OK) != 0, "the staging name stayed");
    /* the same id again, the first one still there or gone: another name */
    ck_assert_msg(share_container_dir(&sh, "c1", st2, n2, &fd2, &err) == 0, "%s", err.msg);
    ck_assert_str_ne(n1, n2);
    ck_assert_str_ne(st1, st2);
    ck_assert_int_eq(share_remove_container(&sh, n1), 0);
    snprintf(p, sizeof(p), "%s/mounts/%s", run, n1);
    ck_assert_msg(access(p, F_OK) != 0, "not removed");
    close(fd2);
    ck_assert_int_eq(share_remove_container(&sh, st2), 0); /* an unpublished one goes too */
    snprintf(p, sizeof(p), "%s/mounts/%s", run, st2);
    ck_assert_msg(access(p, F_OK) != 0, "staging not removed");
    /* an id that is not one component is refused */
    ck_assert_int_eq(share_container_dir(&sh, "a/b", st2, n2, &fd2, &err), -EINVAL);
    close(fd1);
    share_close(&sh);
    ck_assert_int_eq(fsb_rm_path(run), 0);
}
END_TEST

static Suite *mounts_suite(void)
{
    Suite *s = suite_create("shim_mounts");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_parse_options);
    tcase_add_test(tc, test_overlay_long_lowerdir);
    tcase_add_test(tc, test_bind_propagation_one_way);
    tcase_add_test(tc, test_share_publish_whole_and_unique);
    suite_add_tcase(s, tc);
    return s;
}

CVM_CHECK_MAIN(mounts_suite)
