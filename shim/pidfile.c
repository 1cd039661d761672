#include "pidfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "fd.h"

int pidfile_write(const char *dir, const char *name, pid_t pid)
{
    char path[PATH_MAX], tmp[PATH_MAX], buf[32];
    _cleanup_close_ int fd = -EBADF;
    int n;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    snprintf(tmp, sizeof(tmp), "%s/.%s", dir, name);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    n = snprintf(buf, sizeof(buf), "%d", (int)pid);
    if (write_all(fd, buf, (size_t)n) < 0)
        return -errno;
    if (rename(tmp, path) < 0)
        return -errno;
    return 0;
}

int pid_alive(pid_t pid)
{
    char path[64], buf[512];
    if (pid <= 0 || kill(pid, 0) < 0)
        return 0;
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
    if (n <= 0)
        return 0;
    buf[n] = 0;
    char *rp = strrchr(buf, ')');
    return !(rp && rp[1] == ' ' && (rp[2] == 'Z' || rp[2] == 'X'));
}

pid_t pidfile_read(const char *dir, const char *name, const char *comm_substr)
{
    char path[PATH_MAX], buf[4096];
    _cleanup_close_ int fd = -EBADF;
    ssize_t n;
    long v;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || (n = read(fd, buf, 31)) <= 0)
        return 0;
    buf[n] = 0;
    buf[strcspn(buf, "\n")] = 0;
    if (parse_long(buf, 2, INT_MAX, &v) < 0 || !pid_alive((pid_t)v))
        return 0;
    if (comm_substr) {
        fd = safe_close(fd);
        snprintf(path, sizeof(path), "/proc/%ld/cmdline", v);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || (n = read(fd, buf, sizeof(buf) - 1)) <= 0)
            return 0;
        for (ssize_t i = 0; i < n; i++)
            if (buf[i] == 0)
                buf[i] = ' ';
        buf[n] = 0;
        if (!strstr(buf, comm_substr))
            return 0;
    }
    return (pid_t)v;
}
