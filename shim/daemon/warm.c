/* A warm shim (README "Warm VM pool"): `pool-warm <slot> <config>`, started by a `shim start`
 * that found the pool short (pool_fill), with its slot's lock as fd 3. It boots a VM exactly as
 * a cold sandbox's first Create would (sandbox_new: run dir, share, a fresh netns, uid lease,
 * QEMU, virtiofsd and cvm-vsockd as its children) at SCHED_IDLE, then waits on its control
 * socket. A claim (pool_wire.h) makes it the new sandbox's shim: the run dir is renamed to the
 * sandbox's, the slot is given up (the next `start` refills it), its processes go back to
 * normal priority, and it serves containerd on the listening socket `start` passed, through
 * the same shim_serve as a cold shim. A warm shim that is told to exit, loses its VM or is
 * signalled removes its slot and exits; one killed outright leaves the slot to the next
 * filler's sweep (its VM's processes die with it: PDEATHSIG). */
#define LOG_MODULE "pool"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cleanup.h"
#include "cli/cmd.h"
#include "daemon/reaper.h"
#include "daemon/serve.h"
#include "sandbox/code_cache_reset.h"
#include "daemon/warm_rehearse.h"
#include "sandbox/idle_reclaim.h"
#include "fd.h"
#include "fs_beneath.h"
#include "hv.h"
#include "hv_proc.h"
#include "log.h"
#include "loop.h"
#include "naming/address.h"
#include "pool/pool_slot.h"
#include "pool/pool_wire.h"
#include "sandbox/assets.h"
#include "sandbox/mounts.h"
#include "task/model.h"
#include "task/config_load.h"
#include "task/service.h"

#define LOCK_FD 3
#define LISTEN_FD 3

struct warm {
    struct shim s;
    unsigned slot;
    char slot_dir[PATH_MAX], sock_path[PATH_MAX], log_path[PATH_MAX];
    char version[160];
    int lock_fd, ctl_fd, listen_fd;
    struct loop_source *ctl_src, *conn_src;
    int conn_fd;
    bool claimed;
    bool debug;
    bool rehearse;                         /* the config's pool.rehearse */
    unsigned long long rehearsal_start_ns; /* when the rehearsal began (log) */
    unsigned long long reset_start_ns;     /* when the code cache reset began (log) */
};

/* Every thread of pid to policy (SCHED_IDLE while warm, SCHED_OTHER once claimed). */
static void sched_all_threads(pid_t pid, int policy)
{
    char path[64];
    struct sched_param sp = {0};
    _cleanup_closedir_ DIR *d = NULL;
    struct dirent *e;
    snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
    d = opendir(path);
    while (d && (e = readdir(d))) {
        long tid;
        if (e->d_name[0] == '.' || parse_long(e->d_name, 1, INT32_MAX, &tid) < 0)
            continue;
        (void)sched_setscheduler((pid_t)tid, policy, &sp);
    }
}

/* pid and every process below it (QEMU, cvm-vsockd, virtiofsd and the worker it forks) to
 * policy: /proc/<pid>/task/<tid>/children, depth-bounded. */
static void sched_tree(pid_t pid, int policy, unsigned depth)
{
    char path[64], buf[4096];
    _cleanup_closedir_ DIR *d = NULL;
    struct dirent *e;
    sched_all_threads(pid, policy);
    if (depth == 0)
        return;
    snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
    d = opendir(path);
    while (d && (e = readdir(d))) {
        char cp[96];
        _cleanup_close_ int fd = -EBADF;
        ssize_t n;
        if (e->d_name[0] == '.')
            continue;
        snprintf(cp, sizeof(cp), "/proc/%d/task/%.20s/children", (int)pid, e->d_name);
        fd = open(cp, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || (n = read(fd, buf, sizeof(buf) - 1)) <= 0)
            continue;
        buf[n] = 0;
        char *save = NULL; /* reentrant: the recursion tokenises its own buffer */
        for (char *t = strtok_r(buf, " \n", &save); t; t = strtok_r(NULL, " \n", &save)) {
            long c;
            if (parse_long(t, 1, INT32_MAX, &c) == 0)
                sched_tree((pid_t)c, policy, depth - 1);
        }
    }
}

