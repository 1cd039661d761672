/* Processes and containers: lookup, state transitions through the table, exit completion
 * (exited AND drained), waiters, events. */
#define LOG_MODULE "task"
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "containerd/events/task.pb-c.h"
#include "containerd/task/v2/shim.pb-c.h"
#include "events/events.h"
#include "log.h"
#include "loop.h"
#include "task/model.h"

struct container *shim_find_container(struct shim *s, const char *id)
{
    struct container *c;
    if (!s->sb)
        return NULL;
    TAILQ_FOREACH(c, &s->sb->containers, link)
    if (strcmp(c->id, id) == 0)
        return c;
    return NULL;
}

struct proc *container_find_proc(struct container *c, const char *exec_id)
{
    struct proc *p;
    if (!exec_id || !*exec_id)
        return c->init;
    TAILQ_FOREACH(p, &c->execs, link)
    if (strcmp(p->exec_id, exec_id) == 0)
        return p;
    return NULL;
}

struct proc *proc_new(struct container *c, const char *exec_id)
{
    struct proc *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->c = c;
    snprintf(p->exec_id, sizeof(p->exec_id), "%s", exec_id ? exec_id : "");
    p->status = PROC_CREATED;
    TAILQ_INIT(&p->waiters);
    proc_io_init(&p->io, proc_try_complete);
    return p;
}

static void waiter_cancel(struct ttrpc_call *call, void *data)
{
    struct waiter *w = data;
    (void)call;
    TAILQ_REMOVE(&w->proc->waiters, w, link);
    free(w);
}

static void pending_cancel(struct ttrpc_call *call, void *data)
{
    struct pending_rpc *op = data;
    (void)call;
    op->call = NULL;
}

void pending_set(struct pending_rpc *op, struct ttrpc_call *call)
{
    op->call = call;
    ttrpc_call_set_cancel(call, pending_cancel, op);
}

struct ttrpc_call *pending_take(struct pending_rpc *op)
{
    struct ttrpc_call *c = op->call;
    op->call = NULL;
    if (c)
        ttrpc_call_set_cancel(c, NULL, NULL);
    return c;
}

static void reply_wait(struct ttrpc_call *call, const struct proc *p)
{
    Containerd__Task__V2__WaitResponse r = CONTAINERD__TASK__V2__WAIT_RESPONSE__INIT;
    Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    ts.seconds = p->exited_sec;
    ts.nanos = p->exited_nsec;
    r.exit_status = p->exit_status;
    r.exited_at = &ts;
    ttrpc_call_reply(call, &r.base);
}

int proc_add_waiter(struct proc *p, struct ttrpc_call *call)
{
    struct waiter *w;
    if (p->exit_done) {
        reply_wait(call, p);
        return 0;
    }
    w = calloc(1, sizeof(*w));
    if (!w)
        return ttrpc_call_reply_error(call, RPC_RESOURCE_EXHAUSTED, "wait: out of memory");
    w->call = call;
    w->proc = p;
    TAILQ_INSERT_TAIL(&p->waiters, w, link);
    ttrpc_call_set_cancel(call, waiter_cancel, w);
    return 0;
}

void proc_free(struct proc *p)
{
    struct waiter *w;
    struct ttrpc_call *call;
    if (!p)
        return;
    while ((w = TAILQ_FIRST(&p->waiters))) {
        TAILQ_REMOVE(&p->waiters, w, link);
        ttrpc_call_set_cancel(w->call, NULL, NULL);
        ttrpc_call_reply_error(w->call, RPC_NOT_FOUND, "process %s: not found", p->exec_id);
        free(w);
    }
    (void)call;
    struct agent_op *op;
    TAILQ_FOREACH(op, &p->c->sb->shim->ops, link)
    if (op->p == p)
        op->p = NULL;
    loop_source_free(p->drain_timer);
    proc_io_close(p);
    free(p);
}

void shim_container_free(struct container *c)
{
    struct proc *p;
    if (!c)
        return;
    while ((p = TAILQ_FIRST(&c->execs))) {
        TAILQ_REMOVE(&c->execs, p, link);
        proc_free(p);
    }
    proc_free(c->init);
    struct agent_op *op;
    TAILQ_FOREACH(op, &c->sb->shim->ops, link)
    if (op->c == c)
        op->c = NULL;
    free(c->spec_json);
    hooks_free(&c->hooks);
    json_decref(c->annotations);
    free(c);
}

