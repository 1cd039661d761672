/* containerd.task.v2.Task/Exec: register an additional process with the agent and attach its
 * stdio; Start (start.c) runs it. */
#define LOG_MODULE "task"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "naming/address.h"
#include "agent.pb-c.h"
#include "cleanup.h"
#include "containerd/events/task.pb-c.h"
#include "log.h"
#include "task/rpc.h"

#define EXEC_SPEC_MAX (256u * 1024u)

static void exec_attached(struct proc *p, int r, const char *msg)
{
    struct agent_op *op = op_find(p->c->sb->shim, p, OP_WAITS_EXEC_ATTACH);
    if (!op)
        return;
    if (r < 0) {
        op_reply_error(op, RPC_UNAVAILABLE, "%s", msg);
        TAILQ_REMOVE(&p->c->execs, p, link);
        proc_free(p);
        op_free(op);
        return;
    }
    Containerd__Events__TaskExecAdded ev = CONTAINERD__EVENTS__TASK_EXEC_ADDED__INIT;
    ev.container_id = p->c->id;
    ev.exec_id = p->exec_id;
    shim_publish(op->s, "/tasks/exec-added", &ev);
    op_reply(op, NULL);
    op_free(op);
}

static void exec_registered(const struct ttrpc_result *res, void *data)
{
    struct agent_op *op = data;
    struct proc *p = op->p;
    if (!p) {
        op_free(op);
        return;
    }
    if (res->code != 0) {
        op_reply_result(op, res, "agent ExecProcess");
        TAILQ_REMOVE(&p->c->execs, p, link);
        proc_free(p);
        op_free(op);
        return;
    }
    op->waits_for = OP_WAITS_EXEC_ATTACH;
    proc_io_attach(p, exec_attached);
}

void task_exec(struct ttrpc_call *call, const uint8_t *pl, size_t n, void *ud)
{
    struct shim *s = ud;
    struct cvm_err err = {0};
    TTRPC_DECODE(Containerd__Task__V2__ExecProcessRequest,
                 containerd__task__v2__exec_process_request, req, call, pl, n);
    struct container *c = task_lookup_container(s, call, req->id);
    if (!c)
        return;
    if (!req->exec_id || !shim_valid_identifier(req->exec_id) || strlen(req->exec_id) > 64)
        return (void)ttrpc_call_reply_error(call, RPC_INVALID_ARGUMENT,
                                            "invalid exec id: invalid argument");
    if (container_find_proc(c, req->exec_id))
        return (void)ttrpc_call_reply_error(call, RPC_ALREADY_EXISTS, "exec %s: already exists",
                                            req->exec_id);
    if (task_check(call, c->init, PEV_EXEC) < 0)
        return;
    if (!req->spec || req->spec->value.len == 0 || req->spec->value.len > EXEC_SPEC_MAX)
        return (void)ttrpc_call_reply_error(call, RPC_INVALID_ARGUMENT,
                                            "exec spec missing or too large: invalid argument");

    struct proc *p = proc_new(c, req->exec_id);
    if (!p)
        return (void)ttrpc_call_reply_error(call, RPC_RESOURCE_EXHAUSTED, "out of memory");
    TAILQ_INSERT_TAIL(&c->execs, p, link);
    snprintf(p->io.path[STREAM_STDIN], sizeof(p->io.path[0]), "%s", req->stdin ? req->stdin : "");
    snprintf(p->io.path[STREAM_STDOUT], sizeof(p->io.path[0]), "%s",
             req->stdout ? req->stdout : "");
    snprintf(p->io.path[STREAM_STDERR], sizeof(p->io.path[0]), "%s",
             req->stderr ? req->stderr : "");
    p->io.terminal = req->terminal;
    int r = proc_io_open(p, &err);
    struct agent_op *op = r == 0 ? op_new(s, c, p, call) : NULL;
    if (!op) {
        TAILQ_REMOVE(&c->execs, p, link);
        proc_free(p);
        if (r == 0)
            ttrpc_call_reply_error(call, RPC_RESOURCE_EXHAUSTED, "out of memory");
        else
            ttrpc_call_reply_errno(call, r, &err);
        return;
    }
    Cvm__Agent__V1__ExecProcessRequest ar = CVM__AGENT__V1__EXEC_PROCESS_REQUEST__INIT;
    Cvm__Agent__V1__StdioFlags fl = CVM__AGENT__V1__STDIO_FLAGS__INIT;
    fl.stdin = p->io.want[STREAM_STDIN];
    fl.stdout = p->io.want[STREAM_STDOUT];
    fl.stderr = p->io.want[STREAM_STDERR];
    fl.terminal = p->io.terminal;
    ar.container_id = c->id;
    ar.exec_id = p->exec_id;
    log_debug("exec %s/%s terminal=%d process=%.*s", c->id, p->exec_id, req->terminal,
              (int)MIN(req->spec->value.len, 300u), (const char *)req->spec->value.data);
    ar.process_json.data = req->spec->value.data;
    ar.process_json.len = req->spec->value.len;
    ar.stdio = &fl;
    r = sandbox_agent_call(c->sb, "ExecProcess", &ar, exec_registered, op, AGENT_CALL_TIMEOUT_NS);
    if (r < 0) {
        op_reply_error(op, RPC_UNAVAILABLE, "sandbox VM not reachable: unavailable");
        TAILQ_REMOVE(&c->execs, p, link);
        proc_free(p);
        op_free(op);
    }
}
