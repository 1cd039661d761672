/* Descriptor-relative file operations for trees another party may change under us.
 *
 * The sandbox's run dir holds the virtio-fs share, whose contents a compromised guest can
 * create, rename and replace at any moment (links included), and the vsock backend's dir, which
 * a sandbox uid can write. Host code never resolves a path through such a tree: every operation
 * here starts from a directory fd, resolves one relative path with openat2(RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS), never follows a link, and (where it says so)
 * never crosses a mount point. An entry that is not what the caller expects (a link, a FIFO, a
 * file where a directory should be) fails with -ELOOP/-ENOTDIR/-EEXIST/-EPERM and touches
 * nothing.
 *
 * A relative path here is at most FSB_PATH_MAX bytes of non-empty components separated by '/',
 * none "." or "..": fsb_path_check() is the pure rule (unit-tested and fuzzed). */
#ifndef CVM_FS_BENEATH_H
#define CVM_FS_BENEATH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define FSB_PATH_MAX 1024
#define FSB_MAX_DEPTH 32 /* fsb_rm_tree descends at most this deep, then fails -ELOOP */

/* 0 when rel is a relative path we accept (see above), else -EINVAL/-ENAMETOOLONG. */
int fsb_path_check(const char *rel);
/* The next component of *p (which fsb_path_check accepted): its start and length; *p moves past
 * it and its slash. 0 at the end. */
size_t fsb_next_component(const char **p, const char **ret_start);

/* Open the directory rel beneath dirfd (O_PATH|O_DIRECTORY|O_CLOEXEC): no link, no "..", no
 * magic link; with no_xdev also no mount point on the way (the leaf included). -errno. */
int fsb_open_dir(int dirfd, const char *rel, bool no_xdev);

/* mkdir -p of rel beneath dirfd, each component with mode. An existing component must be a real
 * directory (not a link) owned by our effective uid: anything else is -ENOTDIR/-ELOOP/-EPERM.
 * On success *ret_fd (if not NULL) is an O_PATH fd of the leaf. */
int fsb_mkdir_p(int dirfd, const char *rel, mode_t mode, int *ret_fd);

/* Create the regular file name in dirfd (one component): O_CREAT|O_EXCL|O_NOFOLLOW. An existing
 * regular file owned by our euid with one link is accepted (a retry); anything else -EEXIST.
 * *ret_fd (if not NULL): an O_PATH fd of it. */
int fsb_create_file(int dirfd, const char *name, mode_t mode, int *ret_fd);

/* Remove name (one component of dirfd) and, if a directory, everything below it, by fd: links
 * are unlinked (never followed), nothing on another mount is entered or removed (-EBUSY, left
 * in place), depth is bounded (FSB_MAX_DEPTH). Best effort: it removes what it can and returns
 * the first error; -ENOENT for a missing name is 0. */
int fsb_rm_tree(int dirfd, const char *name);
/* fsb_rm_tree of an absolute host path we own (its parent is opened by path: call it only for a
 * path no other party can write, e.g. the shim's run dir). */
int fsb_rm_path(const char *path);

/* "/proc/self/fd/<fd>" into buf (mount(2) onto a verified fd). */
const char *fsb_fd_path(int fd, char buf[static 32]);

#endif
