/* Host mounts for the virtiofs shared dir. */
#define LOG_MODULE "mount"
#include "sandbox/mounts.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "errmap.h"
#include "fs_beneath.h"
#include "log.h"

struct optflag {
    const char *name;
    int clear;
    unsigned long flag;
};

static const struct optflag optflags[] = {
    {"ro", 0, MS_RDONLY},
    {"rw", 1, MS_RDONLY},
    {"nosuid", 0, MS_NOSUID},
    {"suid", 1, MS_NOSUID},
    {"nodev", 0, MS_NODEV},
    {"dev", 1, MS_NODEV},
    {"noexec", 0, MS_NOEXEC},
    {"exec", 1, MS_NOEXEC},
    {"sync", 0, MS_SYNCHRONOUS},
    {"async", 1, MS_SYNCHRONOUS},
    {"noatime", 0, MS_NOATIME},
    {"atime", 1, MS_NOATIME},
    {"nodiratime", 0, MS_NODIRATIME},
    {"relatime", 0, MS_RELATIME},
    {"strictatime", 0, MS_STRICTATIME},
    {"bind", 0, MS_BIND},
    {"rbind", 0, MS_BIND | MS_REC},
    {"remount", 0, MS_REMOUNT},
    {"defaults", 0, 0},
};

static const struct optflag propflags[] = {
    {"private", 0, MS_PRIVATE},       {"rprivate", 0, MS_PRIVATE | MS_REC},
    {"shared", 0, MS_SHARED},         {"rshared", 0, MS_SHARED | MS_REC},
    {"slave", 0, MS_SLAVE},           {"rslave", 0, MS_SLAVE | MS_REC},
    {"unbindable", 0, MS_UNBINDABLE}, {"runbindable", 0, MS_UNBINDABLE | MS_REC},
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

/* A detached copy of src (recursive when asked), read-only when ro, before anyone can see it.
 * Always nodev: virtiofsd opens what the guest asks for on the host, and a device node in an
 * image or a volume must never open a host device (the guest's own device nodes are served by
 * the guest kernel, which never sends their opens to virtiofsd). */
static int clone_tree(const char *src, int recursive, int ro, struct cvm_err *err)
{
    struct mount_attr attr = {.attr_set = MOUNT_ATTR_NODEV | (ro ? MOUNT_ATTR_RDONLY : 0)};
    int tree = open_tree(AT_FDCWD, src,
                         OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0));
    if (tree < 0)
        return cvm_err_set(err, -errno, "bind mount source %s: %m", src);
    if (mount_setattr(tree, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr,
                      sizeof(attr)) < 0) {
        int r = -errno;
        close(tree);
        return cvm_err_set(err, r, "bind %s %s: %s", src, ro ? "read-only, nodev" : "nodev",
                           strerror(-r));
    }
    return tree;
}

static int attach_tree(int tree, int target_fd, const char *src, const char *what,
                       struct cvm_err *err)
{
    if (move_mount(tree, "", target_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
        return cvm_err_set(err, -errno, "bind %s on %s: %m", src, what);
    return 0;
}

int mnt_mount_one(const char *type, const char *source, const char *const *opts, size_t n,
                  int parent_fd, const char *name, const char *what, struct cvm_err *err)
{
    unsigned long flags, prop;
    _cleanup_free_ char *data = malloc(65536);
    _cleanup_close_ int target = -EBADF;
    char fdp[32];
    int r, cwd = -1;

    if (!data)
        return cvm_err_set(err, -ENOMEM, "mount: out of memory");
    r = mnt_parse_options(opts, n, &flags, &prop, data, 65536);
    if (r < 0)
        return cvm_err_set(err, r, "mount %s: bad options", what);
    r = fsb_mkdir_p(parent_fd, name, 0755, &target);
    if (r < 0)
        return cvm_err_set(err, r, "mount: target %s: %s", what, strerror(-r));
    if (strcmp(type, "bind") == 0 || (flags & MS_BIND)) {
        _cleanup_close_ int tree =
            clone_tree(source, !!(flags & MS_REC), !!(flags & MS_RDONLY), err);
        if (tree < 0)
            return tree;
        return attach_tree(tree, target, source, what, err);
    }
    if (strcmp(type, "overlay") == 0) {
        r = shorten_lowerdir(data, 65536, &cwd);
        if (r < 0) {
            if (cwd >= 0) {
                (void)!fchdir(cwd);
                close(cwd);
            }
            return cvm_err_set(err, r, "mount overlay %s: lowerdir too long", what);
        }
    }
    /* onto the verified directory itself, whatever its path names meanwhile; nodev as for
     * binds (clone_tree) */
    r = mount(source, fsb_fd_path(target, fdp), type, flags | MS_NODEV, data[0] ? data : NULL);
    if (r < 0)
        r = -errno;
    if (cwd >= 0) {
        (void)!fchdir(cwd);
        close(cwd);
    }
    if (r < 0)
        return cvm_err_set(err, r, "mount %s %s on %s: %s", type, source, what, strerror(-r));
    if (prop) { /* on the new mount: reopened through its (host-only) parent */
        _cleanup_close_ int top = fsb_open_dir(parent_fd, name, false);
        if (top < 0 || mount(NULL, fsb_fd_path(top, fdp), NULL, prop, NULL) < 0)
            log_warn("mount %s: propagation not set", what);
    }
    return 0;
}

/* The clone of a shared source is its peer: mounts propagate both ways. Made a slave of the
 * source (mounts the node makes under the volume later reach the container's view: kubelet's
 * HostToContainer), then shared again (so the read-only shared/ view keeps receiving it), so
 * that nothing mounted on our side ever propagates back into the node's tree. Set through the
 * attached tree's own fd: no path is resolved. */
static int one_way_from_source(int tree, const char *src, const char *what, struct cvm_err *err)
{
    struct mount_attr slave = {.propagation = MS_SLAVE}, shared = {.propagation = MS_SHARED};
    if (mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &slave, sizeof(slave)) < 0 ||
        mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &shared, sizeof(shared)) < 0)
        return cvm_err_set(err, -errno, "bind %s on %s: propagation: %m", src, what);
    return 0;
}

int mnt_bind_at(const char *src, int parent_fd, const char *name, int ro, int recursive,
                const char *what, struct cvm_err *err)
{
    _cleanup_close_ int tree = clone_tree(src, recursive, ro, err), target = -EBADF;
    struct stat st;
    int r;

    if (tree < 0)
        return tree;
    if (fstat(tree, &st) < 0)
        return cvm_err_set(err, -errno, "bind mount source %s: %m", src);
    if (S_ISDIR(st.st_mode))
        r = fsb_mkdir_p(parent_fd, name, 0755, &target);
    else
        r = fsb_create_file(parent_fd, name, 0644, &target);
    if (r < 0)
        return cvm_err_set(err, r, "bind mount target %s: %s", what, strerror(-r));
    if ((r = attach_tree(tree, target, src, what, err)) < 0)
        return r;
    return one_way_from_source(tree, src, what, err);
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

static int cmp_len_asc(const void *a, const void *b)
{
    size_t la = strlen(*(char *const *)a), lb = strlen(*(char *const *)b);
    return la < lb ? -1 : la > lb ? 1 : 0;
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
        qsort(list, n, sizeof(*list), cmp_len_asc);
    for (size_t i = 0; i < n; i++) {
        if (umount2(list[i], MNT_DETACH | UMOUNT_NOFOLLOW) == 0)
            count++;
        free(list[i]);
    }
    free(list);
    return count;
}