static void raise_priority(struct warm *w)
{
    (void)w;
    sched_tree(getpid(), SCHED_OTHER, 4);
}

static int send_packet(int fd, const struct pool_msg *m)
{
    uint8_t buf[POOL_MSG_MAX];
    int len = pool_msg_encode(m, buf, sizeof(buf));
    if (len < 0)
        return len;
    return send(fd, buf, (size_t)len, MSG_NOSIGNAL | MSG_DONTWAIT) == len ? 0 : -errno;
}

__attribute__((format(printf, 2, 3))) static void reply_err(struct warm *w, const char *fmt, ...)
{
    struct pool_msg m = {.type = POOL_MSG_ERR};
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m.message, sizeof(m.message), fmt, ap);
    va_end(ap);
    log_warn("claim refused: %s", m.message);
    (void)send_packet(w->conn_fd, &m);
}

static void drop_conn(struct warm *w)
{
    w->conn_src = loop_source_free(w->conn_src);
    w->conn_fd = safe_close(w->conn_fd);
}

/* The slot is given up: its socket, log and lock go (the next `start` refills it). */
static void leave_slot(struct warm *w)
{
    w->ctl_src = loop_source_free(w->ctl_src);
    w->ctl_fd = safe_close(w->ctl_fd);
    (void)unlink(w->sock_path);
    (void)unlink(w->log_path);
    w->lock_fd = safe_close(w->lock_fd);
}

/* Everything checked, the claimer told OK: the VM becomes the sandbox's. */
static int commit_claim(struct warm *w, const struct pool_msg *c, const char *run_dir,
                        const char *group)
{
    int r;
    if (rename(w->slot_dir, run_dir) < 0)
        return -errno;
    r = sandbox_rebase(w->s.sb, group, run_dir);
    if (r < 0)
        return r;
    snprintf(w->s.sb->origin, sizeof(w->s.sb->origin), "pool: claimed slot %u", w->slot);
    w->s.sb->pooled = true;
    sandbox_hold_idle_reclaim(w->s.sb, false); /* the pod's now: as a cold VM's */
    w->s.sb->owner = &task_sandbox_owner;
    leave_slot(w);
    raise_priority(w);
    sandbox_heartbeat_pause(w->s.sb, false);
    pool_count("claimed");
    snprintf(w->s.ns, sizeof(w->s.ns), "%s", c->ns);
    snprintf(w->s.id, sizeof(w->s.id), "%s", c->id);
    snprintf(w->s.address, sizeof(w->s.address), "%s", c->address);
    snprintf(w->s.bundle, sizeof(w->s.bundle), "%s", c->bundle);
    if (c->ttrpc_address[0])
        setenv("TTRPC_ADDRESS", c->ttrpc_address, 1);
    w->debug = w->debug || c->debug;
    w->claimed = true;
    return 0;
}

