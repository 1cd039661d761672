/* containerd.task.v2.Task/State: answered from the shim's own record of the process. */
#define LOG_MODULE "task"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "task/rpc.h"

void task_state(struct ttrpc_call *call, const uint8_t *pl, size_t n, void *ud)
{
    struct shim *s = ud;
    TTRPC_DECODE(Containerd__Task__V2__StateRequest, containerd__task__v2__state_request, req, call,
                 pl, n);
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
