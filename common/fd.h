/* Small fd helpers. Blocking-fd loops only: non-blocking fds on the loop use buffers + EPOLLOUT. */
#ifndef CVM_FD_H
#define CVM_FD_H

#include <stddef.h>
#include <sys/types.h>

int fd_set_nonblock(int fd, int on);
int fd_set_cloexec(int fd, int on);
/* write/read everything on a blocking fd; read_all returns bytes read (short only at EOF). */
int write_all(int fd, const void *buf, size_t len);
ssize_t read_all(int fd, void *buf, size_t len);
/* Small kernel attribute files (cgroupfs, /proc, /sys): "<dir>/<file>" (dir NULL: file is the
 * whole path), opened O_NOFOLLOW|O_CLOEXEC. write: all of val, 0 or -errno; read: up to sz-1
 * bytes, NUL-terminated, the length or -errno. */
int file_write_str(const char *dir, const char *file, const char *val);
ssize_t file_read_str(const char *dir, const char *file, char *buf, size_t sz);
/* mkdir -p of an absolute or relative path in a tree of our own (never one another party may
 * write: see fs_beneath.h): missing parents are made with parent_mode, the last component with
 * mode; what exists is accepted as it is. 0 or -errno (-ENAMETOOLONG past PATH_MAX). */
int mkdir_p(const char *path, mode_t parent_mode, mode_t mode);
/* Count open fds of this process (tests use it to assert nothing leaked). */
int fd_count_open(void);
/* A listening unix stream socket on path (backlog 128), close-on-exec plus flags (e.g.
 * SOCK_NONBLOCK). A socket file left there by a dead predecessor is replaced; anything else at
 * path is not ours and makes it fail (-EADDRINUSE). Returns the fd or -errno. */
int unix_listen(const char *path, int flags);
/* A connected unix stream socket (close-on-exec plus flags): the fd or -errno. */
int unix_connect(const char *path, int flags);
/* In a child before exec: close every fd >= from except those in keep[]. */
int fd_close_all_except(int from, const int *keep, size_t n_keep);
/* Parse a decimal integer in [min,max]; -EINVAL/-ERANGE on junk or overflow. */
int parse_long(const char *s, long min, long max, long *ret);
/* Monotonic time in nanoseconds. */
unsigned long long now_ns(void);

#endif
