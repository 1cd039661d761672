/* Container root filesystem, in the child's new mount namespace: the spec's mounts resolved
 * inside the rootfs (openat2 RESOLVE_IN_ROOT, so a symlink in the image cannot point a
 * mount outside it), default /dev nodes, pivot_root, masked and read-only paths, read-only
 * root, rootfs propagation. */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "child.h"
#include "fd.h"
#include "cleanup.h"

#define FAILM(r, ...) (snprintf(msg, msgsz, __VA_ARGS__), (r))

static int open_in_root(int rootfd, const char *path, int flags)
{
    struct open_how how = {
        .flags = (uint64_t)(flags | O_CLOEXEC),
        .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
    };
    while (*path == '/')
        path++;
    if (!*path)
        path = ".";
    long fd = syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
    return fd < 0 ? -errno : (int)fd;
}

/* Make path (and its parents) exist inside the root; the last component as a file or dir. */
static int mkpath_in_root(int rootfd, const char *path, bool file)
{
    char buf[OCI_MAX_STR + 1];
    size_t len = strlen(path);
    if (len >= sizeof(buf))
        return -ENAMETOOLONG;
    memcpy(buf, path, len + 1);
    for (char *c = buf + 1;; c++) {
        bool last = *c == '\0';
        if (*c != '/' && !last)
            continue;
        char saved = *c;
        *c = '\0';
        int fd = open_in_root(rootfd, buf, O_PATH);
        if (fd >= 0) {
            close(fd);
        } else if (fd == -ENOENT) {
            char *slash = strrchr(buf, '/');
            *slash = '\0';
            int dfd = open_in_root(rootfd, buf[0] ? buf : "/", O_PATH | O_DIRECTORY);
            *slash = '/';
            if (dfd < 0)
                return dfd;
            int r;
            if (last && file) {
                r = openat(dfd, slash + 1, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW,
                           0644);
                if (r >= 0)
                    close(r);
            } else {
                r = mkdirat(dfd, slash + 1, 0755);
            }
            r = r < 0 && errno != EEXIST ? -errno : 0;
            close(dfd);
            if (r < 0)
                return r;
        } else {
            return fd;
        }
        *c = saved;
        if (last)
            return 0;
    }
}

static int mount_at(int rootfd, const char *dest, bool file, const char *src, const char *type,
                    unsigned long flags, const char *data)
{
    char proc[64];
    int r = mkpath_in_root(rootfd, dest, file);
    if (r < 0)
        return r;
    int fd = open_in_root(rootfd, dest, O_PATH);
    if (fd < 0)
        return fd;
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
    r = mount(src, proc, type, flags, data) < 0 ? -errno : 0;
    close(fd);
    return r;
}

static int remount_at(int rootfd, const char *dest, unsigned long flags)
{
    char proc[64];
    int fd = open_in_root(rootfd, dest, O_PATH);
    if (fd < 0)
        return fd;
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
    int r = mount(NULL, proc, NULL, flags, NULL) < 0 ? -errno : 0;
    close(fd);
    return r;
}

static int do_mount(const struct child_args *a, int rootfd, const struct oci_mount *m, char *msg,
                    size_t msgsz)
{
    const char *d = m->destination;
    int r;
    if (m->bind) {
        char src[OCI_MAX_STR * 2 + 2];
        struct stat st;
        if (m->source[0] == '/')
            snprintf(src, sizeof(src), "%s", m->source);
        else if (a->share_dir && !strstr(m->source, ".."))
            snprintf(src, sizeof(src), "%s/%s", a->share_dir, m->source);
        else
            return FAILM(-EINVAL, "mount %s: relative source \"%s\" without a share", d, m->source);
        if (stat(src, &st) < 0)
            return FAILM(-errno, "mount %s: source %s: %m", d, src);
        r = mount_at(rootfd, d, !S_ISDIR(st.st_mode), src, NULL,
                     MS_BIND | (m->recursive ? MS_REC : 0), NULL);
        if (r < 0)
            return FAILM(r, "bind mount %s on %s: %s", src, d, strerror(-r));
        unsigned long fl = m->flags & ~(MS_REMOUNT);
        if (fl && (r = remount_at(rootfd, d, MS_BIND | MS_REMOUNT | fl)) < 0)
            return FAILM(r, "remount %s: %s", d, strerror(-r));
    } else {
        const char *type = strcmp(m->type, "cgroup") == 0 ? "cgroup2" : m->type;
        const char *data = m->data;
        if (strcmp(type, "cgroup2") == 0)
            data = NULL; /* v1 controller names mean nothing to cgroup2 */
        r = mount_at(rootfd, d, false, m->source ? m->source : type, type, m->flags, data);
        if (r == -EPERM && strcmp(type, "sysfs") == 0 && !(m->flags & MS_RDONLY))
            r = mount_at(rootfd, d, false, "sysfs", type, m->flags | MS_RDONLY, data);
        if (r < 0)
            return FAILM(r, "mount %s (%s): %s", d, type, strerror(-r));
    }
    if (m->propagation && (r = remount_at(rootfd, d, m->propagation)) < 0)
        return FAILM(r, "propagation of %s: %s", d, strerror(-r));
    return 0;
}

