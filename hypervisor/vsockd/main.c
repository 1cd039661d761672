/* cvm-vsockd: vhost-user-vsock back end mapping guest vsock ports to unix sockets.
 *
 *   cvm-vsockd --vhost-user-socket PATH --uds-path PATH --guest-cid CID
 *              [--root DIR] [--uid N --gid N] [--debug]
 *
 * With --root (as root): first a private mount namespace whose "/" is DIR (sandbox.h), and
 * both PATHs are seen from there (e.g. /vsock.sock: DIR/vsock.sock on the host). Listens on
 * both sockets, becomes --uid/--gid (as root), drops every privilege, prints "READY\n" on
 * stdout and closes it, then serves one QEMU connection and exits when QEMU hangs up. */
#define LOG_MODULE "vsockd"
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "fd.h"
#include "log.h"
#include "sandbox.h"
#include "vsockd.h"

struct opts {
    const char *vu_path;
    const char *uds_path;
    const char *root;
    uint64_t cid;
    long uid, gid; /* -1: keep ours */
    bool debug;
};

static struct vsockd D;
static struct loop_source *vu_listen_src;
static int vu_listen_fd = -EBADF;

static void uds_accept_cb(struct loop_source *s, int fd, uint32_t revents, void *data)
{
    (void)s;
    (void)revents;
    (void)data;
    for (;;) {
        int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (c < 0) {
            if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
                log_warn_errno(-errno, "accept on %s", D.uds_path);
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            return;
        }
        int r = conn_accept_host(&D, c);
        if (r < 0)
            log_warn_errno(r, "host connection dropped");
    }
}

static void vu_accept_cb(struct loop_source *s, int fd, uint32_t revents, void *data)
{
    int c, r;
    (void)s;
    (void)revents;
    (void)data;

    /* Blocking: QEMU writes each message whole, and we answer before reading the next. */
    c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
    if (c < 0)
        return;
    r = vu_dev_new(D.loop, c, D.guest_cid, &vsockd_vu_ops, &D, &D.vu);
    if (r < 0) {
        safe_close(c);
        log_error_errno(r, "starting the vhost-user session");
        loop_quit(D.loop, 1);
        return;
    }
    /* One front end per process: QEMU reconnecting means a new backend. */
    vu_listen_src = loop_source_free(vu_listen_src);
    vu_listen_fd = safe_close(vu_listen_fd);
    log_info("QEMU connected");
}

static void signal_cb(struct loop_source *s, const struct signalfd_siginfo *si, void *data)
{
    (void)s;
    (void)data;
    log_info("signal %u: exiting", si->ssi_signo);
    loop_quit(D.loop, 0);
}

