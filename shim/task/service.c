/* containerd.task.v2.Task (and v3): the method table, the RPCs answered from cached state
 * (State, Connect, Wait, Shutdown, Checkpoint) and daemon exit. */
#define LOG_MODULE "task"
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cmd.h"
#include "daemon/events.h"
#include "log.h"
#include "loop.h"
#include "task/rpc.h"

#define GO_ZERO_TIME_SECONDS (-62135596800LL) /* "never exited" as runc shims encode it */

struct container *task_lookup_container(struct shim *s, struct ttrpc_call *call, const char *id)
{
    struct container *c = id ? shim_find_container(s, id) : NULL;
    if (!c)
        ttrpc_call_reply_error(call, RPC_NOT_FOUND, "container %s: not found", id ? id : "");
    return c;
}

struct proc *task_lookup_proc(struct shim *s, struct ttrpc_call *call, const char *id,
                              const char *exec_id)
{
    struct container *c = task_lookup_container(s, call, id);
    struct proc *p;
    if (!c)
        return NULL;
    p = container_find_proc(c, exec_id);
    if (!p)
        ttrpc_call_reply_error(call, RPC_NOT_FOUND, "process %s: not found", exec_id);
    return p;
}

int task_check(struct ttrpc_call *call, struct proc *p, enum proc_event ev)
{
    const struct proc_transition *t = proc_transition(p->status, ev);
    if (!t->code)
        return 0;
    struct cvm_err err = { 0 };
    (void)proc_apply(p, ev, &err);
    ttrpc_call_reply_error(call, err.code, "%s", err.msg);
    return -1;
}

void task_fill_timestamp(Google__Protobuf__Timestamp *ts, const struct proc *p)
{
    if (p->exit_done || p->agent_exited) {
        ts->seconds = p->exited_sec;
        ts->nanos = p->exited_nsec;
    } else {
        ts->seconds = GO_ZERO_TIME_SECONDS;
        ts->nanos = 0;
    }
}

static void task_state(struct ttrpc_call *call, const uint8_t *pl, size_t n, void *ud)
{
    struct shim *s = ud;
    TASK_DECODE(Containerd__Task__V2__StateRequest, containerd__task__v2__state_request, req, call, pl, n);
    struct proc *p = task_lookup_proc(s, call, req->id, req->exec_id);
    if (!p)
        return;
    Containerd__Task__V2__StateResponse r = CONTAINERD__TASK__V2__STATE_RESPONSE__INIT;
    Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    r.id = p->exec_id[0] ? p->exec_id : p->c->id;
    r.bundle = p->c->bundle;
    r.pid = shim_task_pid(s);
    r.status = (Containerd__V1__Types__Status)p->status;
    r.stdin = p->io.path[STREAM_STDIN];
    r.stdout = p->io.path[STREAM_STDOUT];
    r.stderr = p->io.path[STREAM_STDERR];
    r.terminal = p->io.terminal;
    r.exit_status = p->exit_done ? p->exit_status : 0;
    task_fill_timestamp(&ts, p);
    r.exited_at = &ts;
    r.exec_id = p->exec_id;
    ttrpc_call_reply(call, &r.base);
}

static void task_wait(struct ttrpc_call *call, const uint8_t *pl, size_t n, void *ud)
{
    struct shim *s = ud;
    TASK_DECODE(Containerd__Task__V2__WaitRequest, containerd__task__v2__wait_request, req, call, pl, n);
    struct proc *p = task_lookup_proc(s, call, req->id, req->exec_id);
    if (p)
        proc_add_waiter(p, call);
}

static void task_connect(struct ttrpc_call *call, const uint8_t *pl, size_t n, void *ud)
{
    struct shim *s = ud;
    TASK_DECODE(Containerd__Task__V2__ConnectRequest, containerd__task__v2__connect_request, req, call, pl, n);
    Containerd__Task__V2__ConnectResponse r = CONTAINERD__TASK__V2__CONNECT_RESPONSE__INIT;
    r.shim_pid = (uint32_t)getpid();
    r.task_pid = shim_find_container(s, req->id) ? shim_task_pid(s) : 0;
    r.version = SHIM_VERSION_STR;
    ttrpc_call_reply(call, &r.base);
}

static void exit_now(void *data)
{
    struct shim *s = data;
    loop_quit(s->loop, 0);
}

static void sandbox_stopped(struct sandbox *sb, void *data)
{
    (void)sb;
    loop_defer(((struct shim *)data)->loop, exit_now, data);
}

void shim_begin_exit(struct shim *s)
{
    if (s->shutting_down)
        return;
    s->shutting_down = true;
    log_info("shutting down");
    if (s->sb)
        sandbox_stop(s->sb, sandbox_stopped, s);
    else
        loop_defer(s->loop, exit_now, s);
}

static void task_shutdown(struct ttrpc_call *call, const uint8_t *pl, size_t n, void *ud)
{
    struct shim *s = ud;
    TASK_DECODE(Containerd__Task__V2__ShutdownRequest, containerd__task__v2__shutdown_request, req, call, pl, n);
    /* A no-op while any container (the sandbox included) is tracked (spec §9 item 6). */
    if (s->sb && !TAILQ_EMPTY(&s->sb->containers)) {
        ttrpc_call_reply(call, NULL);
        return;
    }
    ttrpc_call_reply(call, NULL);
    shim_begin_exit(s);
}

static void task_checkpoint(struct ttrpc_call *call, const uint8_t *pl, size_t n, void *ud)
{
    (void)pl;
    (void)n;
    (void)ud;
    ttrpc_call_reply_error(call, RPC_UNIMPLEMENTED,
                           "checkpoint of a VM sandbox is not supported by %s: not implemented", SHIM_NAME);
}

const struct ttrpc_method task_methods[] = {
    { "State", task_state },         { "Create", task_create },     { "Start", task_start },
    { "Delete", task_delete },       { "Pids", task_pids },         { "Pause", task_pause },
    { "Resume", task_resume },       { "Checkpoint", task_checkpoint }, { "Kill", task_kill },
    { "Exec", task_exec },           { "ResizePty", task_resize_pty }, { "CloseIO", task_close_io },
    { "Update", task_update },       { "Wait", task_wait },         { "Stats", task_stats },
    { "Connect", task_connect },     { "Shutdown", task_shutdown },
};
const unsigned task_n_methods = sizeof(task_methods) / sizeof(task_methods[0]);
