/* Serve mode (spec §2.4.5): the long-running shim started by `start` with the listening socket
 * as fd 3, cwd = the first bundle. Subreaper, SIGPIPE ignored, logs to the bundle's `log` FIFO
 * (non-blocking), task service under containerd.task.v2.Task and v3, events to TTRPC_ADDRESS.
 * Exit: Shutdown with no containers left, or SIGTERM/SIGINT: stop the VM, flush events (5 s),
 * remove the socket and the run dir. */
#define LOG_MODULE "shim"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "naming/address.h"
#include "cleanup.h"
#include "cli/cmd.h"
#include "events/events.h"
#include "fd.h"
#include "cgroup/host_cgroup.h"
#include "hv_proc.h"
#include "log.h"
#include "loop.h"
#include "fs_beneath.h"
#include "sandbox/mounts.h"
#include "daemon/reaper.h"
#include "daemon/serve.h"
#include "sandbox/sandbox.h"
#include "task/model.h"
#include "task/service.h"
#include "ttrpc.h"

#define LISTEN_FD 3

static struct loop_source *log_retry;

static void open_log(void)
{
    /* containerd holds the FIFO open O_RDWR, so this open does not block; ENXIO = no reader
     * (containerd restarting): keep logging to /dev/null and retry later. */
    int fd = open("log", O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        if (log_retry)
            loop_timer_set(log_retry, 2000000);
        return;
    }
    if (fd != 2) {
        dup2(fd, 2); /* crashes and sanitizer reports land there too */
        close(fd);
    }
    (void)fd_set_nonblock(2, 1);
    log_set_fd(2);
}

static void log_retry_cb(struct loop_source *s, void *data)
{
    (void)s;
    (void)data;
    open_log();
}

static void on_signal(struct loop_source *src, const struct signalfd_siginfo *si, void *data)
{
    struct shim *s = data;
    (void)src;
    log_info("signal %u: shutting down", si->ssi_signo);
    shim_begin_exit(s);
}

static void remove_socket(const struct shim *s)
{
    char addr[256] = "";
    _cleanup_close_ int fd = open("address", O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, addr, sizeof(addr) - 1) : -1;
    if (n > 0) {
        addr[n] = 0;
        /* only our own socket: the address file names it */
        if (strncmp(addr, "unix://", 7) == 0 && strcmp(addr + 7, s->socket_path) == 0)
            (void)unlink(s->socket_path);
        return;
    }
    (void)unlink(s->socket_path);
}

int cmd_serve(const struct shim_flags *f)
{
    struct shim s = {0};

    if (!f->namespace_ || !*f->namespace_ || !f->id || !*f->id) {
        fprintf(stderr, "%s: -namespace and -id are required\n", SHIM_NAME);
        return 1;
    }
    TAILQ_INIT(&s.ops);
    snprintf(s.ns, sizeof(s.ns), "%s", f->namespace_);
    snprintf(s.id, sizeof(s.id), "%s", f->id);
    snprintf(s.address, sizeof(s.address), "%s",
             f->address && *f->address ? f->address : SHIM_DEFAULT_ADDRESS);
    if (!getcwd(s.bundle, sizeof(s.bundle)))
        return 1;
    signal(SIGPIPE, SIG_IGN);
    (void)prctl(PR_SET_CHILD_SUBREAPER, 1);
    return shim_serve(&s, f->debug, NULL);
}

int shim_serve(struct shim *s, bool debug, struct reaper *reaper)
{
    struct loop_source *sig_term = NULL, *sig_int = NULL;
    char run_dir[128];
    int r;

    log_set_ident(s->id);
    if (debug)
        log_set_level(LOG_LVL_DEBUG);

    char group[256];
    if (shim_group_from_bundle(s->bundle, s->id, group, sizeof(group)) < 0)
        snprintf(group, sizeof(group), "%s", s->id);
    shim_group_hash(s->address, s->ns, group, s->hash);
    snprintf(s->socket_path, sizeof(s->socket_path), "%s/%s", SHIM_SOCKET_DIR, s->hash);
    shim_run_dir(s->hash, run_dir, sizeof(run_dir));

    if (!s->loop && loop_new(&s->loop) < 0)
        return 1;
    (void)loop_add_timer(s->loop, 0, log_retry_cb, NULL, &log_retry);
    open_log();
    log_info("%s %s serving %s (group %s)", SHIM_NAME, SHIM_VERSION_STR, s->socket_path, group);
    const char *origin = getenv("CVM_POOL_ORIGIN"); /* a cold start's, from `start` */
    if (s->sb && s->sb->origin[0])
        log_info("%s", s->sb->origin); /* a claimed warm shim's */
    else if (origin && *origin)
        log_info("%s", origin);

    struct ttrpc_server_opts so = {.require_same_user = true};
    const char *ttrpc_addr = getenv("TTRPC_ADDRESS");
    char evaddr[300];
    snprintf(evaddr, sizeof(evaddr), "%s", ttrpc_addr && *ttrpc_addr ? ttrpc_addr : "");
    if (!evaddr[0])
        snprintf(evaddr, sizeof(evaddr), "%s.ttrpc", s->address);
    /* cvm-runtime starts us without a containerd to publish to (runtime/shim_link.c) */
    const char *ev_env = getenv("CVM_SHIM_EVENTS");
    bool events_off = ev_env && strcmp(ev_env, "none") == 0;
    if ((r = ttrpc_server_new(s->loop, &so, &s->server)) < 0 ||
        (r = task_service_register(s->server, s)) < 0 ||
        (r = ttrpc_server_add_listener(s->server, LISTEN_FD)) < 0 ||
        (r = evt_new(s->loop, events_off ? NULL : evaddr, s->ns, NULL, NULL, &s->events)) < 0 ||
        (r = loop_add_signal(s->loop, SIGTERM, on_signal, s, &sig_term)) < 0 ||
        (r = loop_add_signal(s->loop, SIGINT, on_signal, s, &sig_int)) < 0 ||
        (!reaper && (r = reaper_new(s->loop, &reaper)) < 0)) {
        log_error("setup failed: %s", strerror(-r));
        remove_socket(s);
        return 1;
    }
    (void)fd_set_cloexec(LISTEN_FD, 1);

    loop_run(s->loop);

    /* The VM is stopped (shim_begin_exit); deliver the last events, then leave no trace. */
    if (evt_flush(s->events, 5000) < 0)
        log_warn("exiting with %zu undelivered events", evt_queued(s->events));
    remove_socket(s);
    for (int i = 0; i < 10; i++) /* let the last replies (Shutdown) reach containerd */
        if (loop_run_once(s->loop, 10) <= 0)
            break;
    if (s->sb) {
        sandbox_free(s->sb);
        s->sb = NULL;
    }
    op_free_all(s);
    /* A VM helper sandbox_free had to SIGKILL is reaped here: a bounded wait at exit. */
    if (hv_proc_reap_orphans(s->loop, 2000))
        log_warn("exiting with killed VM helpers not yet reaped (init reaps them)");
    host_cgroup_remove_at_exit(NULL); /* removals still waiting on a timer (a failed start) */
    (void)mnt_umount_tree(run_dir);
    (void)fsb_rm_path(run_dir);
    log_info("exited");
    ttrpc_server_free(s->server);
    evt_free(s->events);
    (void)loop_run_once(s->loop, 0); /* the connections' releases are deferred to a loop turn */
    reaper_free(reaper);
    loop_source_free(sig_term);
    loop_source_free(sig_int);
    loop_source_free(log_retry);
    loop_free(s->loop);
    return 0;
}
