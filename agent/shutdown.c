/* The agent's end: every container killed, then power off (PID 1) or leave the loop (host mode). */
#include "rpc.h"

#include <sys/reboot.h>
#include <unistd.h>

#define LOG_MODULE "rpc"
#include "log.h"
#include "loop.h"

static void do_poweroff(struct loop_source *t, void *data)
{
    struct agent *a = data;
    (void)t;
    if (!a->cfg.pid1) {
        loop_quit(a->loop, 0);
        return;
    }
    log_info("powering off");
    sync();
    reboot(RB_POWER_OFF);
    /* Not reached; if it is, PID 1 must not return: wait for the VM to go. */
    for (;;)
        pause();
}

void agent_shutdown(struct agent *a)
{
    if (a->shutting_down)
        return;
    a->shutting_down = true;
    for (struct container *c = a->containers; c; c = c->next) {
        container_kill_all(c);
    }
    /* A moment later, so queued replies (Shutdown's own) reach the host first. */
    static struct loop_source *t;
    if (loop_add_timer(a->loop, 200 * 1000, do_poweroff, a, &t) < 0)
        do_poweroff(NULL, a);
}
