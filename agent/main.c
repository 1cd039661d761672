/* cvm-agent: the guest's PID 1 (vsock ttrpc on port 1024, stdio streams on 1025), or an
 * ordinary process for host-side component tests (--listen-unix). */
#include <errno.h>
#include <getopt.h>
#include <linux/vm_sockets.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define LOG_MODULE "agent"
#include "agent.h"
#include "cgroup.h"
#include "cgroup_async.h"
#include "cgroup_oom.h"
#include "cleanup.h"
#include "fd.h"
#include "log.h"
#include "loop.h"
#include "net.h"
#include "pid1.h"
#include "portfwd.h"
#include "rpc.h"
#include "stdio.h"
#include "ttrpc.h"

static int listen_vsock(unsigned port)
{
    struct sockaddr_vm sa = {.svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY, .svm_port = port};
    int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -errno;
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 128) < 0) {
        int r = -errno;
        close(fd);
        return r;
    }
    return fd;
}

static void on_term(struct loop_source *s, const struct signalfd_siginfo *si, void *data)
{
    (void)s;
    log_info("signal %u: shutting down", si->ssi_signo);
    agent_shutdown(data);
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: cvm-agent                       (as PID 1 of the guest: vsock ports %d, %d)\n"
            "       cvm-agent --listen-unix PATH [--stdio-unix PATH] [--cgroup-root DIR]\n"
            "                 [--share-root DIR] [--log-level debug|info|warn|error]\n"
            "                 [--park-nics]   (move every NIC into a parking namespace bound at\n"
            "                                  PATH.netns, as PID 1 does at %s)\n",
            AGENT_PORT, AGENT_STDIO_PORT, NET_PARK_PATH);
}

/* The command line: no arguments as PID 1 (the kernel's unknown words are ignored), the host
 * test mode's options otherwise. */
struct args {
    const char *listen_path, *stdio_path, *cgroup_root, *share_root;
    bool park;
    char stdio_buf[256];
};

/* 0 to go on, -1 to exit 0 (--help), or the exit code of a usage error (usage printed). */
static int parse_args(int argc, char **argv, bool pid1, struct args *o)
{
    static const struct option opts[] = {
        {"listen-unix", required_argument, NULL, 'l'}, {"stdio-unix", required_argument, NULL, 's'},
        {"cgroup-root", required_argument, NULL, 'c'}, {"share-root", required_argument, NULL, 'r'},
        {"log-level", required_argument, NULL, 'v'},   {"help", no_argument, NULL, 'h'},
        {"park-nics", no_argument, NULL, 'P'},         {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'l': o->listen_path = optarg; break;
        case 's': o->stdio_path = optarg; break;
        case 'c': o->cgroup_root = optarg; break;
        case 'r': o->share_root = optarg; break;
        case 'v':
            if (!strcmp(optarg, "debug"))
                log_set_level(LOG_LVL_DEBUG);
            else if (!strcmp(optarg, "info"))
                log_set_level(LOG_LVL_INFO);
            else if (!strcmp(optarg, "warn"))
                log_set_level(LOG_LVL_WARN);
            else if (!strcmp(optarg, "error"))
                log_set_level(LOG_LVL_ERROR);
            else {
                usage(stderr);
                return 2;
            }
            break;
        case 'P': o->park = true; break;
        case 'h': usage(stdout); return -1;
        default: usage(stderr); return 2;
        }
    }
    /* as PID 1 the kernel hands unknown command-line words to init: ignored */
    if ((!pid1 && optind < argc) || (!pid1 && !o->listen_path)) {
        usage(stderr);
        return 2;
    }
    if (!pid1 && !o->stdio_path) {
        snprintf(o->stdio_buf, sizeof(o->stdio_buf), "%s.stdio", o->listen_path);
        o->stdio_path = o->stdio_buf;
    }
    return 0;
}

/* What both modes serve from: the loop, the reaper, the ttrpc server with our service, the OOM
 * watch. -errno with *what naming the step. */
static int serve_setup(struct agent *a, bool same_user, struct ttrpc_server **srv,
                       const char **what)
{
    struct ttrpc_server_opts so = {.require_same_user = same_user, .max_connections = 64};
    int r;
    signal(SIGPIPE, SIG_IGN);
    agent_global = a;
    *what = "agent init";
    if ((r = loop_new(&a->loop)) < 0 || (r = reaper_init(a)) < 0 ||
        (r = ttrpc_server_new(a->loop, &so, srv)) < 0 || (r = rpc_register(a, *srv)) < 0)
        return r;
    /* Not fatal: without inotify, OOM kills are still noticed at exits (cgroup_oom.h). */
    if ((r = oom_init(a)) < 0)
        log_warn("no inotify for OOM notifications: %s", strerror(-r));
    *what = "serving";
    return 0;
}

static int serve_start(struct agent *a, struct ttrpc_server *srv, int api_fd, int stdio_fd)
{
    int r = ttrpc_server_add_listener(srv, api_fd);
    if (r == 0)
        r = stdio_listener_start(a, stdio_fd);
    return r;
}