static void handle_claim(struct warm *w, const struct pool_msg *c, int listen_fd)
{
    char group[256], hash[65], run_dir[128];
    struct stat st;
    int r;

    if (strcmp(c->version, w->version) != 0)
        return reply_err(w, "version %s is not mine", c->version);
    if (!w->s.sb || w->s.sb->state != SB_READY)
        return reply_err(w, "%s", "the VM is not ready");
    if (!shim_valid_identifier(c->ns) || !shim_valid_identifier(c->id) || c->bundle[0] != '/' ||
        !c->address[0])
        return reply_err(w, "%s", "invalid claim");
    if (listen_fd < 0)
        return reply_err(w, "%s", "no listening socket passed");
    if (chdir(c->bundle) < 0)
        return reply_err(w, "bundle: %s", strerror(errno));
    if (shim_group_from_bundle(c->bundle, c->id, group, sizeof(group)) < 0)
        return reply_err(w, "%s", "bundle config.json unreadable");
    shim_group_hash(c->address, c->ns, group, hash);
    shim_run_dir(hash, run_dir, sizeof(run_dir));
    if (lstat(run_dir, &st) == 0)
        return reply_err(w, "run dir %s exists", run_dir);
    /* OK first: a claimer that gave up (timeout, shutdown) makes this fail with EPIPE and
     * nothing has changed yet; once it is sent the claim is the claimer's. */
    struct pool_msg ok = {.type = POOL_MSG_OK};
    r = send_packet(w->conn_fd, &ok);
    if (r < 0) {
        log_warn("claim abandoned by the claimer: %s", strerror(-r));
        return;
    }
    r = commit_claim(w, c, run_dir, group);
    if (r == 0 && dup2(listen_fd, LISTEN_FD) < 0)
        r = -errno;
    if (r < 0) {
        /* the claimer prints our address: the sandbox's first Create finds a dead VM */
        log_error("claim of slot %u failed after OK: %s", w->slot, strerror(-r));
        if (w->s.sb)
            sandbox_kill_vm(w->s.sb, "pooled VM: the claim failed");
        w->claimed = true;
    }
    log_info("claimed by %s/%s (bundle %s)", c->ns, c->id, c->bundle);
    loop_quit(w->s.loop, 0);
}

static void conn_cb(struct loop_source *src, int fd, uint32_t revents, void *data)
{
    struct warm *w = data;
    uint8_t buf[POOL_MSG_MAX];
    union {
        struct cmsghdr h;
        char b[CMSG_SPACE(sizeof(int) * 4)];
    } cm;
    struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
    struct msghdr mh = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.b, .msg_controllen = sizeof(cm.b)};
    struct pool_msg m;
    _cleanup_close_ int passed = -EBADF;
    ssize_t n;
    (void)src;
    (void)revents;

    n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            int *fds = (int *)CMSG_DATA(c);
            for (size_t i = 0; i < k; i++) {
                if (i == 0 && passed < 0)
                    passed = fds[i];
                else
                    safe_close(fds[i]);
            }
        }
    if (n <= 0 || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ||
        pool_msg_decode(buf, (size_t)n, &m) < 0) {
        drop_conn(w);
        return;
    }
    if (m.type == POOL_MSG_EXIT) {
        /* the connection stays open until the slot is left (leave): the hang-up tells the
         * drainer or claimer the slot is free */
        log_info("told to exit (a drain, another build of the shim or another runtime config)");
        loop_quit(w->s.loop, 0);
        return;
    }
    if (m.type == POOL_MSG_CLAIM)
        handle_claim(w, &m, passed);
    /* after a claim this hang-up tells the claimer the slot is given up (its lock closed), so
     * its refill finds the slot free */
    drop_conn(w);
}

static void ctl_cb(struct loop_source *src, int fd, uint32_t revents, void *data)
{
    struct warm *w = data;
    struct pool_msg hello = {.type = POOL_MSG_HELLO};
    int c;
    (void)src;
    (void)revents;
    c = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (c < 0)
        return;
    if (w->claimed) {
        close(c);
        return;
    }
    /* one peer at a time, the newest: one that connected and went quiet must not keep a
     * drain's EXIT or the next claim out (a claimer dropped here sees the hang-up and tries
     * the next slot) */
    if (w->conn_fd >= 0) {
        log_warn("slot %u: a control connection went quiet: replaced by a new one", w->slot);
        drop_conn(w);
    }
    w->conn_fd = c;
    snprintf(hello.version, sizeof(hello.version), "%s", w->version);
    /* a drain sends EXIT and hangs up without reading: the HELLO then fails (EPIPE) but the
     * EXIT is still queued for conn_cb */
    (void)send_packet(c, &hello);
    if (loop_add_io(w->s.loop, c, EPOLLIN, conn_cb, w, &w->conn_src) < 0)
        drop_conn(w);
}

