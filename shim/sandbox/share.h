/* The sandbox's virtio-fs share, laid out so that a compromised guest cannot touch what the host
 * builds in it (CVE-2020-2026 is the case it prevents: a guest-planted link at a path the host
 * mounts onto redirected the mount anywhere on the host).
 *
 *   <run_dir>/mounts   host-only, never served: every <id>/, rootfs and mounts/<i> is made here,
 *                      by fd (fs_beneath.h), and the rootfs and volumes are mounted here
 *   <run_dir>/shared   what virtiofsd serves: a read-only bind of mounts/ that is a slave of it,
 *                      so each rootfs and volume mounted under mounts/ appears here keeping its
 *                      own mode (rw or ro), while the structure (<id>/, rootfs, mounts/<i>) is
 *                      read-only to the guest: it cannot plant, rename or replace anything in it
 *
 * The guest sees the same names as before (<id>/rootfs, <id>/mounts/<i> under the share). */
#ifndef CVM_SHIM_SHARE_H
#define CVM_SHIM_SHARE_H

#include <limits.h>
#include <stdbool.h>

struct cvm_err;

struct share {
    char mounts[PATH_MAX]; /* host-only tree */
    char shared[PATH_MAX]; /* the read-only view virtiofsd serves */
    int mounts_fd;         /* O_PATH fd of mounts/ (the bind mount's root) */
    bool mounted;
};

/* Make both trees under run_dir and their mounts. On failure nothing stays mounted. */
int share_open(struct share *sh, const char *run_dir, struct cvm_err *err);
/* Detach both views (and every container mount under them) and close the fd; the directories go
 * with the run dir. Idempotent. */
void share_close(struct share *sh);
/* The run dir was renamed to run_dir (a claimed pooled VM): the paths follow; the fd and the
 * mounts moved with it. */
int share_rebase(struct share *sh, const char *run_dir);

/* Room for the name of a container's directory while it is built (share_container_dir). */
#define SHARE_STAGING_LEN 32

/* The container's directory, built out of the guest's sight: a fresh directory with a random
 * name in the host-only tree, its name in staging and an O_PATH fd of it in *ret_fd. The rootfs
 * and the volumes are mounted in it, then share_publish_container() gives it the id's name in
 * one rename. Were <id>/rootfs made first and mounted on later, a guest lookup in between
 * (anything that stats the share) would be cached by the guest for virtio-fs's entry timeout
 * and keep naming the read-only directory under the mount: the agent's mounts in that rootfs
 * would fail with EROFS. An id that is not one path component fails. */
int share_container_dir(struct share *sh, const char *id, char staging[static SHARE_STAGING_LEN],
                        int *ret_fd, struct cvm_err *err);
/* Rename staging to id, never replacing: an id left by a Delete that could not remove
 * everything is removed first (share_remove_container), and if that fails so does this. */
int share_publish_container(struct share *sh, const char *staging, const char *id,
                            struct cvm_err *err);
/* Unmount everything of the container directory name (an id, or a staging name not yet
 * published) in the host tree and the view, and remove what the host made for it, by fd, never following a link nor entering a mount: what cannot go is left and logged. */
int share_remove_container(struct share *sh, const char *name);

#endif
