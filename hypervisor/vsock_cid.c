/* Kernel-mode guest CID lease. Concurrent sandboxes (any number of shim processes) must
 * never get the same CID: each holds an flock on <dir>/<cid> for its VM's life. The scan
 * starts at a point derived from the sandbox id so that concurrent starts rarely contend.
 *
 * The lock file is unlinked on release; a locker that raced with the unlink notices that its
 * fd is no longer the file at the path (inode differs) and moves on. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fd.h"
#include "hv_internal.h"

#define CID_FIRST 3U
#define CID_SPAN 65536U

static int try_lock(const char *dir, uint32_t cid, int *ret_fd)
{
    _cleanup_close_ int fd = -EBADF;
    struct stat a, b;
    char path[4096];
    snprintf(path, sizeof(path), "%s/%u", dir, cid);
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return -errno;
    if (flock(fd, LOCK_EX | LOCK_NB) < 0)
        return -errno == -EWOULDBLOCK ? -EBUSY : -errno;
    if (fstat(fd, &a) < 0 || stat(path, &b) < 0 || a.st_ino != b.st_ino || a.st_dev != b.st_dev)
        return -EBUSY; /* raced with a release that unlinked it */
    *ret_fd = TAKE_FD(fd);
    return 0;
}

static uint32_t seed_hash(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; s && *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

int hv_cid_acquire(const char *dir, uint32_t want, const char *seed, uint32_t *ret_cid,
                   int *ret_lock_fd)
{
    uint32_t start;
    int r = mkdir_p(dir, 0755, 0700);
    if (r < 0)
        return r;
    if (want) {
        if (want < CID_FIRST || want == UINT32_MAX)
            return -EINVAL;
        r = try_lock(dir, want, ret_lock_fd);
        if (r == 0)
            *ret_cid = want;
        return r == -EBUSY ? -EADDRINUSE : r;
    }
    start = seed_hash(seed) % CID_SPAN;
    for (uint32_t i = 0; i < CID_SPAN; i++) {
        uint32_t cid = CID_FIRST + (start + i) % CID_SPAN;
        r = try_lock(dir, cid, ret_lock_fd);
        if (r == 0) {
            *ret_cid = cid;
            return 0;
        }
        if (r != -EBUSY)
            return r;
    }
    return -EADDRINUSE;
}

void hv_cid_release(const char *dir, uint32_t cid, int lock_fd)
{
    char path[4096];
    if (lock_fd < 0)
        return;
    snprintf(path, sizeof(path), "%s/%u", dir, cid);
    (void)unlink(path); /* while still locked: see the header comment */
    close(lock_fd);
}
