/* Host-side mounts of a container's filesystems into the sandbox's virtiofs shared dir
 * (spec §3.6): rootfs from Create.rootfs (overlay/bind, long lowerdir trick), spec bind mounts
 * (ro honoured); recursive unmount at Delete (removal: fs_beneath.h fsb_rm_tree). */
#ifndef CVM_SHIM_MOUNTS_H
#define CVM_SHIM_MOUNTS_H

#include <stddef.h>

struct cvm_err;

/* Translate fstab-style options into mount flags + data string (PURE).
 * Returns 0 or -EINVAL/-E2BIG. *ret_propagation gets MS_SHARED/... bits separately. */
int mnt_parse_options(const char *const *opts, size_t n, unsigned long *ret_flags,
                      unsigned long *ret_propagation, char *data, size_t data_len);
/* Mount one containerd Mount onto the directory name of parent_fd (made if missing, by fd: see
 * fs_beneath.h); what names the target in messages. Binds go through open_tree/move_mount, ro
 * applied before the mount is attached; other types mount onto the verified fd. */
int mnt_mount_one(const char *type, const char *source, const char *const *opts, size_t n,
                  int parent_fd, const char *name, const char *what, struct cvm_err *err);
/* Bind src (file or dir) onto name in parent_fd (a file or dir made to match, by fd),
 * read-only when ro. */
int mnt_bind_at(const char *src, int parent_fd, const char *name, int ro, int recursive,
                const char *what, struct cvm_err *err);
/* Detach every mount at or below path, shallowest first (a detach takes the mounts below it
 * along, so no path below a mount, which another party may write, is ever resolved), never
 * following a final link. Returns the number unmounted. */
int mnt_umount_tree(const char *path);

#endif
