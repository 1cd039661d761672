/* The sandbox's virtio-fs share: host-only mounts/ tree and its read-only view. See share.h. */
#define LOG_MODULE "share"
#include "sandbox/share.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <unistd.h>

#include "cleanup.h"
#include "errmap.h"
#include "fs_beneath.h"
#include "log.h"
#include "sandbox/mounts.h"

static int run_dir_child(const char *run_dir, const char *name, char *path, size_t n)
{
    if ((size_t)snprintf(path, n, "%s/%s", run_dir, name) >= n)
        return -ENAMETOOLONG;
    return 0;
}

int share_open(struct share *sh, const char *run_dir, struct cvm_err *err)
{
    _cleanup_close_ int run = -EBADF;
    int r;

    *sh = (struct share){.mounts_fd = -1};
    if (run_dir_child(run_dir, "mounts", sh->mounts, sizeof(sh->mounts)) < 0 ||
        run_dir_child(run_dir, "shared", sh->shared, sizeof(sh->shared)) < 0)
        return cvm_err_set(err, -ENAMETOOLONG, "run dir %s: name too long", run_dir);
    run = open(run_dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (run < 0)
        return cvm_err_set(err, -errno, "open %s: %m", run_dir);
    if ((r = fsb_mkdir_p(run, "mounts", 0700, NULL)) < 0 ||
        (r = fsb_mkdir_p(run, "shared", 0700, NULL)) < 0)
        return cvm_err_set(err, r, "create the share under %s: %s", run_dir, strerror(-r));
    /* mounts/: a mount of its own and shared, so what is mounted below it propagates */
    if (mount(sh->mounts, sh->mounts, NULL, MS_BIND, NULL) < 0)
        return cvm_err_set(err, -errno, "bind %s: %m", sh->mounts);
    sh->mounted = true;
    if (mount(NULL, sh->mounts, NULL, MS_SHARED, NULL) < 0) {
        r = -errno;
        goto fail;
    }
    /* shared/: the same tree, a slave (receives, never sends), read-only; virtiofsd's own mount
     * namespace copies it as a slave too */
    if (mount(sh->mounts, sh->shared, NULL, MS_BIND, NULL) < 0 ||
        mount(NULL, sh->shared, NULL, MS_SLAVE, NULL) < 0 ||
        mount(NULL, sh->shared, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV,
              NULL) < 0) {
        r = -errno;
        goto fail;
    }
    sh->mounts_fd = fsb_open_dir(run, "mounts", false);
    if (sh->mounts_fd < 0) {
        r = sh->mounts_fd;
        goto fail;
    }
    return 0;
fail:
    share_close(sh);
    return cvm_err_set(err, r, "set up the share under %s: %s", run_dir, strerror(-r));
}

int share_rebase(struct share *sh, const char *run_dir)
{
    if (run_dir_child(run_dir, "mounts", sh->mounts, sizeof(sh->mounts)) < 0 ||
        run_dir_child(run_dir, "shared", sh->shared, sizeof(sh->shared)) < 0)
        return -ENAMETOOLONG;
    return 0;
}

void share_close(struct share *sh)
{
    if (sh->mounted) {
        /* detaching a view takes every container mount below it along */
        (void)mnt_umount_tree(sh->shared);
        (void)mnt_umount_tree(sh->mounts);
        sh->mounted = false;
    }
    sh->mounts_fd = safe_close(sh->mounts_fd);
}

static int check_component(const char *name)
{
    return fsb_path_check(name) < 0 || strchr(name, '/') ? -EINVAL : 0;
}

int share_container_dir(struct share *sh, const char *id, char staging[static SHARE_STAGING_LEN],
                        char name[static SHARE_NAME_LEN], int *ret_fd, struct cvm_err *err)
{
    uint64_t rnd;
    int r;
    staging[0] = name[0] = '\0';
    if (check_component(id) < 0 || strlen(id) > SHARE_NAME_LEN - 18)
        return cvm_err_setc(err, RPC_INVALID_ARGUMENT, -EINVAL,
                            "container id '%.80s' is not a "
                            "single path component: invalid argument",
                            id);
    if (sh->mounts_fd < 0)
        return cvm_err_set(err, -EBADF, "the sandbox has no share");
    if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
        return cvm_err_set(err, -errno, "share directory of %s: getrandom: %m", id);
    snprintf(staging, SHARE_STAGING_LEN, ".new-%016" PRIx64, rnd);
    snprintf(name, SHARE_NAME_LEN, "%s.%016" PRIx64, id, rnd);
    /* mounts/ is the host's alone and the name is fresh: nothing of anyone else is there */
    r = fsb_mkdir_p(sh->mounts_fd, staging, 0755, ret_fd);
    if (r < 0) {
        (void)fsb_rm_tree(sh->mounts_fd, staging);
        return cvm_err_set(err, r, "share directory of %s: %s", id, strerror(-r));
    }
    return 0;
}

int share_publish_container(struct share *sh, const char *staging, const char *name,
                            struct cvm_err *err)
{
    if (check_component(staging) < 0 || check_component(name) < 0 || sh->mounts_fd < 0)
        return cvm_err_set(err, -EINVAL, "share: cannot publish %s", name);
    if (renameat2(sh->mounts_fd, staging, sh->mounts_fd, name, RENAME_NOREPLACE) < 0)
        return cvm_err_set(err, -errno, "share directory %s/%s: %m", sh->mounts, name);
    return 0;
}

int share_remove_container(struct share *sh, const char *id)
{
    char path[PATH_MAX];
    int r;

    if (sh->mounts_fd < 0 || check_component(id) < 0)
        return -EINVAL;
    /* the host tree first (the view's copies go by propagation), then anything left in the view */
    snprintf(path, sizeof(path), "%s/%s", sh->mounts, id);
    (void)mnt_umount_tree(path);
    snprintf(path, sizeof(path), "%s/%s", sh->shared, id);
    (void)mnt_umount_tree(path);
    r = fsb_rm_tree(sh->mounts_fd, id);
    if (r < 0)
        log_warn("share: %s/%s not fully removed: %s (left in place)", sh->mounts, id,
                 strerror(-r));
    return r;
}
