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

int process_release(struct process *p, struct cvm_err *err)
{
    struct sync_msg m;
    int r = sync_send(p->sync_fd, SYNC_START, 0, NULL);
    if (r < 0)
        return cvm_err_set(err, r, "starting process: %s", strerror(-r));
    /* The socket is close-on-exec: EOF means execve succeeded; a message is its error. */
    r = sync_recv(p->sync_fd, &m, SPAWN_SETUP_TIMEOUT_MS);
    p->sync_fd = safe_close(p->sync_fd);
    if (r == -EPIPE) {
        p->state = PROC_RUNNING;
        return 0;
    }
    if (r == 0 && m.type == SYNC_ERROR)
        return cvm_err_set(err, -(m.err > 0 && m.err < 4096 ? m.err : EIO), "%s", m.msg);
    return cvm_err_set(err, r < 0 ? r : -EPROTO, "starting process: no answer from the child");
}

static void reply_started(struct process *p, struct ttrpc_call *call)
{
    struct cvm_err err = {0};
    p->start_timer = loop_source_free(p->start_timer);
    int r = process_release(p, &err);
    if (r < 0) {
        log_warn("container %s exec '%s': start failed: %s", p->c->id, p->exec_id, err.msg);
        ttrpc_call_reply_errno(call, r, &err);
        return;
    }
    Cvm__Agent__V1__StartProcessResponse resp = CVM__AGENT__V1__START_PROCESS_RESPONSE__INIT;
    resp.pid = (uint32_t)p->pid;
    ttrpc_call_reply(call, &resp.base);
}

static void on_start_cancel(struct ttrpc_call *call, void *data)
{
    struct process *p = data;
    (void)call;
    p->start_call = NULL;
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
    if (p->state != PROC_CREATED || p->sync_fd < 0) {
        ttrpc_call_reply_error(call, RPC_FAILED_PRECONDITION, "container %s exec '%s': already started",
                               p->c->id, p->exec_id);
        return;
    }
    if (p->start_call) {
        ttrpc_call_reply_error(call, RPC_FAILED_PRECONDITION, "container %s exec '%s': start in progress",
                               p->c->id, p->exec_id);
        return;
    }
    if (process_stdio_ready(p)) {
        reply_started(p, call);
        return;
    }
    uint32_t ms = stdio_timeout_ms ? stdio_timeout_ms : STDIO_TIMEOUT_DEFAULT_MS;
    if (ms > STDIO_TIMEOUT_MAX_MS)
        ms = STDIO_TIMEOUT_MAX_MS;
    if (loop_add_timer(agent_global->loop, (uint64_t)ms * 1000, on_start_timeout, p, &p->start_timer) < 0) {
        ttrpc_call_reply_error(call, RPC_INTERNAL, "timer: out of resources");
        return;
    }
    p->start_call = call;
    ttrpc_call_set_cancel(call, on_start_cancel, p);
}

void process_stream_attached(struct process *p)
{
    if (p->start_call && process_stdio_ready(p)) {
        struct ttrpc_call *call = p->start_call;
        p->start_call = NULL;
        ttrpc_call_set_cancel(call, NULL, NULL);
        reply_started(p, call);
    }
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
    p->exit_status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
    p->exited_at_ns = realtime_ns();
    p->state = PROC_EXITED;
    p->sync_fd = safe_close(p->sync_fd);
    if (p->start_call) {
        struct ttrpc_call *call = p->start_call;
        p->start_call = NULL;
        ttrpc_call_set_cancel(call, NULL, NULL);
        ttrpc_call_reply_error(call, RPC_FAILED_PRECONDITION, "container %s exec '%s': exited before start",
                               p->c->id, p->exec_id);
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
    }
    process_maybe_done(p);
}
