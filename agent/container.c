/* A container's and a process's allocation and teardown: every process's pending calls failed,
 * its streams freed, the container's freeze call answered, its OOM watch dropped and its cgroup
 * removed on a timer. */
#include "agent.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup.h"
#include "cgroup_async.h"
#include "cgroup_oom.h"
#include "cleanup.h"
#include "log.h"
#include "stdio.h"
#include "ttrpc.h"

int process_new(struct container *c, const char *exec_id, struct process **ret)
{
    struct process *p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    p->c = c;
    strcpy(p->exec_id, exec_id);
    p->sync_fd = -1;
    /* how its streams (stdio.c) report back, without calling up into process.c */
    p->stream_ended = process_maybe_done;
    p->stream_attached = process_stream_attached;
    for (int i = 0; i < 3; i++)
        p->fds[i] = -1;
    *ret = p;
    return 0;
}

void process_free(struct process *p)
{
    if (!p)
        return;
    process_fail_pending(p, RPC_NOT_FOUND, "process removed");
    for (int i = 0; i < 3; i++) {
        stream_free(p->streams[i]);
        safe_close(p->fds[i]);
    }
    safe_close(p->sync_fd);
    free(p);
}

void container_kill_all(struct container *c)
{
    if (c->cgroup)
        (void)cgroup_kill(c->cgroup, SIGKILL);
    if (c->init && c->init->pid > 0 && c->init->state < PROC_EXITED)
        (void)kill(c->init->pid, SIGKILL);
    for (struct process *p = c->execs; p; p = p->next)
        if (p->pid > 0 && p->state < PROC_EXITED)
            (void)kill(p->pid, SIGKILL);
}

void container_free(struct agent *a, struct container *c)
{
    (void)container_free_then(a, c, NULL, NULL);
}

bool container_free_then(struct agent *a, struct container *c, void (*done)(int r, void *data),
                         void *data)
{
    bool later = false;
    if (!c)
        return false;
    for (struct container **pp = &a->containers; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            a->n_containers--;
            break;
        }
    while (c->execs) {
        struct process *p = c->execs;
        c->execs = p->next;
        process_free(p);
    }
    process_free(c->init);
    if (c->freeze_op) { /* a Pause/Resume under way: its caller learns the container went */
        cgroup_op_cancel(c->freeze_op);
        if (c->freeze_call) {
            ttrpc_call_set_cancel(c->freeze_call, NULL, NULL);
            ttrpc_call_reply_error(c->freeze_call, RPC_NOT_FOUND, "container %s: removed", c->id);
        }
    }
    oom_unwatch(a, c);
    if (c->cgroup) {
        /* Members SIGKILLed just now leave within ms: rmdir is retried on a timer, never
         * slept on here. */
        int r = cgroup_remove_start(a->loop, c->cgroup, CGROUP_REMOVE_TIMEOUT_MS, done, data, NULL);
        if (r < 0)
            log_warn("container %s: cgroup %s not removed: %s", c->id, c->cgroup, strerror(-r));
        later = r == 0 && done;
    }
    free(c->cgroup);
    free(c->rootfs);
    free(c->share_dir);
    oci_spec_free(c->spec);
    free(c);
    return later;
}
