/* containerd.task.v2.Task/CloseIO: EOF on a process's stdin once what is buffered is delivered. */
#define LOG_MODULE "task"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "task/rpc.h"

void task_close_io(struct ttrpc_call *call, const uint8_t *pl, size_t n, void *ud)
{
    struct shim *s = ud;
    TTRPC_DECODE(Containerd__Task__V2__CloseIORequest, containerd__task__v2__close_iorequest, req,
                 call, pl, n);
    struct proc *p = task_lookup_proc(s, call, req->id, req->exec_id);
    if (!p)
        return;
    if (req->stdin)
        proc_io_close_stdin(p); /* buffered input is delivered first, then EOF */
    ttrpc_call_reply(call, NULL);
}
