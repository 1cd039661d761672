/* Small effectful helpers of hypervisor/: unix sockets and locating helper binaries. */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cleanup.h"
#include "hv_internal.h"

int hv_check_sun_path(const char *path, size_t extra)
{
    struct sockaddr_un sa;
    return strlen(path) + extra < sizeof(sa.sun_path) ? 0 : -ENAMETOOLONG;
}

static int fill_sa(const char *path, struct sockaddr_un *sa)
{
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    if (hv_check_sun_path(path, 0) < 0)
        return -ENAMETOOLONG;
    memcpy(sa->sun_path, path, strlen(path) + 1);
    return 0;
}

/* Bind and listen on path (a stale socket file there is replaced). */
int hv_unix_listen(const char *path, int *ret_fd)
{
    _cleanup_close_ int fd = -EBADF;
    struct sockaddr_un sa;
    int r = fill_sa(path, &sa);
    if (r < 0)
        return r;
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    (void)unlink(path);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0)
        return -errno;
    *ret_fd = TAKE_FD(fd);
    return 0;
}

int hv_unix_connect(const char *path, int *ret_fd)
{
    _cleanup_close_ int fd = -EBADF;
    struct sockaddr_un sa;
    int r = fill_sa(path, &sa);
    if (r < 0)
        return r;
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -errno;
    /* A unix-socket connect completes at once (or fails: EAGAIN when the backlog is full). */
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        return -errno;
    *ret_fd = TAKE_FD(fd);
    return 0;
}

/* The configured path; else <dir of our executable>/name when executable; else name (PATH). */
const char *hv_find_helper(const char *configured, const char *name, char *buf, size_t n)
{
    char self[PATH_MAX];
    ssize_t len;
    if (configured && *configured)
        return configured;
    len = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (len > 0) {
        self[len] = '\0';
        snprintf(buf, n, "%s/%s", dirname(self), name);
        if (access(buf, X_OK) == 0)
            return buf;
    }
    return name;
}
