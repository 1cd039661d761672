/* containerd.task.v2.Task/Connect: the shim's and the task's pids, and the shim's version. */
#define LOG_MODULE "task"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include "cli/cmd.h"
#include "task/rpc.h"

void task_connect(struct ttrpc_call *call, const uint8_t *pl, size_t n, void *ud)
{
    struct shim *s = ud;
    TTRPC_DECODE(Containerd__Task__V2__ConnectRequest, containerd__task__v2__connect_request, req,
                 call, pl, n);
    Containerd__Task__V2__ConnectResponse r = CONTAINERD__TASK__V2__CONNECT_RESPONSE__INIT;
    r.shim_pid = (uint32_t)getpid();
    r.task_pid = shim_find_container(s, req->id) ? shim_task_pid(s) : 0;
    r.version = SHIM_VERSION_STR;
    ttrpc_call_reply(call, &r.base);
}
