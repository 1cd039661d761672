/* containerd.task.v2.Task/Pause and Resume: the guest freezes or thaws the container's cgroup;
 * TaskPaused / TaskResumed follow. */
#define LOG_MODULE "task"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.pb-c.h"
#include "containerd/events/task.pb-c.h"
#include "task/rpc.h"

static void paused_or_resumed(const struct ttrpc_result *res, void *data)
{
    struct agent_op *op = data;
    struct proc *p = op->c ? op->c->init : NULL;
    if (res->code == 0 && p) {
        bool pause = op->pause;
        if (proc_apply(p, pause ? PEV_PAUSE : PEV_RESUME, NULL) == 0) {
            Containerd__Events__TaskPaused pe = CONTAINERD__EVENTS__TASK_PAUSED__INIT;
            Containerd__Events__TaskResumed re = CONTAINERD__EVENTS__TASK_RESUMED__INIT;
            pe.container_id = re.container_id = op->c->id;
            shim_publish(op->s, pause ? "/tasks/paused" : "/tasks/resumed",
                         pause ? (const void *)&pe : (const void *)&re);
        }
    }
    op_reply_result(op, res, op->pause ? "agent PauseContainer" : "agent ResumeContainer");
    op_free(op);
}

static void pause_resume(struct shim *s, struct ttrpc_call *call, const char *id, bool pause)
{
    struct container *c = task_lookup_container(s, call, id);
    if (!c || task_check(call, c->init, pause ? PEV_PAUSE : PEV_RESUME) < 0)
        return;
    struct agent_op *op = op_new(s, c, NULL, call);
    if (!op)
        return (void)ttrpc_call_reply_error(call, RPC_RESOURCE_EXHAUSTED, "out of memory");
    op->pause = pause;
    Cvm__Agent__V1__ContainerRequest ar = CVM__AGENT__V1__CONTAINER_REQUEST__INIT;
    ar.container_id = c->id;
    if (sandbox_agent_call(c->sb, pause ? "PauseContainer" : "ResumeContainer", &ar,
                           paused_or_resumed, op, AGENT_CALL_TIMEOUT_NS) < 0) {
        op_reply_error(op, RPC_UNAVAILABLE, "sandbox VM not reachable: unavailable");
        op_free(op);
    }
}

void task_pause(struct ttrpc_call *call, const uint8_t *pl, size_t n, void *ud)
{
    TTRPC_DECODE(Containerd__Task__V2__PauseRequest, containerd__task__v2__pause_request, req, call,
                 pl, n);
    pause_resume(ud, call, req->id, true);
}

void task_resume(struct ttrpc_call *call, const uint8_t *pl, size_t n, void *ud)
{
    TTRPC_DECODE(Containerd__Task__V2__ResumeRequest, containerd__task__v2__resume_request, req,
                 call, pl, n);
    pause_resume(ud, call, req->id, false);
}