int proc_apply(struct proc *p, enum proc_event ev, struct cvm_err *err)
{
    const struct proc_transition *t = proc_transition(p->status, ev);
    if (t->code) {
        const char *what = p->exec_id[0] ? p->exec_id : p->c->id;
        if (t->code == RPC_NOT_FOUND)
            cvm_err_setc(err, t->code, -ENOENT, "process %s already finished: not found", what);
        else
            cvm_err_setc(err, t->code, -EBUSY, "cannot %s %s %s: %s", proc_event_name(ev),
                         proc_status_name(p->status), what, "failed precondition");
        return -1;
    }
    if (!t->noop && t->next != p->status) {
        log_debug("%s/%s: %s --%s--> %s", p->c->id, p->exec_id, proc_status_name(p->status),
                  proc_event_name(ev), proc_status_name(t->next));
        p->status = t->next;
    }
    return 0;
}

uint32_t shim_task_pid(const struct shim *s)
{
    return s->sb && s->sb->task_pid > 0 ? (uint32_t)s->sb->task_pid : (uint32_t)getpid();
}

void shim_publish(struct shim *s, const char *topic, const void *msg)
{
    int r = evt_publish(s->events, topic, msg);
    if (r < 0)
        log_error("publish %s: %s", topic, strerror(-r));
}

static void set_exit(struct proc *p, uint32_t status)
{
    struct timespec now;
    p->exit_status = status;
    clock_gettime(CLOCK_REALTIME, &now);
    p->exited_sec = now.tv_sec;
    p->exited_nsec = (int32_t)now.tv_nsec;
}

static bool proc_exit_ready(const struct proc *p)
{
    return p->exit_done || (p->agent_exited && proc_io_drained(p));
}

/* Every process of the sandbox has exited and drained: none runs, none waits to start. */
static bool sandbox_all_exited(const struct sandbox *sb)
{
    const struct container *c;
    const struct proc *p;
    TAILQ_FOREACH(c, &sb->containers, link)
    {
        if (c->init && !proc_exit_ready(c->init))
            return false;
        TAILQ_FOREACH(p, &c->execs, link)
        if (!proc_exit_ready(p))
            return false;
    }
    return true;
}

static void sandbox_parked(struct sandbox *sb)
{
    struct container *c;
    struct proc *p;
    /* completing publishes and answers Waits; it frees nothing */
    TAILQ_FOREACH(c, &sb->containers, link)
    {
        TAILQ_FOREACH(p, &c->execs, link)
        proc_try_complete(p);
        if (c->init)
            proc_try_complete(c->init);
    }
}

/* Exit is complete when the process exited and stdout/stderr reached EOF on our side. Order
 * (spec §4.4): start event first, then exit; FIFOs closed so ctr sees EOF. The last exit of a
 * standalone sandbox waits until its VM is gone: containerd's clients (and ctr's own tests)
 * expect the task's pid to be gone once Wait answers, as runc's init is. */
void proc_try_complete(struct proc *p)
{
    struct waiter *w;
    struct sandbox *sb = p->c->sb;
    struct shim *s = sb->shim;

    if (p->exit_done || !p->agent_exited || !proc_io_drained(p))
        return;
    if (sb->park_cb)
        return; /* the VM is stopping: sandbox_parked completes it */
    if (sb->standalone && sb->state == SB_READY && sandbox_all_exited(sb) &&
        sandbox_park(sb, sandbox_parked) == 0)
        return;
    if (proc_apply(p, PEV_EXIT, NULL) < 0)
        return;
    p->exit_done = true;
    p->drain_timer = loop_source_free(p->drain_timer);
    proc_io_close(p);
    Containerd__Events__TaskExit ev = CONTAINERD__EVENTS__TASK_EXIT__INIT;
    Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    ts.seconds = p->exited_sec;
    ts.nanos = p->exited_nsec;
    ev.container_id = p->c->id;
    ev.id = p->exec_id[0] ? p->exec_id : p->c->id;
    ev.pid = shim_task_pid(s);
    ev.exit_status = p->exit_status;
    ev.exited_at = &ts;
    shim_publish(s, "/tasks/exit", &ev);
    log_info("%s/%s exited with status %u", p->c->id, p->exec_id, p->exit_status);
    while ((w = TAILQ_FIRST(&p->waiters))) {
        TAILQ_REMOVE(&p->waiters, w, link);
        ttrpc_call_set_cancel(w->call, NULL, NULL);
        reply_wait(w->call, p);
        free(w);
    }
}

