/* Descriptor-relative file operations: see fs_beneath.h for the rules and why. */
#include "fs_beneath.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"

#define RESOLVE_STRICT (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)
#define RM_MAX_ENTRIES 100000u /* a tree bigger than this is not one we made */

int fsb_path_check(const char *rel)
{
    size_t len;
    if (!rel)
        return -EINVAL;
    len = strnlen(rel, FSB_PATH_MAX + 1);
    if (len == 0 || rel[0] == '/')
        return -EINVAL;
    if (len > FSB_PATH_MAX)
        return -ENAMETOOLONG;
    for (const char *p = rel; *p;) {
        const char *s = p;
        while (*p && *p != '/')
            p++;
        size_t n = (size_t)(p - s);
        if (n == 0 || n > NAME_MAX || (n == 1 && s[0] == '.') ||
            (n == 2 && s[0] == '.' && s[1] == '.'))
            return n > NAME_MAX ? -ENAMETOOLONG : -EINVAL;
        if (*p == '/' && p[1] == 0)
            return -EINVAL; /* a trailing slash: say what you mean */
        if (*p == '/')
            p++;
    }
    return 0;
}

size_t fsb_next_component(const char **p, const char **ret_start)
{
    const char *s = *p;
    size_t n = 0;
    while (s[n] && s[n] != '/')
        n++;
    *ret_start = s;
    *p = s[n] == '/' ? s + n + 1 : s + n;
    return n;
}

static int openat2_fd(int dirfd, const char *path, int flags, unsigned long long resolve)
{
    struct open_how how = {.flags = (unsigned long long)(flags | O_CLOEXEC | O_NOFOLLOW),
                           .resolve = resolve};
    long fd = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
    return fd < 0 ? -errno : (int)fd;
}

int fsb_open_dir(int dirfd, const char *rel, bool no_xdev)
{
    int r = fsb_path_check(rel);
    if (r < 0)
        return r;
    return openat2_fd(dirfd, rel, O_PATH | O_DIRECTORY,
                      RESOLVE_STRICT | (no_xdev ? RESOLVE_NO_XDEV : 0));
}

/* A directory we may build on: a real directory that we own. */
static int check_own_dir(int fd)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return -errno;
    if (!S_ISDIR(st.st_mode))
        return -ENOTDIR;
    return st.st_uid == geteuid() ? 0 : -EPERM;
}

int fsb_mkdir_p(int dirfd, const char *rel, mode_t mode, int *ret_fd)
{
    char name[NAME_MAX + 1];
    const char *p = rel, *s;
    size_t n;
    _cleanup_close_ int cur = -EBADF;
    int r = fsb_path_check(rel);

    if (r < 0)
        return r;
    cur = openat2_fd(dirfd, ".", O_PATH | O_DIRECTORY, RESOLVE_STRICT);
    if (cur < 0)
        return cur;
    while ((n = fsb_next_component(&p, &s)) > 0) {
        bool made;
        memcpy(name, s, n);
        name[n] = 0;
        made = mkdirat(cur, name, mode) == 0;
        if (!made && errno != EEXIST)
            return -errno;
        /* whatever is there now (we made it, or it was there, or it was swapped meanwhile) is
         * opened without following anything and must be our own directory */
        int next = openat2_fd(cur, name, O_RDONLY | O_DIRECTORY, RESOLVE_STRICT | RESOLVE_NO_XDEV);
        if (next < 0)
            return next == -EXDEV ? -EBUSY : next;
        safe_close(cur);
        cur = next;
        r = check_own_dir(cur);
        if (r < 0)
            return r;
        if (made && fchmod(cur, mode) < 0) /* exactly mode, whatever the umask */
            return -errno;
    }
    if (ret_fd)
        *ret_fd = TAKE_FD(cur);
    return 0;
}

int fsb_create_file(int dirfd, const char *name, mode_t mode, int *ret_fd)
{
    struct stat st;
    int fd;

    if (fsb_path_check(name) < 0 || strchr(name, '/'))
        return -EINVAL;
    fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, mode);
    if (fd < 0 && errno != EEXIST)
        return -errno;
    if (fd < 0) { /* a retry finds its own file; anything else is not ours */
        fd = openat2_fd(dirfd, name, O_PATH, RESOLVE_STRICT | RESOLVE_NO_XDEV);
        if (fd < 0)
            return fd == -ELOOP ? -EEXIST : fd;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
            st.st_nlink != 1) {
            close(fd);
            return -EEXIST;
        }
    }
    if (ret_fd)
        *ret_fd = fd;
    else
        close(fd);
    return 0;
}

static int rm_at(int parent, const char *name, unsigned depth, unsigned *budget)
{
    struct stat st;
    int r = 0;

    if ((*budget)-- == 0)
        return -E2BIG;
    if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 0 : -errno;
    if (!S_ISDIR(st.st_mode))
        return unlinkat(parent, name, 0) < 0 && errno != ENOENT ? -errno : 0;
    if (depth >= FSB_MAX_DEPTH)
        return -ELOOP;
    int fd = openat2_fd(parent, name, O_RDONLY | O_DIRECTORY, RESOLVE_STRICT | RESOLVE_NO_XDEV);
    if (fd == -EXDEV)
        return -EBUSY;                  /* a mount point: never entered, never removed */
    if (fd == -ENOTDIR || fd == -ELOOP) /* swapped for a file or link since the stat: the entry
                                         * itself goes (unlinkat never follows) */
        return unlinkat(parent, name, 0) < 0 && errno != ENOENT ? -errno : 0;
    if (fd < 0)
        return fd == -ENOENT ? 0 : fd;
    DIR *d = fdopendir(fd);
    if (!d) {
        r = -errno;
        close(fd);
        return r;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        int k = rm_at(dirfd(d), e->d_name, depth + 1, budget);
        if (k < 0 && r == 0)
            r = k;
        if (k == -E2BIG)
            break;
    }
    closedir(d);
    if (unlinkat(parent, name, AT_REMOVEDIR) < 0 && errno != ENOENT && r == 0)
        r = -errno;
    return r;
}

int fsb_rm_tree(int dirfd, const char *name)
{
    unsigned budget = RM_MAX_ENTRIES;
    if (fsb_path_check(name) < 0 || strchr(name, '/'))
        return -EINVAL;
    return rm_at(dirfd, name, 0, &budget);
}

int fsb_rm_path(const char *path)
{
    char parent[4096];
    const char *slash = path ? strrchr(path, '/') : NULL;
    _cleanup_close_ int pfd = -EBADF;

    if (!slash || path[0] != '/' || slash[1] == 0 || (size_t)(slash - path) >= sizeof(parent))
        return -EINVAL;
    memcpy(parent, path, (size_t)(slash - path));
    parent[slash == path ? 1 : slash - path] = 0;
    pfd = open(parent, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (pfd < 0)
        return errno == ENOENT ? 0 : -errno;
    return fsb_rm_tree(pfd, slash + 1);
}

const char *fsb_fd_path(int fd, char buf[static 32])
{
    snprintf(buf, 32, "/proc/self/fd/%d", fd);
    return buf;
}
