/* The pool's slots on disk, the claim client, fill and drain (pool_slot.h). Used by `shim
 * start` and `pool-drain`, short-lived processes that may wait (bounded, poll) for an answer:
 * no event loop runs here. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cleanup.h"
#include "fd.h"
#include "fs_beneath.h"
#include "naming/sha256.h"
#include "pool/pool_slot.h"
#include "sandbox/mounts.h"

extern char **environ;

#define HELLO_WAIT_MS 1000
#define CLAIM_WAIT_MS 3000
/* A warm shim told to exit stops its VM, then leaves its slot, then hangs up (warm.c leave). */
#define EXIT_WAIT_MS 5000

/* The first 16 hex digits of the SHA-256 of the file's content, or "-" when it cannot be
 * read. Streamed: no buffer the size of the file. */
static void config_digest(const char *path, char out[17])
{
    _cleanup_close_ int fd = -EBADF;
    struct sha256 h;
    uint8_t buf[4096], sum[32];
    ssize_t n;
    snprintf(out, 17, "-");
    if (!path || !*path || (fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
        return;
    sha256_init(&h);
    while ((n = read_all(fd, buf, sizeof(buf))) > 0)
        sha256_update(&h, buf, (size_t)n);
    if (n < 0)
        return;
    sha256_final(&h, sum);
    for (int i = 0; i < 8; i++)
        snprintf(out + 2 * i, 3, "%02x", sum[i]);
}

int pool_version(const char *config_path, char *out, size_t n)
{
    struct stat st;
    char cfg[17];
    if (stat("/proc/self/exe", &st) < 0)
        return -errno;
    config_digest(config_path, cfg);
    snprintf(out, n, "exe %llx:%llu:%lld.%09ld cfg %s", (unsigned long long)st.st_dev,
             (unsigned long long)st.st_ino, (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec, cfg);
    return 0;
}

void pool_slot_path(unsigned slot, const char *suffix, char *out, size_t n)
{
    snprintf(out, n, "%s/%u%s", POOL_DIR, slot, suffix);
}

int pool_dir_make(void)
{
    struct stat st;
    int r = mkdir_p(POOL_DIR, 0711, 0700);
    if (r < 0)
        return r;
    if (lstat(POOL_DIR, &st) < 0)
        return -errno;
    if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 0077))
        return -EPERM; /* not ours alone: no socket in it is trusted */
    return 0;
}

static int recv_msg(int fd, int wait_ms, struct pool_msg *m)
{
    _cleanup_free_ uint8_t *buf = malloc(POOL_MSG_MAX);
    struct pollfd p = {.fd = fd, .events = POLLIN};
    ssize_t got;
    int r;
    if (!buf)
        return -ENOMEM;
    r = poll(&p, 1, wait_ms);
    if (r < 0)
        return -errno;
    if (r == 0)
        return -ETIMEDOUT;
    got = recv(fd, buf, POOL_MSG_MAX, MSG_DONTWAIT);
    if (got < 0)
        return -errno;
    if (got == 0)
        return -ECONNRESET;
    return pool_msg_decode(buf, (size_t)got, m);
}

static int send_msg(int fd, const struct pool_msg *m, int pass_fd)
{
    _cleanup_free_ uint8_t *buf = malloc(POOL_MSG_MAX);
    union {
        struct cmsghdr h;
        char b[CMSG_SPACE(sizeof(int))];
    } cm;
    struct msghdr mh = {0};
    struct iovec iov;
    int len;
    if (!buf)
        return -ENOMEM;
    len = pool_msg_encode(m, buf, POOL_MSG_MAX);
    if (len < 0)
        return len;
    iov.iov_base = buf;
    iov.iov_len = (size_t)len;
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    if (pass_fd >= 0) {
        memset(&cm, 0, sizeof(cm));
        mh.msg_control = cm.b;
        mh.msg_controllen = sizeof(cm.b);
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
    }
    return sendmsg(fd, &mh, MSG_NOSIGNAL) == len ? 0 : -errno;
}

static int connect_slot(unsigned slot)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    _cleanup_close_ int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    pool_slot_path(slot, ".sock", sa.sun_path, sizeof(sa.sun_path));
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        return -errno;
    return TAKE_FD(fd);
}

/* Wait (bounded) until every fd in fds hung up: their warm shims have left their slots, so
 * a fill that follows finds them free. */
