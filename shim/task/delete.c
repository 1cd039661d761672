/* containerd.task.v2.Task/Delete: a container (RemoveContainer in the guest, poststop hooks,
 * TaskDelete, its share directory) or an exec (DeleteProcess in the guest). */
#define LOG_MODULE "task"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.pb-c.h"
#include "containerd/events/task.pb-c.h"
#include "log.h"
#include "sandbox/share.h"
#include "task/rpc.h"

static void reply_delete(struct ttrpc_call *call, struct agent_op *op, struct shim *s,
                         struct proc *p)
{
    Containerd__Task__V2__DeleteResponse r = CONTAINERD__TASK__V2__DELETE_RESPONSE__INIT;
    Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    r.pid = shim_task_pid(s);
    r.exit_status = p->exit_status;
    task_fill_timestamp(&ts, p);
    r.exited_at = &ts;
    if (call)
        ttrpc_call_reply(call, &r.base);
    else
        op_reply(op, &r.base);
}

static void finish_container_delete(struct agent_op *op)
{
    struct container *c = op->c;
    struct shim *s = op->s;
    if (!c) {
        op_reply_error(op, RPC_NOT_FOUND, "container: not found");
        op_free(op);
        return;
    }
    struct proc *p = c->init;
    struct sandbox *sb = c->sb;
    char name[sizeof(c->share_name)];
    snprintf(name, sizeof(name), "%s", c->share_name);
    Containerd__Events__TaskDelete ev = CONTAINERD__EVENTS__TASK_DELETE__INIT;
    Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    task_fill_timestamp(&ts, p);
    ev.container_id = c->id;
    ev.pid = shim_task_pid(s);
    ev.exit_status = p->exit_status;
    ev.exited_at = &ts;
    ev.id = "";
    shim_publish(s, "/tasks/delete", &ev);
    reply_delete(NULL, op, s, p);
    TAILQ_REMOVE(&c->sb->containers, c, link);
    shim_container_free(c);
    op_free(op);
    if (name[0])
        (void)share_remove_container(&sb->share, name);
}

/* poststop hooks run at Delete, before it answers (runc); a failure is logged, Delete goes on. */
static void poststop_done(struct agent_op *op, int r, const char *msg)
{
    if (r < 0 && op->c)
        log_warn("container %s: %s; continuing", op->c->id, msg);
    finish_container_delete(op);
}

static void delete_with_poststop(struct agent_op *op)
{
    task_run_hooks(op, HOOK_POSTSTOP, "stopped", poststop_done);
}

static void removed(const struct ttrpc_result *res, void *data)
{
    struct agent_op *op = data;
    if (res->code != 0 && op->c)
        log_warn("agent RemoveContainer %s: %s; continuing", op->c->id,
                 res->message ? res->message : "");
    delete_with_poststop(op);
}

static void finish_exec_delete(struct agent_op *op)
{
    struct proc *p = op->p;
    if (!p) {
        op_reply_error(op, RPC_NOT_FOUND, "process: not found");
    } else {
        reply_delete(NULL, op, op->s, p);
        TAILQ_REMOVE(&p->c->execs, p, link);
        proc_free(p);
    }
    op_free(op);
}

static void exec_removed(const struct ttrpc_result *res, void *data)
{
    struct agent_op *op = data;
    if (res->code != 0 && op->p)
        log_warn("agent DeleteProcess %s/%s: %s; forgetting it here", op->p->c->id, op->p->exec_id,
                 res->message ? res->message : "");
    finish_exec_delete(op);
}

/* An exec's Delete also frees it in the agent (DeleteProcess): otherwise the agent keeps
 * every finished exec, refuses a reused exec ID and stops at its per-container exec limit. */
static void delete_exec(struct shim *s, struct ttrpc_call *call, struct proc *p)
{
    if (p->deleting)
        return (void)ttrpc_call_reply_error(call, RPC_FAILED_PRECONDITION,
                                            "exec %s is being deleted: failed precondition",
                                            p->exec_id);
    struct agent_op *op = op_new(s, p->c, p, call);
    if (!op)
        return (void)ttrpc_call_reply_error(call, RPC_RESOURCE_EXHAUSTED, "out of memory");
    p->deleting = true;
    Cvm__Agent__V1__DeleteProcessRequest ar = CVM__AGENT__V1__DELETE_PROCESS_REQUEST__INIT;
    ar.container_id = p->c->id;
    ar.exec_id = p->exec_id;
    /* A dead VM has nothing left to free. */
    if (sandbox_agent_call(p->c->sb, "DeleteProcess", &ar, exec_removed, op,
                           AGENT_CALL_TIMEOUT_NS) < 0)
        finish_exec_delete(op);
}

void task_delete(struct ttrpc_call *call, const uint8_t *pl, size_t n, void *ud)
{
    struct shim *s = ud;
    TTRPC_DECODE(Containerd__Task__V2__DeleteRequest, containerd__task__v2__delete_request, req,
                 call, pl, n);
    struct proc *p = task_lookup_proc(s, call, req->id, req->exec_id);
    if (!p || task_check(call, p, PEV_DELETE) < 0)
        return;
    struct container *c = p->c;
    if (p->exec_id[0])
        return delete_exec(s, call, p);
    if (c->deleting)
        return (void)ttrpc_call_reply_error(call, RPC_FAILED_PRECONDITION,
                                            "container %s is being deleted: failed precondition",
                                            c->id);
    c->deleting = true;
    if (p->status == PROC_CREATED && !p->exit_done) {
        /* deleting a never-started container: its process ends without running */
        proc_io_close(p);
    }
    struct agent_op *op = op_new(s, c, NULL, call);
    if (!op)
        return (void)ttrpc_call_reply_error(call, RPC_RESOURCE_EXHAUSTED, "out of memory");
    Cvm__Agent__V1__RemoveContainerRequest ar = CVM__AGENT__V1__REMOVE_CONTAINER_REQUEST__INIT;
    ar.container_id = c->id;
    ar.force = true;
    if (!c->agent_created ||
        sandbox_agent_call(c->sb, "RemoveContainer", &ar, removed, op, 10ull * 1000000000ull) < 0)
        delete_with_poststop(op);
}