static bool spec_mounts(const struct oci_spec *s, const char *dest)
{
    for (size_t i = 0; i < s->n_mounts; i++)
        if (strcmp(s->mounts[i].destination, dest) == 0)
            return true;
    return false;
}

/* runc's default devices: character nodes made with mknod (0666, root's), as runc makes
 * them outside a user namespace; where mknod is refused (a user namespace) a bind mount of
 * the agent's own node, as runc falls back to. */
static const struct {
    const char *name;
    unsigned major, minor;
} dev_nodes[] = {{"null", 1, 3},   {"zero", 1, 5},    {"full", 1, 7},
                 {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}};

static int make_node(int rootfd, int dfd, size_t i)
{
    char src[64];
    if (mknodat(dfd, dev_nodes[i].name, S_IFCHR | 0666,
                makedev(dev_nodes[i].major, dev_nodes[i].minor)) == 0)
        return fchmodat(dfd, dev_nodes[i].name, 0666, 0) < 0 ? -errno : 0; /* past the umask */
    if (errno == EEXIST)
        return 0; /* a spec mount put something there: it wins */
    if (errno != EPERM)
        return -errno;
    snprintf(src, sizeof(src), "/dev/%s", dev_nodes[i].name);
    return mount_at(rootfd, src, true, src, NULL, MS_BIND, NULL);
}

static int setup_dev(int rootfd, char *msg, size_t msgsz)
{
    static const struct {
        const char *link, *target;
    } links[] = {{"/dev/fd", "/proc/self/fd"},
                 {"/dev/stdin", "/proc/self/fd/0"},
                 {"/dev/stdout", "/proc/self/fd/1"},
                 {"/dev/stderr", "/proc/self/fd/2"},
                 {"/dev/ptmx", "pts/ptmx"}};
    int r;
    /* not O_PATH: mknodat and symlinkat need a real directory fd */
    int dfd = open_in_root(rootfd, "/dev", O_RDONLY | O_DIRECTORY);
    if (dfd < 0)
        return FAILM(dfd, "open /dev: %s", strerror(-dfd));
    for (size_t i = 0; i < ELEMENTSOF(dev_nodes); i++)
        if ((r = make_node(rootfd, dfd, i)) < 0) {
            close(dfd);
            return FAILM(r, "device /dev/%s: %s", dev_nodes[i].name, strerror(-r));
        }
    for (size_t i = 0; i < ELEMENTSOF(links); i++)
        if (symlinkat(links[i].target, dfd, links[i].link + 5) < 0 && errno != EEXIST) {
            r = -errno;
            close(dfd);
            return FAILM(r, "symlink %s: %s", links[i].link, strerror(-r));
        }
    close(dfd);
    return 0;
}

/* linux.devices: each node made as runc makes it (mknod with the spec's type, numbers, mode,
 * owner; parents made as needed; an existing entry is left as it is). The agent checked at
 * Create that the guest kernel has each one (devices.c). */
static int make_spec_devices(int rootfd, const struct oci_spec *s, char *msg, size_t msgsz)
{
    for (size_t i = 0; i < s->n_devices; i++) {
        const struct oci_device *d = &s->devices[i];
        char dir[OCI_MAX_STR + 1];
        snprintf(dir, sizeof(dir), "%s", d->path);
        char *slash = strrchr(dir, '/');
        const char *name = slash + 1;
        *slash = '\0';
        int r = dir[0] ? mkpath_in_root(rootfd, dir, false) : 0;
        if (r < 0)
            return FAILM(r, "device %s: parent directory: %s", d->path, strerror(-r));
        _cleanup_close_ int dfd = open_in_root(rootfd, dir[0] ? dir : "/", O_RDONLY | O_DIRECTORY);
        if (dfd < 0)
            return FAILM(dfd, "device %s: parent directory: %s", d->path, strerror(-dfd));
        mode_t type = d->type == 'b' ? S_IFBLK : d->type == 'p' ? S_IFIFO : S_IFCHR;
        if (mknodat(dfd, name, type | (d->mode & 0777), makedev(d->major, d->minor)) < 0) {
            if (errno == EEXIST)
                continue;
            return FAILM(-errno, "device %s (%c %u:%u): mknod: %m", d->path, d->type, d->major,
                         d->minor);
        }
        if (fchownat(dfd, name, d->uid, d->gid, AT_SYMLINK_NOFOLLOW) < 0 ||
            fchmodat(dfd, name, d->mode, 0) < 0) /* past the umask, setuid/sgid bits included */
            return FAILM(-errno, "device %s: owner or mode: %m", d->path);
    }
    return 0;
}

