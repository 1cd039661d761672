/* Host mounts for the virtiofs shared dir. */
#define LOG_MODULE "mount"
#include "mounts.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "errmap.h"
#include "log.h"

struct optflag {
    const char *name;
    int clear;
    unsigned long flag;
};

static const struct optflag optflags[] = {
    { "ro", 0, MS_RDONLY },           { "rw", 1, MS_RDONLY },       { "nosuid", 0, MS_NOSUID },
    { "suid", 1, MS_NOSUID },         { "nodev", 0, MS_NODEV },     { "dev", 1, MS_NODEV },
    { "noexec", 0, MS_NOEXEC },       { "exec", 1, MS_NOEXEC },     { "sync", 0, MS_SYNCHRONOUS },
    { "async", 1, MS_SYNCHRONOUS },   { "noatime", 0, MS_NOATIME }, { "atime", 1, MS_NOATIME },
    { "nodiratime", 0, MS_NODIRATIME }, { "relatime", 0, MS_RELATIME }, { "strictatime", 0, MS_STRICTATIME },
    { "bind", 0, MS_BIND },           { "rbind", 0, MS_BIND | MS_REC }, { "remount", 0, MS_REMOUNT },
    { "defaults", 0, 0 },
};

static const struct optflag propflags[] = {
    { "private", 0, MS_PRIVATE },   { "rprivate", 0, MS_PRIVATE | MS_REC },
    { "shared", 0, MS_SHARED },     { "rshared", 0, MS_SHARED | MS_REC },
    { "slave", 0, MS_SLAVE },       { "rslave", 0, MS_SLAVE | MS_REC },
    { "unbindable", 0, MS_UNBINDABLE }, { "runbindable", 0, MS_UNBINDABLE | MS_REC },
};

int mnt_parse_options(const char *const *opts, size_t n, unsigned long *ret_flags,
                      unsigned long *ret_prop, char *data, size_t data_len)
{
    unsigned long flags = 0, prop = 0;
    size_t used = 0;

    if (data_len == 0)
        return -EINVAL;
    data[0] = 0;
    for (size_t i = 0; i < n; i++) {
        const char *o = opts[i];
        int known = 0;
        for (size_t k = 0; k < ELEMENTSOF(optflags) && !known; k++)
            if (strcmp(o, optflags[k].name) == 0) {
                flags = optflags[k].clear ? flags & ~optflags[k].flag : flags | optflags[k].flag;
                known = 1;
            }
        for (size_t k = 0; k < ELEMENTSOF(propflags) && !known; k++)
            if (strcmp(o, propflags[k].name) == 0) {
                prop |= propflags[k].flag;
                known = 1;
            }
        if (known)
            continue;
        size_t l = strlen(o);
        if (l == 0)
            continue;
        if (used + l + 2 > data_len)
            return -E2BIG;
        if (used)
            data[used++] = ',';
        memcpy(data + used, o, l + 1);
        used += l;
    }
    *ret_flags = flags;
    *ret_prop = prop;
    return 0;
}