/* The guest reported the exit long ago and still holds stdout/stderr open (or a reader
 * upstream never takes it): stop waiting for it. Memory was bounded all along (fixed relay
 * buffers, backpressure); this bounds the time the exit is held. */
static void drain_expired(struct loop_source *s, void *data)
{
    struct proc *p = data;
    (void)s;
    p->drain_timer = loop_source_free(p->drain_timer);
    if (p->exit_done || proc_io_drained(p))
        return;
    log_warn("%s/%s: output still open %u ms after the exit: closed, the exit goes out", p->c->id,
             p->exec_id,
             p->c->sb->shim->exit_drain_ms ? p->c->sb->shim->exit_drain_ms : EXIT_DRAIN_MS);
    proc_io_close(p);
    proc_try_complete(p);
}

void proc_agent_exited(struct proc *p, uint32_t status)
{
    if (p->agent_exited)
        return;
    p->agent_exited = true;
    set_exit(p, status);
    proc_try_complete(p);
    if (!p->exit_done && !proc_io_drained(p) && !p->drain_timer) {
        struct shim *s = p->c->sb->shim;
        unsigned ms = s->exit_drain_ms ? s->exit_drain_ms : EXIT_DRAIN_MS;
        if (loop_add_timer(s->loop, (uint64_t)ms * 1000, drain_expired, p, &p->drain_timer) < 0)
            log_warn("%s/%s: no drain timer: the exit waits for the guest to end its output",
                     p->c->id, p->exec_id);
    }
}

void proc_vm_died(struct proc *p)
{
    if (p->exit_done)
        return;
    if (!p->agent_exited) {
        p->agent_exited = true;
        set_exit(p, p->vm_death_status ? p->vm_death_status : 255);
    }
    /* No more bytes can come from a dead guest: whatever is buffered is flushed by close. */
    proc_io_close(p);
    proc_try_complete(p);
}

struct agent_op *op_new(struct shim *s, struct container *c, struct proc *p,
                        struct ttrpc_call *call)
{
    struct agent_op *op = calloc(1, sizeof(*op));
    if (!op)
        return NULL;
    op->s = s;
    op->c = c;
    op->p = p;
    if (call)
        pending_set(&op->rpc, call);
    TAILQ_INSERT_TAIL(&s->ops, op, link);
    return op;
}

struct agent_op *op_find(struct shim *s, const struct proc *p, enum op_waits_for what)
{
    struct agent_op *op = NULL, *o;
    TAILQ_FOREACH(o, &s->ops, link)
    if (o->p == p && o->waits_for == what)
        op = o;
    return op;
}

void op_free(struct agent_op *op)
{
    struct ttrpc_call *call;
    if (!op)
        return;
    if ((call = pending_take(&op->rpc)))
        ttrpc_call_reply_error(call, RPC_INTERNAL, "operation abandoned");
    hooks_cancel(op->hook_run);
    loop_source_free(op->timer);
    TAILQ_REMOVE(&op->s->ops, op, link);
    free(op);
}

void op_free_all(struct shim *s)
{
    struct agent_op *op;
    while ((op = TAILQ_FIRST(&s->ops)))
        op_free(op);
}

void op_reply(struct agent_op *op, const ProtobufCMessage *msg)
{
    struct ttrpc_call *call = pending_take(&op->rpc);
    if (call)
        ttrpc_call_reply(call, msg);
}

void op_reply_error(struct agent_op *op, int code, const char *fmt, ...)
{
    struct ttrpc_call *call = pending_take(&op->rpc);
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (call)
        ttrpc_call_reply_error(call, code, "%s", msg);
}

void op_reply_result(struct agent_op *op, const struct ttrpc_result *res, const char *what)
{
    if (res->code == 0) {
        op_reply(op, NULL);
        return;
    }
    op_reply_error(op, res->code, "%s: %s", what,
                   res->message ? res->message : rpc_code_class_text(res->code));
}