/* PID 1 of the guest: early setup (pid1.c), vsock listeners, port forwarding; never returns. */
static int run_as_pid1(struct agent *a, const struct args *o)
{
    struct ttrpc_server *srv = NULL;
    const char *what;
    int r, api_fd, stdio_fd;

    a->cfg.pid1 = true;
    if (pid1_early() < 0)
        pid1_fatal("early setup failed (see above)");
    a->cfg.cgroup_root = o->cgroup_root ? o->cgroup_root : PID1_CGROUP_ROOT;
    a->cfg.share_root = o->share_root ? o->share_root : PID1_SHARE_ROOT;
    (void)mkdir("/run/cvm", 0755);
    /* Modules are loaded, so the virtio-net NICs exist: out of the containers' sight until
     * ConfigureNetwork names them. Without parking the agent still serves. */
    struct cvm_err nerr = {0};
    if (net_park(NET_PARK_PATH, &nerr) < 0)
        pid1_console("parking NICs failed: %s", nerr.msg);
    if ((r = serve_setup(a, false, &srv, &what)) < 0)
        pid1_fatal("%s: %s", what, strerror(-r));
    api_fd = listen_vsock(AGENT_PORT);
    stdio_fd = listen_vsock(AGENT_STDIO_PORT);
    if (api_fd < 0 || stdio_fd < 0)
        pid1_fatal("listening on vsock: %s", strerror(api_fd < 0 ? -api_fd : -stdio_fd));
    if ((r = serve_start(a, srv, api_fd, stdio_fd)) < 0)
        pid1_fatal("serving: %s", strerror(-r));
    /* CRI PortForward (portfwd.h); without it the rest of the agent still serves */
    struct portfwd_server *pfs;
    int pf_fd = listen_vsock(AGENT_PORTFWD_PORT);
    if (pf_fd < 0 || (r = portfwd_serve(a->loop, pf_fd, &pfs)) < 0) {
        pid1_console("port forwarding on vsock port %u: %s", AGENT_PORTFWD_PORT,
                     strerror(pf_fd < 0 ? -pf_fd : -r));
        safe_close(pf_fd);
    }
    a->ready_uptime_ns = agent_uptime_ns();
    pid1_console("ready: ttrpc on vsock port %d, stdio on port %d", AGENT_PORT, AGENT_STDIO_PORT);
    r = loop_run(a->loop);
    pid1_fatal("event loop ended (%d)", r);
}

/* The host test mode: unix sockets, SIGTERM/SIGINT end it, everything freed at exit. */
static int run_on_host(struct agent *a, const struct args *o)
{
    struct ttrpc_server *srv = NULL;
    struct loop_source *s_term = NULL, *s_int = NULL;
    const char *what;
    char park_buf[256];
    int r, api_fd, stdio_fd;

    a->cfg.cgroup_root = o->cgroup_root;
    a->cfg.share_root = o->share_root ? o->share_root : "/run/cvm-agent/share";
    if (a->cfg.cgroup_root && (r = cgroup_root_init(a->cfg.cgroup_root)) < 0) {
        fprintf(stderr, "cvm-agent: cgroup root %s: %s\n", a->cfg.cgroup_root, strerror(-r));
        return 1;
    }
    /* Orphans of container processes come back to us for reaping. */
    (void)prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    /* --park-nics: as PID 1 does, with the namespace bound next to the socket. */
    struct cvm_err nerr = {0};
    snprintf(park_buf, sizeof(park_buf), "%s.netns", o->listen_path);
    if (o->park && net_park(park_buf, &nerr) < 0) {
        fprintf(stderr, "cvm-agent: parking NICs: %s\n", nerr.msg);
        return 1;
    }
    if ((r = serve_setup(a, true, &srv, &what)) < 0) {
        fprintf(stderr, "cvm-agent: %s: %s\n", what, strerror(-r));
        return 1;
    }
    api_fd = unix_listen(o->listen_path, SOCK_NONBLOCK);
    stdio_fd = unix_listen(o->stdio_path, SOCK_NONBLOCK);
    (void)loop_add_signal(a->loop, SIGTERM, on_term, a, &s_term);
    (void)loop_add_signal(a->loop, SIGINT, on_term, a, &s_int);
    if (api_fd < 0 || stdio_fd < 0) {
        fprintf(stderr, "cvm-agent: listen: %s\n", strerror(api_fd < 0 ? -api_fd : -stdio_fd));
        return 1;
    }
    if ((r = serve_start(a, srv, api_fd, stdio_fd)) < 0) {
        fprintf(stderr, "cvm-agent: serve: %s\n", strerror(-r));
        return 1;
    }
    a->ready_uptime_ns = agent_uptime_ns();
    log_info("ready: ttrpc on %s, stdio on %s", o->listen_path, o->stdio_path);
    (void)loop_run(a->loop);

    while (a->containers)
        container_free(a, a->containers);
    cgroup_ops_cancel_all(); /* removals of those groups still retrying */
    loop_source_free(a->oom_src);
    if (a->oom_fd >= 0)
        close(a->oom_fd);
    free(a->oom_queue);
    loop_source_free(s_term);
    loop_source_free(s_int);
    loop_source_free(a->sigchld);
    ttrpc_server_free(srv);
    close(api_fd);
    close(stdio_fd);
    loop_free(a->loop);
    net_unpark();
    (void)unlink(o->listen_path);
    (void)unlink(o->stdio_path);
    return 0;
}

int main(int argc, char **argv)
{
    static struct agent a = {.oom_fd = -1};
    struct args o = {0};
    bool pid1 = getpid() == 1;
    int r;

    a.init_uptime_ns = agent_uptime_ns();
    r = parse_args(argc, argv, pid1, &o);
    if (r)
        return r < 0 ? 0 : r;
    return pid1 ? run_as_pid1(&a, &o) : run_on_host(&a, &o);
}
