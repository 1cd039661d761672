/* containerd.task.v2.Task/Shutdown, and the daemon's exit: stop the VM, then quit the loop
 * (the daemon flushes events after it). */
#define LOG_MODULE "task"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "loop.h"
#include "task/rpc.h"

static void exit_now(void *data)
{
    struct shim *s = data;
    loop_quit(s->loop, 0);
}

static void sandbox_stopped(struct sandbox *sb, void *data)
{
    (void)sb;
    loop_defer(((struct shim *)data)->loop, exit_now, data);
}

void shim_begin_exit(struct shim *s)
{
    if (s->shutting_down)
        return;
    s->shutting_down = true;
    log_info("shutting down");
    if (s->sb)
        sandbox_stop(s->sb, sandbox_stopped, s);
    else
        loop_defer(s->loop, exit_now, s);
}

void task_shutdown(struct ttrpc_call *call, const uint8_t *pl, size_t n, void *ud)
{
    struct shim *s = ud;
    TTRPC_DECODE(Containerd__Task__V2__ShutdownRequest, containerd__task__v2__shutdown_request, req,
                 call, pl, n);
    /* A no-op while any container (the sandbox included) is tracked (spec §9 item 6). */
    if (s->sb && !TAILQ_EMPTY(&s->sb->containers)) {
        ttrpc_call_reply(call, NULL);
        return;
    }
    ttrpc_call_reply(call, NULL);
    shim_begin_exit(s);
}
