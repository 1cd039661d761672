/* A sandbox's uid lease (uid_range.h), shared by every shim of the node.
 *
 * A uid U is leased by an exclusive flock on <dir>/<U> (dir: root's, 0700). The shim keeps
 * the lock fd for the VM's life and hands the same open file description to QEMU and
 * cvm-vsockd (inherited fds): the flock is held while any of them lives, so a shim crash
 * neither leaks the uid (the lock goes with its last holder) nor frees it early (a QEMU that
 * outlives its shim still holds it). The lock files are never unlinked: a release is the
 * close of the last fd, with no unlink/re-create race to reason about (at most one empty
 * file per uid of the range, on tmpfs).
 *
 * The lock is advisory and a subverted holder could drop it (LOCK_UN on its copy). So a uid
 * is taken only when, with its lock held, no process of the host has it as real,
 * effective, saved or filesystem uid (/proc/<pid>/status): a process of uid U can only be
 * made by a holder of U's lock or by another process of uid U, which the scan sees. */
#define LOG_MODULE "hv"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fd.h"
#include "hv_internal.h"
#include "log.h"
#include "uid_range.h"

#define UID_LOCK_DIR_DEFAULT "/run/cvm/uids"

/* The lock dir: made 0700 when missing (parents 0755), then it must be a real directory of
 * root's that nobody else may write: the locks are only as good as the dir. */
static int open_dir(const char *dir, int *ret_fd)
{
    _cleanup_close_ int fd = -EBADF;
    struct stat st;
    int r;
    if (dir[0] != '/')
        return -EINVAL;
    r = mkdir_p(dir, 0755, 0700);
    if (r < 0)
        return r;
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) < 0)
        return -errno;
    if (st.st_uid != geteuid() || (st.st_mode & 022))
        return -EPERM;
    *ret_fd = TAKE_FD(fd);
    return 0;
}

/* Does any process have uid? 1, 0 or -errno. Processes that vanish meanwhile are skipped. */
static int uid_in_use(uint32_t uid)
{
    _cleanup_(closedirp) DIR *d = opendir("/proc");
    struct dirent *e;
    char path[64], buf[4096];
    if (!d)
        return -errno;
    while ((e = readdir(d))) {
        _cleanup_close_ int fd = -EBADF;
        ssize_t n;
        if (e->d_name[0] < '1' || e->d_name[0] > '9')
            continue;
        snprintf(path, sizeof(path), "/proc/%s/status", e->d_name);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        n = read(fd, buf, sizeof(buf) - 1);
        if (n <= 0)
            continue;
        if (uid_range_status_has_uid(buf, (size_t)n, uid) == 1)
            return 1;
    }
    return 0;
}

/* 0 with the lock fd, -EBUSY when someone holds it or a process has the uid, or -errno. */
static int try_uid(int dfd, uint32_t uid, int *ret_fd)
{
    _cleanup_close_ int fd = -EBADF;
    char name[16];
    struct stat st;
    int r;
    snprintf(name, sizeof(name), "%u", uid);
    /* Read-only: the children that inherit it cannot write the file. */
    fd = openat(dfd, name, O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) < 0)
        return -errno;
    if (!S_ISREG(st.st_mode) || st.st_uid != geteuid())
        return -EPERM;
    if (flock(fd, LOCK_EX | LOCK_NB) < 0)
        return errno == EWOULDBLOCK ? -EBUSY : -errno;
    r = uid_in_use(uid);
    if (r < 0)
        return r;
    if (r > 0) {
        log_warn("uid %u is free by its lock but a process still runs as it: skipped", uid);
        return -EBUSY;
    }
    *ret_fd = TAKE_FD(fd);
    return 0;
}

int hv_uid_acquire(const char *dir, uint32_t first, uint32_t last, const char *seed,
                   uint32_t *ret_uid, int *ret_lock_fd)
{
    _cleanup_close_ int dfd = -EBADF;
    struct uid_range range = {first, last};
    uint32_t s = uid_range_seed(seed);
    uint64_t n;
    int r;

    if (first == 0 || first > last || last == UINT32_MAX)
        return -EINVAL;
    r = open_dir(dir ? dir : UID_LOCK_DIR_DEFAULT, &dfd);
    if (r < 0)
        return r;
    n = uid_range_size(&range);
    for (uint64_t i = 0; i < n; i++) {
        uint32_t uid = uid_range_nth(&range, s, i);
        r = try_uid(dfd, uid, ret_lock_fd);
        if (r == 0) {
            *ret_uid = uid;
            return 0;
        }
        if (r != -EBUSY)
            return r;
    }
    return -EUSERS;
}