int mnt_mkdir_p(const char *path, unsigned mode)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp))
        return -ENAMETOOLONG;
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            if (mkdir(tmp, mode) < 0 && errno != EEXIST)
                return -errno;
            *p = '/';
        }
    if (mkdir(tmp, mode) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

/* Overlay with a lowerdir list too long for one page of mount data: chdir to the common parent
 * of all lowerdirs and pass relative paths (what containerd's mount_linux.go does). */
static int shorten_lowerdir(char *data, size_t data_len, int *ret_chdir_fd)
{
    char *ld = strstr(data, "lowerdir="), *end, prefix[PATH_MAX];
    size_t plen;

    *ret_chdir_fd = -1;
    if (strlen(data) < (size_t)getpagesize() - 512 || !ld)
        return 0;
    ld += strlen("lowerdir=");
    end = strchr(ld, ',');
    size_t ldlen = end ? (size_t)(end - ld) : strlen(ld);
    /* common directory prefix of all entries */
    const char *first_end = memchr(ld, ':', ldlen);
    plen = first_end ? (size_t)(first_end - ld) : ldlen;
    memcpy(prefix, ld, plen < sizeof(prefix) ? plen : sizeof(prefix) - 1);
    prefix[plen < sizeof(prefix) ? plen : sizeof(prefix) - 1] = 0;
    for (const char *e = ld; e < ld + ldlen;) {
        const char *c = memchr(e, ':', (size_t)(ld + ldlen - e));
        size_t el = c ? (size_t)(c - e) : (size_t)(ld + ldlen - e);
        size_t k = 0;
        while (k < el && prefix[k] && prefix[k] == e[k])
            k++;
        prefix[k] = 0;
        e += el + (c ? 1 : 0);
    }
    char *slash = strrchr(prefix, '/');
    if (!slash || slash == prefix)
        return 0;
    *slash = 0;
    plen = strlen(prefix);
    int cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (cwd < 0)
        return -errno;
    if (chdir(prefix) < 0) {
        int r = -errno;
        close(cwd);
        return r;
    }
    /* rewrite in place: drop "<prefix>/" from every entry */
    char out[PATH_MAX * 4];
    size_t o = 0;
    for (const char *e = ld; e < ld + ldlen;) {
        const char *c = memchr(e, ':', (size_t)(ld + ldlen - e));
        size_t el = c ? (size_t)(c - e) : (size_t)(ld + ldlen - e);
        if (o + el + 2 >= sizeof(out))
            break;
        memcpy(out + o, e + plen + 1, el - plen - 1);
        o += el - plen - 1;
        if (c)
            out[o++] = ':';
        e += el + (c ? 1 : 0);
    }
    size_t tail = end ? strlen(end) : 0;
    if ((size_t)(ld - data) + o + tail + 1 > data_len) {
        (void)!fchdir(cwd);
        close(cwd);
        return -E2BIG;
    }
    memmove(ld + o, end ? end : "", tail + 1);
    memcpy(ld, out, o);
    *ret_chdir_fd = cwd;
    if (strlen(data) >= (size_t)getpagesize())
        return -E2BIG; /* still more than the kernel copies: fail clearly, not with ENOENT */
    return 0;
}

int mnt_mount_one(const char *type, const char *source, const char *const *opts, size_t n,
                  const char *target, struct cvm_err *err)
{
    unsigned long flags, prop;
    _cleanup_free_ char *data = malloc(65536);
    int r, cwd = -1;

    if (!data)
        return cvm_err_set(err, -ENOMEM, "mount: out of memory");
    r = mnt_parse_options(opts, n, &flags, &prop, data, 65536);
    if (r < 0)
        return cvm_err_set(err, r, "mount %s: bad options", target);
    r = mnt_mkdir_p(target, 0755);
    if (r < 0)
        return cvm_err_set(err, r, "mount: mkdir %s: %s", target, strerror(-r));
    if (strcmp(type, "bind") == 0)
        flags |= MS_BIND;
    if (strcmp(type, "overlay") == 0) {
        r = shorten_lowerdir(data, 65536, &cwd);
        if (r < 0) {
            if (cwd >= 0) {
                (void)!fchdir(cwd);
                close(cwd);
            }
            return cvm_err_set(err, r, "mount overlay %s: lowerdir too long", target);
        }
    }
    r = mount(source, target, type, flags & ~MS_RDONLY, data[0] ? data : NULL);
    if (r < 0)
        r = -errno;
    if (cwd >= 0) {
        (void)!fchdir(cwd);
        close(cwd);
    }
    if (r < 0)
        return cvm_err_set(err, r, "mount %s %s on %s: %s", type, source, target, strerror(-r));
    if ((flags & MS_RDONLY) || (prop && 1)) {
        if ((flags & MS_RDONLY) &&
            mount(NULL, target, NULL, MS_REMOUNT | (flags & MS_BIND) | MS_RDONLY | (flags & (MS_NOSUID | MS_NODEV | MS_NOEXEC)), NULL) < 0) {
            r = -errno;
            (void)umount2(target, MNT_DETACH);
            return cvm_err_set(err, r, "remount %s read-only: %s", target, strerror(-r));
        }
        if (prop)
            (void)mount(NULL, target, NULL, prop, NULL);
    }
    return 0;
}

int mnt_bind(const char *src, const char *target, int ro, int recursive, struct cvm_err *err)
{
    struct stat st;
    int r;

    if (stat(src, &st) < 0)
        return cvm_err_set(err, -errno, "bind mount source %s: %m", src);
    if (S_ISDIR(st.st_mode))
        r = mnt_mkdir_p(target, 0755);
    else {
        char dir[PATH_MAX];
        snprintf(dir, sizeof(dir), "%s", target);
        char *s = strrchr(dir, '/');
        if (s)
            *s = 0;
        r = mnt_mkdir_p(dir, 0755);
        if (r == 0) {
            int fd = open(target, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
            if (fd < 0)
                r = -errno;
            else
                close(fd);
        }
    }
    if (r < 0)
        return cvm_err_set(err, r, "bind mount target %s: %s", target, strerror(-r));
    if (mount(src, target, NULL, MS_BIND | (recursive ? MS_REC : 0), NULL) < 0)
        return cvm_err_set(err, -errno, "bind %s on %s: %m", src, target);
    if (ro && mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0) {
        r = -errno;
        (void)umount2(target, MNT_DETACH);
        return cvm_err_set(err, r, "remount %s read-only: %s", target, strerror(-r));
    }
    return 0;
}

int mnt_make_shared_dir(const char *dir)
{
    if (mount(dir, dir, NULL, MS_BIND, NULL) < 0)
        return -errno;
    if (mount(NULL, dir, NULL, MS_SHARED, NULL) < 0) {
        int r = -errno;
        (void)umount2(dir, MNT_DETACH);
        return r;
    }
    return 0;
}

static void unescape(char *s)
{
    char *o = s;
    for (; *s; s++) {
        if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
            s[3] >= '0' && s[3] <= '7') {
            *o++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
            s += 3;
        } else
            *o++ = *s;
    }
    *o = 0;
}

static int cmp_len_desc(const void *a, const void *b)
{
    size_t la = strlen(*(char *const *)a), lb = strlen(*(char *const *)b);
    return la < lb ? 1 : la > lb ? -1 : 0;
}

int mnt_umount_tree(const char *path)
{
    _cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
    char *line = NULL, **list = NULL;
    size_t cap = 0, n = 0, plen = strlen(path);
    int count = 0;

    if (!f)
        return -errno;
    while (getline(&line, &cap, f) > 0) {
        char mp[PATH_MAX];
        if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1)
            continue;
        unescape(mp);
        if (strncmp(mp, path, plen) != 0 || (mp[plen] != 0 && mp[plen] != '/'))
            continue;
        char **nl = realloc(list, (n + 1) * sizeof(*list));
        if (!nl)
            break;
        list = nl;
        list[n] = strdup(mp);
        if (list[n])
            n++;
    }
    free(line);
    if (n > 0)
        qsort(list, n, sizeof(*list), cmp_len_desc);
    for (size_t i = 0; i < n; i++) {
        if (umount2(list[i], MNT_DETACH) == 0)
            count++;
        free(list[i]);
    }
    free(list);
    return count;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag == FTW_DP)
        (void)rmdir(p);
    else
        (void)unlink(p);
    return 0;
}

int mnt_rm_tree(const char *path)
{
    if (access(path, F_OK) < 0)
        return errno == ENOENT ? 0 : -errno;
    if (nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0)
        return -errno;
    return access(path, F_OK) == 0 ? -ENOTEMPTY : 0;
}
