/* The only caller of wait*(): SIGCHLD through the loop's signalfd, then waitpid(-1) until
 * nothing is left, so orphans reparented to PID 1 (or to the subreaper) are reaped too. */
#include <errno.h>
#include <signal.h>
#include <sys/wait.h>

#define LOG_MODULE "reaper"
#include "agent.h"
#include "cgroup_oom.h"
#include "log.h"
#include "loop.h"

static void on_sigchld(struct loop_source *s, const struct signalfd_siginfo *si, void *data)
{
    struct agent *a = data;
    (void)s;
    (void)si;
    for (;;) {
        int st;
        pid_t pid = waitpid(-1, &st, WNOHANG);
        if (pid <= 0)
            return; /* 0: children still running; -1/ECHILD: none left */
        struct process *p = agent_find_pid(a, pid);
        if (p && p->state < PROC_EXITED) {
            oom_check(a, p->c); /* an OOM kill is told before the exit it caused */
            process_on_exit(p, st);
        } else
            log_debug("reaped pid %d (not a tracked process)", (int)pid);
    }
}

int reaper_init(struct agent *a)
{
    return loop_add_signal(a->loop, SIGCHLD, on_sigchld, a, &a->sigchld);
}