static void wait_hangups(const int *fds, size_t n)
{
    struct pollfd p[CFG_POOL_SIZE_MAX];
    long long deadline = (long long)(now_ns() / 1000000ull) + EXIT_WAIT_MS;
    size_t left = 0;
    for (size_t i = 0; i < n && i < CFG_POOL_SIZE_MAX; i++)
        p[left++] = (struct pollfd){.fd = fds[i], .events = POLLRDHUP};
    while (left > 0) {
        long long ms = deadline - (long long)(now_ns() / 1000000ull);
        int r = ms > 0 ? poll(p, left, (int)ms) : 0;
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return;
        for (size_t i = 0; i < left;) {
            char b;
            /* a hang-up, or anything at all: that shim is done with us */
            if (p[i].revents && (p[i].revents & (POLLRDHUP | POLLHUP | POLLERR) ||
                                 recv(p[i].fd, &b, 1, MSG_DONTWAIT) <= 0))
                p[i] = p[--left];
            else
                i++;
        }
    }
}

/* Connect and read the HELLO (into *m): the connected fd with *stale set when its version is
 * not ours (an EXIT has been sent then), or -errno. */
static int hello(unsigned slot, const char *version, struct pool_msg *m, bool *stale)
{
    _cleanup_close_ int fd = connect_slot(slot);
    int r;
    if (fd < 0)
        return fd;
    r = recv_msg(fd, HELLO_WAIT_MS, m);
    if (r < 0)
        return r;
    if (m->type != POOL_MSG_HELLO)
        return -EPROTO;
    *stale = strcmp(m->version, version) != 0;
    if (*stale) {
        struct pool_msg ex = {.type = POOL_MSG_EXIT};
        if (send_msg(fd, &ex, -1) == 0)
            wait_hangups(&fd, 1);
    }
    return TAKE_FD(fd);
}

int pool_claim(const struct pool_msg *claim, int listen_fd, unsigned size, char *why, size_t n)
{
    int last = -ENOENT;
    snprintf(why, n, "no warm VM in the pool");
    for (unsigned slot = 0; slot < size && slot < CFG_POOL_SIZE_MAX; slot++) {
        bool stale = false;
        struct pool_msg m;
        _cleanup_close_ int fd = hello(slot, claim->version, &m, &stale);
        int r;
        if (fd < 0)
            continue; /* booting, taken, or dead: the next one */
        if (stale) {
            /* versions are "exe ... cfg ...": the same exe part means another config */
            const char *cfg = strstr(claim->version, " cfg ");
            size_t exe = cfg ? (size_t)(cfg - claim->version) : strlen(claim->version);
            bool same_exe = strncmp(m.version, claim->version, exe) == 0 &&
                            strncmp(m.version + exe, " cfg ", 5) == 0;
            snprintf(why, n, "slot %u %s (told to exit)", slot,
                     same_exe ? "booted from another runtime config"
                              : "runs another build of the shim");
            last = -ESTALE;
            continue;
        }
        r = send_msg(fd, claim, listen_fd);
        if (r == 0)
            r = recv_msg(fd, CLAIM_WAIT_MS, &m);
        if (r == -ETIMEDOUT) {
            /* Past this shutdown the warm shim's OK cannot be sent (EPIPE) and it gives up the
             * claim; an OK queued before it still counts. */
            (void)shutdown(fd, SHUT_RD);
            r = recv_msg(fd, 0, &m);
        }
        if (r < 0) {
            snprintf(why, n, "slot %u: claim failed: %s", slot, strerror(-r));
            last = r;
            continue;
        }
        if (m.type == POOL_MSG_OK) {
            /* the warm shim hangs up once it has left its slot: wait for that (bounded), so
             * the refill that follows finds the slot free */
            struct pollfd p = {.fd = fd, .events = POLLRDHUP};
            (void)poll(&p, 1, CLAIM_WAIT_MS);
            return (int)slot;
        }
        snprintf(why, n, "slot %u refused: %s", slot,
                 m.type == POOL_MSG_ERR ? m.message : "unexpected answer");
        last = -EBUSY;
    }
    return last;
}

/* A free slot's leftovers (a warm shim that died: kill -9, OOM, a crash) go: its mounts (the
 * share, the netns bind mount) and files. Its QEMU and helpers died with it (PDEATHSIG). */
static void sweep(unsigned slot)
{
    char p[PATH_MAX];
    pool_slot_path(slot, "", p, sizeof(p));
    for (int i = 0; i < 4 && mnt_umount_tree(p) > 0; i++)
        ;
    (void)fsb_rm_path(p);
    pool_slot_path(slot, ".sock", p, sizeof(p));
    (void)unlink(p);
    pool_slot_path(slot, ".log", p, sizeof(p));
    (void)unlink(p);
}

