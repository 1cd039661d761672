/* Small effectful helpers of hypervisor/: socket path lengths and locating helper binaries. */
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
