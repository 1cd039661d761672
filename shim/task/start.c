/* containerd.task.v2.Task/Start: run a created process (init: after the sandbox's network is
 * synced and the prestart-side hooks ran); publish the start event before anything can publish
 * its exit; then wait for it in the agent (WaitProcess answers only after its output drained). */
#define LOG_MODULE "task"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.pb-c.h"
#include "containerd/events/task.pb-c.h"
#include "log.h"
#include "sandbox/sandbox_net.h"
#include "task/rpc.h"

#define STDIO_TIMEOUT_MS 10000u

static void waited(const struct ttrpc_result *res, void *data)
{
    struct agent_op *op = data;
    struct proc *p = op->p;
    if (p && res->code == 0) {
        Cvm__Agent__V1__WaitProcessResponse *w =
            cvm__agent__v1__wait_process_response__unpack(NULL, res->len, res->payload);
        if (w) {
            proc_agent_exited(p, w->exit_status);
            cvm__agent__v1__wait_process_response__free_unpacked(w, NULL);
        } else
            proc_agent_exited(p, 255);
    } else if (p && res->code != RPC_UNAVAILABLE && res->code != RPC_CANCELLED) {
        log_error("agent WaitProcess %s/%s: %s", p->c->id, p->exec_id,
                  res->message ? res->message : "");
        proc_agent_exited(p, 255);
    }
    /* UNAVAILABLE (connection lost): the VM-death path reports exit 255 for everything. */
    op_free(op);
}

static void poststart_done(struct agent_op *op, int r, const char *msg)
{
    Containerd__Task__V2__StartResponse resp = CONTAINERD__TASK__V2__START_RESPONSE__INIT;
    if (r < 0)
        log_warn("container %s: %s; the container keeps running", op->c ? op->c->id : "?", msg);
    resp.pid = shim_task_pid(op->s);
    op_reply(op, &resp.base);
    op_free(op);
}

/* poststart hooks run after the process started and before Start answers (runtime-spec); the
 * start op goes on waiting for the exit, so the reply moves to an op of its own. */
static void start_reply_after_poststart(struct agent_op *op)
{
    struct agent_op *reply = op_new(op->s, op->c, op->p, pending_take(&op->rpc));
    if (!reply) {
        Containerd__Task__V2__StartResponse resp = CONTAINERD__TASK__V2__START_RESPONSE__INIT;
        log_warn("container %s: out of memory: poststart hooks not run", op->c->id);
        resp.pid = shim_task_pid(op->s);
        op_reply(op, &resp.base);
        return;
    }
    task_run_hooks(reply, HOOK_POSTSTART, "running", poststart_done);
}

static void started(const struct ttrpc_result *res, void *data)
{
    struct agent_op *op = data;
    struct proc *p = op->p;
    if (!p) {
        op_reply_error(op, RPC_NOT_FOUND, "process deleted: not found");
        op_free(op);
        return;
    }
    if (res->code != 0) {
        op_reply_result(op, res, "agent StartProcess");
        op_free(op);
        return;
    }
    Cvm__Agent__V1__StartProcessResponse *sr =
        cvm__agent__v1__start_process_response__unpack(NULL, res->len, res->payload);
    if (sr) {
        p->guest_pid = sr->pid;
        cvm__agent__v1__start_process_response__free_unpacked(sr, NULL);
    }
    (void)proc_apply(p, PEV_START, NULL);
    uint32_t pid = shim_task_pid(op->s);
    if (p->exec_id[0]) {
        Containerd__Events__TaskExecStarted ev = CONTAINERD__EVENTS__TASK_EXEC_STARTED__INIT;
        ev.container_id = p->c->id;
        ev.exec_id = p->exec_id;
        ev.pid = pid;
        shim_publish(op->s, "/tasks/exec-started", &ev);
    } else {
        Containerd__Events__TaskStart ev = CONTAINERD__EVENTS__TASK_START__INIT;
        ev.container_id = p->c->id;
        ev.pid = pid;
        shim_publish(op->s, "/tasks/start", &ev);
    }
    p->started_event = true;
    if (!p->exec_id[0] && p->c->hooks.n[HOOK_POSTSTART])
        start_reply_after_poststart(op);
    else {
        Containerd__Task__V2__StartResponse resp = CONTAINERD__TASK__V2__START_RESPONSE__INIT;
        resp.pid = pid;
        op_reply(op, &resp.base);
    }
    /* Now wait for the exit; WaitProcess answers only after output drained (agent.proto). */
    Cvm__Agent__V1__WaitProcessRequest wr = CVM__AGENT__V1__WAIT_PROCESS_REQUEST__INIT;
    wr.container_id = p->c->id;
    wr.exec_id = p->exec_id;
    op->waits_for = OP_WAITS_EXIT;
    if (sandbox_agent_call(p->c->sb, "WaitProcess", &wr, waited, op, 0) < 0) {
        proc_agent_exited(p, 255);
        op_free(op);
    }
}

static void start_in_guest(struct agent_op *op)
{
    struct proc *p = op->p;
    Cvm__Agent__V1__StartProcessRequest ar = CVM__AGENT__V1__START_PROCESS_REQUEST__INIT;
    ar.container_id = p->c->id;
    ar.exec_id = p->exec_id;
    ar.stdio_timeout_ms = STDIO_TIMEOUT_MS;
    if (sandbox_agent_call(p->c->sb, "StartProcess", &ar, started, op, AGENT_CALL_TIMEOUT_NS) < 0) {
        op_reply_error(op, RPC_UNAVAILABLE, "sandbox VM not reachable: unavailable");
        op_free(op);
    }
}

static void start_net_synced(struct sandbox *sb, int r, const char *msg, void *data)
{
    struct agent_op *op = data;
    (void)sb;
    if (!op->p) {
        op_reply_error(op, RPC_NOT_FOUND, "process deleted: not found");
        op_free(op);
        return;
    }
    if (r < 0) {
        op_reply_error(op, rpc_code_from_errno(r), "%s", msg ? msg : "guest network setup failed");
        op_free(op);
        return;
    }
    start_in_guest(op);
}

void task_start(struct ttrpc_call *call, const uint8_t *pl, size_t n, void *ud)
{
    struct shim *s = ud;
    TTRPC_DECODE(Containerd__Task__V2__StartRequest, containerd__task__v2__start_request, req, call,
                 pl, n);
    struct proc *p = task_lookup_proc(s, call, req->id, req->exec_id);
    if (!p || task_check(call, p, PEV_START) < 0)
        return;
    if (p->exec_id[0] && p->c->init->status != PROC_RUNNING)
        return (void)ttrpc_call_reply_error(call, RPC_FAILED_PRECONDITION,
                                            "container %s is not running: failed precondition",
                                            p->c->id);
    struct agent_op *op = op_new(s, p->c, p, call);
    if (!op)
        return (void)ttrpc_call_reply_error(call, RPC_RESOURCE_EXHAUSTED, "out of memory");
    if (p->exec_id[0])
        start_in_guest(op);
    else /* ctr run --cni runs CNI between Create and Start: bring what it made in first */
        sandbox_net_sync(p->c->sb, start_net_synced, op);
}