static int ctl_listen(struct warm *w)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    _cleanup_close_ int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -errno;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", w->sock_path);
    (void)unlink(w->sock_path);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(w->sock_path, 0600) < 0 ||
        listen(fd, 8) < 0)
        return -errno;
    int r = loop_add_io(w->s.loop, fd, EPOLLIN, ctl_cb, w, &w->ctl_src);
    if (r < 0)
        return r;
    w->ctl_fd = TAKE_FD(fd);
    return 0;
}

static struct warm *the_warm; /* the owner callbacks carry the sandbox only */

/* The VM is offered: its control socket bound. */
static void warm_offer(struct warm *w)
{
    int r = ctl_listen(w);
    if (r < 0) {
        log_error("control socket %s: %s", w->sock_path, strerror(-r));
        pool_count("failures");
        loop_quit(w->s.loop, 1);
        return;
    }
    log_info("slot %u warm: offered", w->slot);
}

/* The translation cache's dead pages given back (hv_trim_code_cache): offered either way. */
static void warm_trimmed(struct hv_vm *vm, int r, const char *msg, uint64_t bytes, void *data)
{
    struct warm *w = data;
    (void)vm;
    if (r == -ECANCELED) /* the VM is gone: vm_died says why */
        return;
    if (r < 0)
        log_warn("slot %u: translation cache kept whole: %s", w->slot, msg ? msg : strerror(-r));
    else
        log_info("slot %u: translation cache trimmed: %llu KiB given back", w->slot,
                 (unsigned long long)bytes >> 10);
    warm_offer(w);
}

/* Rehearsed (warm_rehearse.h): the cache's dead pages go, then the VM is offered. */
static void warm_rehearsed(struct sandbox *sb, int r, const char *msg, void *data)
{
    struct warm *w = data;
    struct cvm_err err = {0};
    if (r == -ECANCELED) /* the sandbox went: the owner's vm_died/leave say why */
        return;
    if (r < 0) {
        log_error("slot %u: the warm VM failed its rehearsal, not offered: %s", w->slot,
                  msg ? msg : strerror(-r));
        pool_count("failures");
        loop_quit(w->s.loop, 1);
        return;
    }
    if (w->rehearse)
        log_info("slot %u warm: VM ready (qemu pid %d), container path rehearsed in %llu ms",
                 w->slot, (int)sb->qemu_pid, (now_ns() - w->rehearsal_start_ns) / 1000000ull);
    else
        log_info("slot %u warm: VM ready (qemu pid %d), not rehearsed (pool.rehearse is false)",
                 w->slot, (int)sb->qemu_pid);
    r = hv_trim_code_cache(sandbox_vm(sb), warm_trimmed, w, &err);
    if (r == -EOPNOTSUPP)
        log_info("slot %u: translation cache not trimmed: %s", w->slot, err.msg);
    else if (r < 0)
        log_warn("slot %u: translation cache kept whole: %s", w->slot, err.msg);
    if (r < 0)
        warm_offer(w);
}

/* The translation cache emptied (code_cache_reset.h): the rehearsal, when configured. */
static void warm_cache_reset(struct sandbox *sb, int r, const char *msg,
                             const struct code_cache_reset_result *res, void *data)
{
    struct warm *w = data;
    if (r == -ECANCELED)
        return;
    if (r < 0) /* a VM that cannot do this is still sound: the rehearsal checks that */
        log_warn("slot %u: translation cache not reset, the claimed sandbox starts with the "
                 "boot's code in it: %s",
                 w->slot, msg ? msg : strerror(-r));
    else if (res->skipped)
        log_info("slot %u: no translation cache to reset (KVM)", w->slot);
    else
        log_info("slot %u: translation cache reset in %llu ms: flushed after %u calls, %u rounds "
                 "of fresh code; %llu of %llu KiB in use",
                 w->slot, (now_ns() - w->reset_start_ns) / 1000000ull, res->calls, res->rounds,
                 (unsigned long long)res->used_after >> 10,
                 (unsigned long long)res->capacity >> 10);
    if (!w->rehearse) {
        warm_rehearsed(sb, 0, NULL, w);
        return;
    }
    w->rehearsal_start_ns = now_ns();
    r = warm_rehearse(sb, warm_rehearsed, w);
    if (r < 0) {
        log_error("slot %u: rehearsal: %s", w->slot, strerror(-r));
        pool_count("failures");
        loop_quit(w->s.loop, 1);
    }
}