static int mask_paths(const struct oci_spec *s, char *msg, size_t msgsz)
{
    for (size_t i = 0; i < s->n_masked; i++) {
        const char *p = s->masked_paths[i];
        struct stat st;
        if (lstat(p, &st) < 0)
            continue;
        int r = S_ISDIR(st.st_mode) ? mount("tmpfs", p, "tmpfs", MS_RDONLY, "size=0")
                                    : mount("/dev/null", p, NULL, MS_BIND, NULL);
        if (r < 0)
            return FAILM(-errno, "mask %s: %m", p);
    }
    for (size_t i = 0; i < s->n_readonly; i++) {
        const char *p = s->readonly_paths[i];
        if (mount(p, p, NULL, MS_BIND | MS_REC, NULL) < 0) {
            if (errno == ENOENT)
                continue;
            return FAILM(-errno, "read-only %s: %m", p);
        }
        if (mount(NULL, p, NULL,
                  MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0 &&
            mount(NULL, p, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0)
            return FAILM(-errno, "read-only %s: %m", p);
    }
    return 0;
}

int child_setup_rootfs(const struct child_args *a, char *msg, size_t msgsz)
{
    const struct oci_spec *s = a->spec;
    bool has_mntns = false;
    for (size_t i = 0; i < s->n_namespaces; i++)
        if (s->namespaces[i].type == CLONE_NEWNS)
            has_mntns = true;
    if (!has_mntns)
        return FAILM(-EINVAL, "a mount namespace is required");
    if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
        return FAILM(-errno, "make / slave: %m");
    if (mount(a->rootfs, a->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
        return FAILM(-errno, "bind rootfs %s: %m", a->rootfs);
    _cleanup_close_ int rootfd = open(a->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0)
        return FAILM(-errno, "open rootfs %s: %m", a->rootfs);
    for (size_t i = 0; i < s->n_mounts; i++) {
        int r = do_mount(a, rootfd, &s->mounts[i], msg, msgsz);
        if (r < 0)
            return r;
    }
    if (spec_mounts(s, "/dev")) {
        int r = setup_dev(rootfd, msg, msgsz);
        if (r < 0)
            return r;
    }
    if (s->n_devices) {
        int r = make_spec_devices(rootfd, s, msg, msgsz);
        if (r < 0)
            return r;
    }
    if (chdir(a->rootfs) < 0)
        return FAILM(-errno, "chdir rootfs: %m");
    if (syscall(SYS_pivot_root, ".", ".") < 0)
        return FAILM(-errno, "pivot_root: %m");
    if (umount2(".", MNT_DETACH) < 0)
        return FAILM(-errno, "detach old root: %m");
    if (chdir("/") < 0)
        return FAILM(-errno, "chdir /: %m");
    /* sysctls before the masks: readonlyPaths usually covers /proc/sys */
    for (size_t i = 0; i < s->n_sysctls; i++) {
        char path[256];
        int n = snprintf(path, sizeof(path), "/proc/sys/%s", s->sysctls[i].key);
        for (char *c = path + 10; n > 0 && *c; c++)
            if (*c == '.')
                *c = '/';
        int w = file_write_str(NULL, path, s->sysctls[i].value);
        if (w < 0)
            return FAILM(w, "sysctl %s: %s", s->sysctls[i].key, strerror(-w));
    }
    /* a missing cwd is made (0755, root's) as runc makes it: after pivot_root, so the path
     * resolves inside the container, and before the root turns read-only */
    int r = mkdir_p(a->proc->cwd, 0755, 0755);
    if (r < 0)
        return FAILM(r, "mkdir cwd \"%s\": %s", a->proc->cwd, strerror(-r));
    if ((r = mask_paths(s, msg, msgsz)) < 0)
        return r;
    if (s->root_readonly && mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0)
        return FAILM(-errno, "read-only root: %m");
    if (mount(NULL, "/", NULL, s->rootfs_propagation ? s->rootfs_propagation : MS_REC | MS_PRIVATE,
              NULL) < 0)
        return FAILM(-errno, "rootfs propagation: %m");
    return 0;
}
