/* The sandbox's virtio-fs share, laid out so that a compromised guest cannot touch what the host
 * builds in it (CVE-2020-2026 is the case it prevents: a guest-planted link at a path the host
 * mounts onto redirected the mount anywhere on the host).
 *
 *   <run_dir>/mounts   host-only, never served: every <id>.<hex>/, rootfs and mounts/<i> is made
 *                      here, by fd (fs_beneath.h), and the rootfs and volumes are mounted here
 *   <run_dir>/shared   what virtiofsd serves: a read-only bind of mounts/ that is a slave of it,
 *                      so each rootfs and volume mounted under mounts/ appears here keeping its
 *                      own mode (rw or ro), while the structure (<id>.<hex>/, rootfs,
 *                      mounts/<i>) is read-only to the guest: it cannot plant, rename or
 *                      replace anything in it
 *
 * The guest finds a container's rootfs and volumes at <id>.<hex>/rootfs and
 * <id>.<hex>/mounts/<i> under the share: the shim names them in CreateContainer and the spec. */
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

/* Room for a container directory's names (share_container_dir). */
#define SHARE_STAGING_LEN 32
#define SHARE_NAME_LEN 128

/* A container's directory, built out of the guest's sight: a fresh directory with a random
 * name (".new-<hex>", into staging) in the host-only tree, an O_PATH fd of it in *ret_fd. The
 * rootfs and the volumes are mounted in it, then share_publish_container() renames it to its
 * final name "<id>.<hex>" (into name) in one step. Two guest caches make both rules necessary:
 * a lookup of a name is cached by the guest for virtio-fs's entry timeout, so
 *   - were <name>/rootfs made first and mounted on later, a lookup in between would keep
 *     naming the read-only directory under the mount (the agent's mounts there: EROFS);
 *   - were a name used again in the VM (a container id reused, as `ctr run --rm` twice does,
 *     or the pool's rehearsal id), a lookup cached from the earlier one would name the
 *     earlier container's removed rootfs.
 * So the guest sees a container's directory only whole, and never the same name twice. An id
 * that is not one path component (or too long to name one) fails. */
int share_container_dir(struct share *sh, const char *id, char staging[static SHARE_STAGING_LEN],
                        char name[static SHARE_NAME_LEN], int *ret_fd, struct cvm_err *err);
/* Rename staging to name, never replacing. */
int share_publish_container(struct share *sh, const char *staging, const char *name,
                            struct cvm_err *err);
/* Unmount everything of the container directory name (a published name, or a staging name
 * not yet published) in the host tree and the view, and remove what the host made for it, by
 * fd, never following a link nor entering a mount: what cannot go is left and logged. */
int share_remove_container(struct share *sh, const char *name);

#endif