static void warm_ready(struct sandbox *sb)
{
    struct warm *w = the_warm;
    int r;
    task_sandbox_owner.ready(sb);
    sandbox_heartbeat_pause(sb, true);
    /* the VM's processes stay at SCHED_IDLE, the shim itself answers claims and drains at
     * once however busy the host is (it only waits on its loop) */
    sched_all_threads(getpid(), SCHED_OTHER);
    w->reset_start_ns = now_ns();
    r = code_cache_reset(sb, warm_cache_reset, w);
    if (r < 0)
        warm_cache_reset(sb, r, NULL, NULL, w);
}

static void warm_vm_died(struct sandbox *sb)
{
    log_error("slot %u: the warm VM died: %s", the_warm->slot, sb->dead_reason);
    pool_count("failures");
    loop_quit(the_warm->s.loop, 1);
}

static void warm_freeing(struct sandbox *sb)
{
    task_sandbox_owner.freeing(sb);
}

static const struct sandbox_owner warm_owner = {
    .ready = warm_ready,
    .vm_died = warm_vm_died,
    .freeing = warm_freeing,
};

/* A boot that fails never reaches the owner's ready: counted and the warm shim leaves. */
static void warm_boot_done(struct sandbox *sb, int r, const char *msg, void *data)
{
    struct warm *w = data;
    (void)sb;
    if (r == 0)
        return;
    log_error("slot %u: the warm VM did not boot: %s", w->slot, msg ? msg : strerror(-r));
    pool_count("failures");
    loop_quit(w->s.loop, 1);
}

static void on_signal(struct loop_source *src, const struct signalfd_siginfo *si, void *data)
{
    struct warm *w = data;
    (void)src;
    log_info("signal %u: leaving the pool", si->ssi_signo);
    loop_quit(w->s.loop, 0);
}

/* Not claimed: the VM goes, then every file of the slot; the lock last. */
static int leave(struct warm *w, struct reaper *reaper, int status)
{
    if (w->s.sb)
        sandbox_free(w->s.sb);
    w->s.sb = NULL;
    (void)hv_proc_reap_orphans(w->s.loop, 2000);
    for (int i = 0; i < 4 && mnt_umount_tree(w->slot_dir) > 0; i++)
        ;
    (void)fsb_rm_path(w->slot_dir);
    leave_slot(w);
    drop_conn(w); /* after the slot is given up: see the EXIT in conn_cb */
    reaper_free(reaper);
    loop_free(w->s.loop);
    return status;
}

