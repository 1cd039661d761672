/* Catch-all reaping of orphans re-parented to the shim (reaper.h). */
#define LOG_MODULE "reaper"
#include "daemon/reaper.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "log.h"
#include "loop.h"

/* Zombies handled per sweep: bounded so a fork storm cannot monopolise one loop turn. */
#define MAX_REAP_PER_SWEEP 256

struct reaper {
    struct loop *loop;
    struct loop_source *sig;
    bool resweep_queued;
};

static void resweep(void *data)
{
    struct reaper *r = data;
    r->resweep_queued = false;
    reaper_sweep(r);
}

static void queue_resweep(struct reaper *r)
{
    if (!r->resweep_queued && loop_defer(r->loop, resweep, r) >= 0)
        r->resweep_queued = true;
}

/* Peek at the next zombie without reaping it (WNOWAIT); reap it only when no pidfd source
 * owns it. When the next zombie is an owned one, its source reaps it during this or the
 * next loop turn, so look again after that: zombies behind it are not forgotten. */
int reaper_sweep(struct reaper *r)
{
    int reaped = 0;
    for (int i = 0; i < MAX_REAP_PER_SWEEP; i++) {
        siginfo_t si;
        memset(&si, 0, sizeof(si));
        if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0 || si.si_pid == 0)
            return reaped; /* ECHILD or no zombie */
        if (loop_child_watched(r->loop, si.si_pid)) {
            queue_resweep(r);
            return reaped;
        }
        if (waitpid(si.si_pid, NULL, WNOHANG) == si.si_pid) {
            log_debug("reaped orphan %d", (int)si.si_pid);
            reaped++;
        }
    }
    queue_resweep(r);
    return reaped;
}

static void sigchld_cb(struct loop_source *s, const struct signalfd_siginfo *si, void *data)
{
    (void)s;
    (void)si;
    reaper_sweep(data);
}

int reaper_new(struct loop *l, struct reaper **ret)
{
    struct reaper *r = calloc(1, sizeof(*r));
    int rc;
    if (!r)
        return -ENOMEM;
    r->loop = l;
    rc = loop_add_signal(l, SIGCHLD, sigchld_cb, r, &r->sig);
    if (rc < 0) {
        free(r);
        return rc;
    }
    *ret = r;
    return 0;
}

void reaper_free(struct reaper *r)
{
    if (!r)
        return;
    loop_source_free(r->sig);
    free(r);
}
