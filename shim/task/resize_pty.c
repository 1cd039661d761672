/* containerd.task.v2.Task/ResizePty: forwarded to the guest's terminal. */
#define LOG_MODULE "task"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.pb-c.h"
#include "task/rpc.h"

void task_resize_pty(struct ttrpc_call *call, const uint8_t *pl, size_t n, void *ud)
{
    struct shim *s = ud;
    TTRPC_DECODE(Containerd__Task__V2__ResizePtyRequest, containerd__task__v2__resize_pty_request,
                 req, call, pl, n);
    struct proc *p = task_lookup_proc(s, call, req->id, req->exec_id);
    if (!p)
        return;
    if (!p->io.terminal || p->status == PROC_STOPPED || req->width == 0 || req->height == 0) {
        /* nothing to resize (a client on a pty of unknown size sends 0x0, like ctr under script) */
        ttrpc_call_reply(call, NULL);
        return;
    }
    Cvm__Agent__V1__ResizeTtyRequest ar = CVM__AGENT__V1__RESIZE_TTY_REQUEST__INIT;
    ar.container_id = p->c->id;
    ar.exec_id = p->exec_id;
    ar.width = req->width;
    ar.height = req->height;
    task_forward(s, call, p->c, p, "ResizeTty", &ar, NULL);
}