static void usage(FILE *f)
{
    fprintf(f, "usage: cvm-vsockd --vhost-user-socket PATH --uds-path PATH --guest-cid CID\n"
               "                  [--root DIR] [--uid N --gid N] [--debug]\n");
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
    static const struct option lo[] = {
        {"vhost-user-socket", required_argument, NULL, 'v'},
        {"uds-path", required_argument, NULL, 'u'},
        {"guest-cid", required_argument, NULL, 'c'},
        {"root", required_argument, NULL, 'r'},
        {"uid", required_argument, NULL, 'U'},
        {"gid", required_argument, NULL, 'G'},
        {"debug", no_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    long cid = -1;
    int ch;

    while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (ch) {
        case 'v': o->vu_path = optarg; break;
        case 'u': o->uds_path = optarg; break;
        case 'c':
            /* 0-2 are reserved (hypervisor, local, host); -1 is VMADDR_CID_ANY. */
            if (parse_long(optarg, 3, 0xfffffffeL, &cid) < 0) {
                fprintf(stderr, "cvm-vsockd: bad --guest-cid %s\n", optarg);
                return -EINVAL;
            }
            break;
        case 'r':
            if (optarg[0] != '/') {
                fprintf(stderr, "cvm-vsockd: --root must be absolute\n");
                return -EINVAL;
            }
            o->root = optarg;
            break;
        case 'U':
        case 'G':
            /* Never 0 (root) nor (uid_t)-1 ("unchanged" to setresuid). */
            if (parse_long(optarg, 1, 0xfffffffeL, ch == 'U' ? &o->uid : &o->gid) < 0) {
                fprintf(stderr, "cvm-vsockd: bad --%s %s\n", ch == 'U' ? "uid" : "gid", optarg);
                return -EINVAL;
            }
            break;
        case 'd': o->debug = true; break;
        case 'h': usage(stdout); exit(0);
        default: usage(stderr); return -EINVAL;
        }
    }
    if (!o->vu_path || !o->uds_path || cid < 0 || optind != argc || (o->uid < 0) != (o->gid < 0)) {
        usage(stderr);
        return -EINVAL;
    }
    o->cid = (uint64_t)cid;
    return 0;
}

int main(int argc, char **argv)
{
    struct opts o = {.uid = -1, .gid = -1};
    struct loop *l = NULL;
    struct loop_source *sig_term = NULL, *sig_int = NULL, *uds_src = NULL;
    _cleanup_close_ int uds_fd = -EBADF, devnull = -EBADF;
    struct sockaddr_un probe;
    struct sandbox_ids ids;
    pid_t parent = getppid();
    int r;

    if (parse_opts(argc, argv, &o) < 0)
        return 2;
    log_set_level(o.debug ? LOG_LVL_DEBUG : LOG_LVL_INFO);
    /* Writes to a unix peer that left must fail with EPIPE, not kill us. */
    signal(SIGPIPE, SIG_IGN);
    if (strlen(o.uds_path) + 12 > sizeof(probe.sun_path)) {
        log_error("--uds-path too long for <path>_<port> sockets");
        return 2;
    }

    /* One fd per connection: lift the soft limit to what the hard limit allows, so the
     * connection cap (VSOCKD_MAX_CONNS) is what bounds us, not a stray EMFILE. */
    {
        struct rlimit rl;
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
            rl.rlim_cur = rl.rlim_max;
            (void)setrlimit(RLIMIT_NOFILE, &rl);
        }
    }
    /* What needs the host's filesystem, before it is gone: /dev/null, and /etc/localtime
     * (strftime() in the logger loads it on first use). */
    devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (devnull < 0)
        return log_error_errno(-errno, "opening /dev/null"), 1;
    tzset();
    if (o.root && sandbox_enter_root(o.root) < 0)
        return 1;
    r = loop_new(&l);
    if (r < 0)
        return log_error_errno(r, "creating the loop"), 1;
    vsockd_init(&D, l, o.cid, vsockd_schedule_rx);
    snprintf(D.uds_path, sizeof(D.uds_path), "%s", o.uds_path);

    vu_listen_fd = unix_listen(o.vu_path, 0);
    if (vu_listen_fd < 0)
        return log_error_errno(vu_listen_fd, "listening on %s", o.vu_path), 1;
    uds_fd = unix_listen(o.uds_path, SOCK_NONBLOCK);
    if (uds_fd < 0)
        return log_error_errno(uds_fd, "listening on %s", o.uds_path), 1;

    if ((r = loop_add_io(l, vu_listen_fd, EPOLLIN, vu_accept_cb, NULL, &vu_listen_src)) < 0 ||
        (r = loop_add_io(l, uds_fd, EPOLLIN, uds_accept_cb, NULL, &uds_src)) < 0 ||
        (r = loop_add_signal(l, SIGTERM, signal_cb, NULL, &sig_term)) < 0 ||
        (r = loop_add_signal(l, SIGINT, signal_cb, NULL, &sig_int)) < 0 ||
        (r = vsockd_timer_init(&D)) < 0)
        return log_error_errno(r, "setting up the loop"), 1;

    ids = (struct sandbox_ids){
        .set_ids = o.uid >= 0, .uid = (uid_t)o.uid, .gid = (gid_t)o.gid, .parent = parent};
    if (sandbox_enter(&ids) < 0)
        return 1;

    if (write_all(STDOUT_FILENO, "READY\n", 6) < 0)
        return log_error_errno(-errno, "writing READY"), 1;
    (void)dup2(devnull, STDOUT_FILENO); /* "close" stdout without freeing fd 1 for reuse */

    r = loop_run(l);
    log_info("exiting: %llu bytes host→guest, %llu bytes guest→host, %u connections open",
             D.stat_rx_bytes, D.stat_tx_bytes, D.n_conns);
    conn_shutdown_all(&D);
    vu_dev_free(D.vu);
    return r;
}
