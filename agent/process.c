/* Process lifecycle: start (after stdio attached), exit, drain, waiters. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#define LOG_MODULE "process"
#include "agent.h"
#include "agent.pb-c.h"
#include "cgroup.h"
#include "cleanup.h"
#include "log.h"
#include "loop.h"
#include "spawn.h"
#include "stdio.h"
#include "ttrpc.h"

#define STDIO_TIMEOUT_DEFAULT_MS 10000u
#define STDIO_TIMEOUT_MAX_MS 60000u

static uint64_t realtime_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

bool process_stdio_ready(const struct process *p)
{
    for (int k = 0; k < 3; k++) {
        if (!p->want[k] || (p->terminal && k == STDIO_ERR))
            continue;
        if (!p->streams[k] && !(k == STDIO_IN && p->stdin_close_requested))
            return false;
    }
    return true;
}

/* The release ended (spawn_release's done): answer Start, if its caller is still there. */
static void on_released(struct process *p, int r, const struct cvm_err *err)
{
    struct ttrpc_call *call = p->start_call;
    p->start_call = NULL;
    if (r < 0)
        log_warn("container %s exec '%s': start failed: %s", p->c->id, p->exec_id, err->msg);
    if (!call)
        return;
    ttrpc_call_set_cancel(call, NULL, NULL);
    if (r < 0) {
        ttrpc_call_reply_errno(call, r, err);
        return;
    }
    Cvm__Agent__V1__StartProcessResponse resp = CVM__AGENT__V1__START_PROCESS_RESPONSE__INIT;
    resp.pid = (uint32_t)p->pid;
    ttrpc_call_reply(call, &resp.base);
}

/* Stdio is ready: release the child; p->start_call is answered when it has exec'd. */
static void release(struct process *p)
{
    struct cvm_err err = {0};
    p->start_timer = loop_source_free(p->start_timer);
    int r = spawn_release(p, on_released, &err);
    if (r < 0)
        on_released(p, r, &err);
}

static void on_start_cancel(struct ttrpc_call *call, void *data)
{
    struct process *p = data;
    (void)call;
    p->start_call = NULL; /* a release in progress goes on; nobody hears of its end */
    p->start_timer = loop_source_free(p->start_timer);
}

static void on_start_timeout(struct loop_source *t, void *data)
{
    struct process *p = data;
    struct ttrpc_call *call = p->start_call;
    (void)t;
    p->start_timer = loop_source_free(p->start_timer);
    p->start_call = NULL;
    if (!call)
        return;
    ttrpc_call_set_cancel(call, NULL, NULL);
    ttrpc_call_reply_error(call, RPC_DEADLINE_EXCEEDED,
                           "container %s exec '%s': announced stdio streams did not attach in time",
                           p->c->id, p->exec_id);
}

void process_start(struct process *p, struct ttrpc_call *call, uint32_t stdio_timeout_ms)
{
    if (p->state == PROC_SPAWNING) {
        ttrpc_call_reply_error(call, RPC_FAILED_PRECONDITION,
                               "container %s exec '%s': setup in progress", p->c->id, p->exec_id);
        return;
    }
    if (p->start_call) {
        ttrpc_call_reply_error(call, RPC_FAILED_PRECONDITION,
                               "container %s exec '%s': start in progress", p->c->id, p->exec_id);
        return;
    }
    if (p->state != PROC_CREATED || p->sync_fd < 0) {
        ttrpc_call_reply_error(call, RPC_FAILED_PRECONDITION,
                               "container %s exec '%s': already started", p->c->id, p->exec_id);
        return;
    }
    if (!process_stdio_ready(p)) {
        uint32_t ms = stdio_timeout_ms ? stdio_timeout_ms : STDIO_TIMEOUT_DEFAULT_MS;
        if (ms > STDIO_TIMEOUT_MAX_MS)
            ms = STDIO_TIMEOUT_MAX_MS;
        if (loop_add_timer(agent_global->loop, (uint64_t)ms * 1000, on_start_timeout, p,
                           &p->start_timer) < 0) {
            ttrpc_call_reply_error(call, RPC_INTERNAL, "timer: out of resources");
            return;
        }
    }
    p->start_call = call;
    ttrpc_call_set_cancel(call, on_start_cancel, p);
    if (!p->start_timer)
        release(p);
}

void process_stream_attached(struct process *p)
{
    /* Start is waiting for its stdio, not releasing already. */
    if (p->start_call && !spawn_busy(p) && process_stdio_ready(p))
        release(p);
}

static void on_spawn_call_cancel(struct ttrpc_call *call, void *data)
{
    struct process *p = data;
    (void)call;
    p->spawn_call = NULL; /* the setup goes on; its end is answered to nobody */
}

void process_hold_spawn_call(struct process *p, struct ttrpc_call *call)
{
    p->spawn_call = call;
    ttrpc_call_set_cancel(call, on_spawn_call_cancel, p);
}

