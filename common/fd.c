#include "fd.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"

int fd_set_nonblock(int fd, int on)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0)
        return -errno;
    fl = on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK);
    return fcntl(fd, F_SETFL, fl) < 0 ? -errno : 0;
}

int fd_set_cloexec(int fd, int on)
{
    int fl = fcntl(fd, F_GETFD);
    if (fl < 0)
        return -errno;
    fl = on ? (fl | FD_CLOEXEC) : (fl & ~FD_CLOEXEC);
    return fcntl(fd, F_SETFD, fl) < 0 ? -errno : 0;
}

int write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

ssize_t read_all(int fd, void *buf, size_t len)
{
    char *p = buf;
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(fd, p + got, len - got);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return (ssize_t)got;
}

int fd_count_open(void)
{
    _cleanup_closedir_ DIR *d = opendir("/proc/self/fd");
    struct dirent *de;
    int n = 0;
    if (!d)
        return -errno;
    while ((de = readdir(d)))
        if (de->d_name[0] != '.')
            n++;
    return n - 1; /* the directory's own fd */
}

int fd_close_all_except(int from, const int *keep, size_t n_keep)
{
    _cleanup_closedir_ DIR *d = opendir("/proc/self/fd");
    struct dirent *de;
    if (!d)
        return -errno;
    while ((de = readdir(d))) {
        long fd;
        int skip = 0;
        if (parse_long(de->d_name, 0, INT_MAX, &fd) < 0 || fd < from || fd == dirfd(d))
            continue;
        for (size_t i = 0; i < n_keep; i++)
            if (keep[i] == fd)
                skip = 1;
        if (!skip)
            close((int)fd);
    }
    return 0;
}

int parse_long(const char *s, long min, long max, long *ret)
{
    char *end;
    long v;
    if (!s || !*s)
        return -EINVAL;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno == ERANGE)
        return -ERANGE;
    if (*end || end == s)
        return -EINVAL;
    if (v < min || v > max)
        return -ERANGE;
    *ret = v;
    return 0;
}

unsigned long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

static int open_at_path(const char *dir, const char *file, int flags)
{
    char path[4096];
    if (dir && snprintf(path, sizeof(path), "%s/%s", dir, file) >= (int)sizeof(path))
        return -ENAMETOOLONG;
    int fd = open(dir ? path : file, flags | O_CLOEXEC | O_NOFOLLOW);
    return fd < 0 ? -errno : fd;
}

int file_write_str(const char *dir, const char *file, const char *val)
{
    int fd = open_at_path(dir, file, O_WRONLY);
    if (fd < 0)
        return fd;
    int r = write_all(fd, val, strlen(val));
    close(fd);
    return r;
}

ssize_t file_read_str(const char *dir, const char *file, char *buf, size_t sz)
{
    if (!sz)
        return -EINVAL;
    int fd = open_at_path(dir, file, O_RDONLY);
    if (fd < 0)
        return fd;
    ssize_t n = read_all(fd, buf, sz - 1);
    close(fd);
    if (n < 0)
        return n;
    buf[n] = '\0';
    return n;
}

int mkdir_p(const char *path, mode_t parent_mode, mode_t mode)
{
    char tmp[PATH_MAX];
    if (!path || !*path)
        return -EINVAL;
    if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp))
        return -ENAMETOOLONG;
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/' || p[1] == '/' || p[1] == 0)
            continue;
        *p = 0;
        if (mkdir(tmp, parent_mode) < 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(tmp, mode) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

static int unix_addr(const char *path, struct sockaddr_un *sa)
{
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sa->sun_path))
        return -ENAMETOOLONG;
    memcpy(sa->sun_path, path, strlen(path) + 1);
    return 0;
}

int unix_listen(const char *path, int flags)
{
    struct sockaddr_un sa;
    struct stat st;
    _cleanup_close_ int fd = -EBADF;
    int r = unix_addr(path, &sa);
    if (r < 0)
        return r;
    if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
        (void)unlink(path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | flags, 0);
    if (fd < 0)
        return -errno;
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 128) < 0)
        return -errno;
    return TAKE_FD(fd);
}

int unix_connect(const char *path, int flags)
{
    struct sockaddr_un sa;
    _cleanup_close_ int fd = -EBADF;
    int r = unix_addr(path, &sa);
    if (r < 0)
        return r;
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | flags, 0);
    if (fd < 0)
        return -errno;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        return -errno;
    return TAKE_FD(fd);
}
