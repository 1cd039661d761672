/* Host-side mounts of a container's filesystems into the sandbox's virtiofs shared dir
 * (spec §3.6): rootfs from Create.rootfs (overlay/bind, long lowerdir trick), spec bind mounts
 * (ro honoured); recursive unmount and removal at Delete. */
#ifndef CVM_SHIM_MOUNTS_H
#define CVM_SHIM_MOUNTS_H

#include <stddef.h>

struct cvm_err;

/* Translate fstab-style options into mount flags + data string (PURE).
 * Returns 0 or -EINVAL/-E2BIG. *ret_propagation gets MS_SHARED/... bits separately. */
int mnt_parse_options(const char *const *opts, size_t n, unsigned long *ret_flags,
                      unsigned long *ret_propagation, char *data, size_t data_len);
/* Mount one containerd Mount onto target (created if missing). */
int mnt_mount_one(const char *type, const char *source, const char *const *opts, size_t n,
                  const char *target, struct cvm_err *err);
/* Bind src (file or dir) onto target (created to match), read-only when ro. */
int mnt_bind(const char *src, const char *target, int ro, int recursive, struct cvm_err *err);
/* Make dir a shared mount point of its own (bind onto itself + MS_SHARED) so mounts below it
 * propagate into virtiofsd's mount namespace. */
int mnt_make_shared_dir(const char *dir);
/* Unmount every mount at or below path (deepest first, lazily). Returns number unmounted. */
int mnt_umount_tree(const char *path);
/* rm -rf that does not cross mount points. Missing path is success. */
int mnt_rm_tree(const char *path);
/* mkdir -p */
int mnt_mkdir_p(const char *path, unsigned mode);

#endif
