#include "kmod.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int kmod_load_file(const char *path, const char *params)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    long r = syscall(SYS_finit_module, fd, params ? params : "", 0);
    int e = errno;
    close(fd);
    if (r == 0)
        return 0;
    return e == EEXIST ? 1 : -e;
}

static int read_list(const char *path, char *buf, size_t cap, size_t *ret_len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    size_t len = 0;
    for (;;) {
        if (len == cap) {
            close(fd);
            return -EFBIG;
        }
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            close(fd);
            return -e;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    *ret_len = len;
    return 0;
}

int kmod_load_list(const char *list_path, struct kmod_report *rep)
{
    static char buf[KMOD_MAX_LIST_BYTES + 1];
    struct kmod_report dummy;
    size_t len = 0;
    unsigned n_mod = 0;
    int r;

    if (!rep)
        rep = &dummy;
    memset(rep, 0, sizeof(*rep));
    r = read_list(list_path ? list_path : KMOD_LIST_PATH, buf, KMOD_MAX_LIST_BYTES, &len);
    if (r < 0)
        return r;
    buf[len] = '\0';

    /* Split into lines and check the whole list before loading anything. */
    char *lines[KMOD_MAX_MODULES];
    for (char *line = buf, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        size_t l = strlen(line);
        while (l > 0 && (line[l - 1] == ' ' || line[l - 1] == '\t' || line[l - 1] == '\r'))
            line[--l] = '\0';
        if (l == 0 || line[0] == '#')
            continue;
        if (n_mod == KMOD_MAX_MODULES || l >= sizeof(rep->failed)) {
            rep->failed_errno = E2BIG;
            snprintf(rep->failed, sizeof(rep->failed), "%.*s", (int)(sizeof(rep->failed) - 1),
                     line);
            return -E2BIG;
        }
        lines[n_mod++] = line;
    }
    for (unsigned i = 0; i < n_mod; i++) {
        r = kmod_load_file(lines[i], NULL);
        if (r < 0) {
            rep->failed_errno = -r;
            snprintf(rep->failed, sizeof(rep->failed), "%s", lines[i]);
            return r;
        }
        if (r == 1)
            rep->present++;
        else
            rep->loaded++;
    }
    return 0;
}