struct ttrpc_call *process_take_spawn_call(struct process *p)
{
    struct ttrpc_call *call = p->spawn_call;
    p->spawn_call = NULL;
    if (call)
        ttrpc_call_set_cancel(call, NULL, NULL);
    return call;
}

static void on_wait_cancel(struct ttrpc_call *call, void *data)
{
    struct process *p = data;
    for (size_t i = 0; i < p->n_waiters; i++)
        if (p->waiters[i] == call) {
            p->waiters[i] = p->waiters[--p->n_waiters];
            return;
        }
}

static void reply_wait(struct process *p, struct ttrpc_call *call)
{
    Cvm__Agent__V1__WaitProcessResponse resp = CVM__AGENT__V1__WAIT_PROCESS_RESPONSE__INIT;
    resp.exit_status = (uint32_t)p->exit_status;
    resp.exited_at_unix_ns = p->exited_at_ns;
    resp.pid = (uint32_t)p->pid;
    ttrpc_call_reply(call, &resp.base);
}

int process_add_waiter(struct process *p, struct ttrpc_call *call)
{
    if (p->state == PROC_DONE) {
        reply_wait(p, call);
        return 0;
    }
    if (p->n_waiters >= AGENT_MAX_WAITERS)
        return -ENOSPC;
    p->waiters[p->n_waiters++] = call;
    ttrpc_call_set_cancel(call, on_wait_cancel, p);
    return 0;
}

void process_fail_pending(struct process *p, int code, const char *msg)
{
    struct ttrpc_call *spawn_call = process_take_spawn_call(p);
    spawn_abort(p);
    if (spawn_call)
        ttrpc_call_reply_error(spawn_call, code, "container %s exec '%s': %s", p->c->id, p->exec_id,
                               msg);
    while (p->n_waiters) {
        struct ttrpc_call *call = p->waiters[--p->n_waiters];
        ttrpc_call_set_cancel(call, NULL, NULL);
        ttrpc_call_reply_error(call, code, "container %s exec '%s': %s", p->c->id, p->exec_id, msg);
    }
    if (p->start_call) {
        struct ttrpc_call *call = p->start_call;
        p->start_call = NULL;
        ttrpc_call_set_cancel(call, NULL, NULL);
        ttrpc_call_reply_error(call, code, "container %s exec '%s': %s", p->c->id, p->exec_id, msg);
    }
    p->start_timer = loop_source_free(p->start_timer);
}

void process_maybe_done(struct process *p)
{
    if (p->state != PROC_EXITED || !stream_drained(p, STDIO_OUT) || !stream_drained(p, STDIO_ERR))
        return;
    p->state = PROC_DONE;
    log_info("container %s exec '%s' pid %d: exit status %d, output drained", p->c->id, p->exec_id,
             (int)p->pid, p->exit_status);
    while (p->n_waiters) {
        struct ttrpc_call *call = p->waiters[--p->n_waiters];
        ttrpc_call_set_cancel(call, NULL, NULL);
        reply_wait(p, call);
    }
}

void process_on_exit(struct process *p, int wstatus)
{
    if (spawn_busy(p)) {
        /* The handshake ends first, from what the child queued before dying. */
        bool setup = p->state == PROC_SPAWNING;
        spawn_child_exited(p);
        if (setup)
            return; /* failed setup: done() freed p */
    }
    p->exit_status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
    p->exited_at_ns = realtime_ns();
    p->state = PROC_EXITED;
    p->sync_fd = safe_close(p->sync_fd);
    if (p->start_call) {
        struct ttrpc_call *call = p->start_call;
        p->start_call = NULL;
        ttrpc_call_set_cancel(call, NULL, NULL);
        ttrpc_call_reply_error(call, RPC_FAILED_PRECONDITION,
                               "container %s exec '%s': exited before start", p->c->id, p->exec_id);
    }
    p->start_timer = loop_source_free(p->start_timer);
    /* Announced streams that never attached will not: their pipe ends go. */
    for (int k = 0; k < 3; k++)
        if (!p->streams[k])
            p->fds[k] = safe_close(p->fds[k]);
    stream_process_exited(p);
    /* The init's death ends the container: whatever else runs in it goes too. */
    if (p == p->c->init) {
        for (struct process *e = p->c->execs; e; e = e->next)
            if (e->state < PROC_EXITED && e->pid > 0)
                (void)kill(e->pid, SIGKILL);
        /* With a pid namespace of its own the kernel kills the rest with the init. Sharing
         * one (none in the spec, or a path), its orphans would outlive it: as runc's shim,
         * every process of its cgroup is killed before the exit is reported. */
        if (p->c->spec && !oci_spec_has_own_pidns(p->c->spec)) {
            int r = p->c->cgroup ? cgroup_kill(p->c->cgroup, SIGKILL) : -ENOENT;
            if (r < 0)
                log_error(
                    "container %s: init exited, shares a pid namespace, and its other processes "
                    "could not be killed (cgroup %s): %s",
                    p->c->id, p->c->cgroup ? p->c->cgroup : "none", strerror(-r));
        }
    }
    process_maybe_done(p);
}