int cmd_pool_warm(int argc, char **argv)
{
    static struct warm w = {.lock_fd = -1, .ctl_fd = -1, .listen_fd = -1, .conn_fd = -1};
    struct loop_source *sig_term = NULL, *sig_int = NULL;
    struct reaper *reaper = NULL;
    struct cvm_err err = {0};
    struct sched_param sp = {0};
    struct cfg cfg;
    long slot;
    char group[32];
    int r, status;

    if (argc < 4 || parse_long(argv[2], 0, CFG_POOL_SIZE_MAX - 1, &slot) < 0) {
        fprintf(stderr, "usage: %s pool-warm <slot> <config path or \"\"> [debug]\n", SHIM_NAME);
        return 2;
    }
    the_warm = &w;
    w.slot = (unsigned)slot;
    /* off fd 3: a claim puts the sandbox's listening socket there, and the lock must stay held
     * until the run dir has left the slot */
    w.lock_fd = fcntl(LOCK_FD, F_DUPFD_CLOEXEC, 10);
    int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (w.lock_fd < 0 || nul < 0 || dup3(nul, LOCK_FD, O_CLOEXEC) < 0)
        return 1;
    close(nul); /* fd 3 stays taken (by /dev/null) until the claim's dup2 puts the socket there */
    w.debug = argc > 4 && strcmp(argv[4], "debug") == 0;
    pool_slot_path(w.slot, "", w.slot_dir, sizeof(w.slot_dir));
    pool_slot_path(w.slot, ".sock", w.sock_path, sizeof(w.sock_path));
    pool_slot_path(w.slot, ".log", w.log_path, sizeof(w.log_path));
    snprintf(group, sizeof(group), "pool-%u", w.slot);
    log_set_fd(2);
    log_set_ident(group);
    if (w.debug)
        log_set_level(LOG_LVL_DEBUG);
    signal(SIGPIPE, SIG_IGN);
    (void)prctl(PR_SET_CHILD_SUBREAPER, 1);
    /* the refill never competes with a starting sandbox: SCHED_IDLE, inherited by QEMU and
     * its helpers, which keep it until the claim (the shim leaves it once the VM is up) */
    (void)sched_setscheduler(0, SCHED_IDLE, &sp);
    if (pool_version(argv[3], w.version, sizeof(w.version)) < 0)
        return 1;
    TAILQ_INIT(&w.s.ops);
    snprintf(w.s.id, sizeof(w.s.id), "%s", group);
    if (loop_new(&w.s.loop) < 0)
        return 1;
    if ((r = reaper_new(w.s.loop, &reaper)) < 0 ||
        (r = loop_add_signal(w.s.loop, SIGTERM, on_signal, &w, &sig_term)) < 0 ||
        (r = loop_add_signal(w.s.loop, SIGINT, on_signal, &w, &sig_int)) < 0) {
        log_error("setup: %s", strerror(-r));
        pool_count("failures");
        return leave(&w, reaper, 1);
    }
    r = task_config_load(argv[3], &cfg, &err);
    /* at SCHED_IDLE on a busy host the guest may print late: the console deadline is the boot
     * deadline for a warm boot (a claimed VM is past both) */
    if (r == 0 && !cfg.console_deadline_ms)
        cfg.console_deadline_ms = cfg.boot_deadline_ms;
    w.rehearse = !cfg.pool_no_rehearsal;
    cfg.tcg_cache_mib = cfg.pool_tcg_cache_mib;
    cfg.tcg_trimmable = true;
    if (r == 0)
        r = assets_resolve(&cfg, &err);
    if (r == 0)
        r = sandbox_new(&w.s, w.s.loop, &warm_owner, group, w.slot_dir, &cfg, NULL, NULL, &w.s.sb,
                        &err);
    if (r < 0) {
        log_error("slot %u: boot: %s", w.slot, err.msg);
        pool_count("failures");
        loop_source_free(sig_term);
        loop_source_free(sig_int);
        return leave(&w, reaper, 1);
    }
    sandbox_hold_idle_reclaim(w.s.sb, true);
    sandbox_when_ready(w.s.sb, warm_boot_done, &w);
    log_info("slot %u: booting a warm VM (%u vCPU, %u MiB)", w.slot, cfg.vcpus, cfg.memory_mib);
    status = loop_run(w.s.loop);
    loop_source_free(sig_term);
    loop_source_free(sig_int);
    if (!w.claimed)
        return leave(&w, reaper, status);
    drop_conn(&w);
    loop_resume(w.s.loop); /* the claim quit the warm loop: the same loop serves on */
    return shim_serve(&w.s, w.debug, reaper);
}

int cmd_pool_drain(void)
{
    int n = pool_drain();
    if (n < 0) {
        fprintf(stderr, "%s: pool-drain: %s\n", SHIM_NAME, strerror(-n));
        return 1;
    }
    printf("told %d warm shim(s) to exit\n", n);
    return 0;
}
