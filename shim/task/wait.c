/* containerd.task.v2.Task/Wait: answered when the process's exit is published (proc.c). */
#define LOG_MODULE "task"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "task/rpc.h"

void task_wait(struct ttrpc_call *call, const uint8_t *pl, size_t n, void *ud)
{
    struct shim *s = ud;
    TTRPC_DECODE(Containerd__Task__V2__WaitRequest, containerd__task__v2__wait_request, req, call,
                 pl, n);
    struct proc *p = task_lookup_proc(s, call, req->id, req->exec_id);
    if (p)
        proc_add_waiter(p, call);
}