static int spawn_warm(unsigned slot, int lock_fd, const char *config_path, bool debug)
{
    char self[PATH_MAX], slot_s[16], logp[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    pid_t pid;
    if (n < 0)
        return -errno;
    self[n] = 0;
    snprintf(slot_s, sizeof(slot_s), "%u", slot);
    pool_slot_path(slot, ".log", logp, sizeof(logp));
    char *argv[] = {
        self, "pool-warm", slot_s, (char *)(config_path ? config_path : ""), debug ? "debug" : NULL,
        NULL};
    pid = fork();
    if (pid < 0)
        return -errno;
    if (pid == 0) {
        int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
        int log = open(logp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (nul < 0 || log < 0 || setsid() < 0 || dup2(nul, 0) < 0 || dup2(log, 1) < 0 ||
            dup2(log, 2) < 0 || (lock_fd == 3 ? fd_set_cloexec(3, 0) : dup2(lock_fd, 3)) < 0)
            _exit(127);
        fd_close_all_except(4, NULL, 0);
        unsetenv("CVM_POOL_ORIGIN"); /* the cold path's note of the start that fills */
        execve(self, argv, environ);
        _exit(127);
    }
    return 0;
}

int pool_fill(unsigned size, const char *config_path, bool debug)
{
    int started = 0, r;
    if ((r = pool_dir_make()) < 0)
        return r;
    for (unsigned slot = 0; slot < CFG_POOL_SIZE_MAX; slot++) {
        char p[PATH_MAX];
        _cleanup_close_ int fd = -EBADF;
        pool_slot_path(slot, ".lock", p, sizeof(p));
        /* beyond size only existing slots matter (a pool made smaller) */
        fd = open(p, O_RDWR | O_CLOEXEC | O_NOFOLLOW | (slot < size ? O_CREAT : 0), 0600);
        if (fd < 0 && errno == ENOENT && slot >= size)
            continue;
        if (fd < 0)
            return -errno;
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
            if (errno != EWOULDBLOCK)
                return -errno;
            if (slot >= size) { /* a live warm shim beyond the configured size */
                struct pool_msg ex = {.type = POOL_MSG_EXIT};
                _cleanup_close_ int c = connect_slot(slot);
                if (c >= 0)
                    (void)send_msg(c, &ex, -1);
            }
            continue;
        }
        sweep(slot);
        if (slot >= size)
            continue;
        if (spawn_warm(slot, fd, config_path, debug) == 0)
            started++;
    }
    return started;
}

int pool_drain(void)
{
    int told = 0, fds[CFG_POOL_SIZE_MAX];
    for (unsigned slot = 0; slot < CFG_POOL_SIZE_MAX; slot++) {
        struct pool_msg ex = {.type = POOL_MSG_EXIT}, m;
        char p[PATH_MAX];
        _cleanup_close_ int fd = connect_slot(slot), lock = -EBADF;
        /* the HELLO first: the warm shim has taken this connection, so the EXIT is read */
        if (fd >= 0 && recv_msg(fd, HELLO_WAIT_MS, &m) == 0 && m.type == POOL_MSG_HELLO &&
            send_msg(fd, &ex, -1) == 0) {
            fds[told++] = TAKE_FD(fd); /* it removes its own slot as it leaves */
            continue;
        }
        /* a slot whose warm shim is dead (lock free): swept now, not at the next fill */
        pool_slot_path(slot, ".lock", p, sizeof(p));
        lock = open(p, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
        if (lock >= 0 && flock(lock, LOCK_EX | LOCK_NB) == 0)
            sweep(slot);
    }
    /* every one told leaves its slot before this returns (bounded): a drain followed by a
     * fill (make install, then the next start) finds the slots free */
    wait_hangups(fds, (size_t)told);
    for (int i = 0; i < told; i++)
        close(fds[i]);
    return told;
}

static unsigned long counter(const char *name)
{
    char p[PATH_MAX];
    struct stat st;
    snprintf(p, sizeof(p), "%s/%s", POOL_DIR, name);
    return stat(p, &st) == 0 ? (unsigned long)st.st_size : 0;
}

void pool_count(const char *name)
{
    char p[PATH_MAX];
    _cleanup_close_ int fd = -EBADF;
    snprintf(p, sizeof(p), "%s/%s", POOL_DIR, name);
    fd = open(p, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd >= 0)
        (void)!write(fd, "1", 1);
}

void pool_status_read(struct pool_status *st)
{
    memset(st, 0, sizeof(*st));
    for (unsigned slot = 0; slot < CFG_POOL_SIZE_MAX; slot++) {
        char p[PATH_MAX];
        struct stat sb;
        _cleanup_close_ int fd = -EBADF;
        pool_slot_path(slot, ".lock", p, sizeof(p));
        fd = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
            continue;
        if (flock(fd, LOCK_SH | LOCK_NB) == 0)
            continue; /* free: nobody warm there */
        pool_slot_path(slot, ".sock", p, sizeof(p));
        if (stat(p, &sb) == 0)
            st->warm++;
        else
            st->booting++;
    }
    st->claimed = counter("claimed");
    st->failures = counter("failures");
}
