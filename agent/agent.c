/* Registry of containers and processes: ids, lookup, allocation, teardown. */
#include "agent.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cgroup.h"
#include "cgroup_async.h"
#include "cgroup_oom.h"
#include "cleanup.h"
#include "log.h"
#include "stdio.h"
#include "ttrpc.h"

struct agent *agent_global;

uint64_t agent_uptime_ns(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_BOOTTIME, &ts) < 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

bool agent_id_valid(const char *id, bool allow_empty)
{
    size_t n = strlen(id);
    if (n == 0)
        return allow_empty;
    if (n > AGENT_ID_MAX || id[0] == '.' || id[0] == '-')
        return false;
    for (const char *c = id; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '_' || *c == '.' || *c == '-'))
            return false;
    return true;
}

struct container *agent_find_container(struct agent *a, const char *id)
{
    for (struct container *c = a->containers; c; c = c->next)
        if (strcmp(c->id, id) == 0)
            return c;
    return NULL;
}

struct process *container_find_process(struct container *c, const char *exec_id)
{
    if (!exec_id[0])
        return c->init;
    for (struct process *p = c->execs; p; p = p->next)
        if (strcmp(p->exec_id, exec_id) == 0)
            return p;
    return NULL;
}

struct process *agent_find_pid(struct agent *a, pid_t pid)
{
    for (struct container *c = a->containers; c; c = c->next) {
        if (c->init && c->init->pid == pid)
            return c->init;
        for (struct process *p = c->execs; p; p = p->next)
            if (p->pid == pid)
                return p;
    }
    return NULL;
}

int process_new(struct container *c, const char *exec_id, struct process **ret)
{
    struct process *p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    p->c = c;
    strcpy(p->exec_id, exec_id);
    p->sync_fd = -1;
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

void container_free(struct agent *a, struct container *c)
{
    (void)container_free_then(a, c, NULL, NULL);
}

bool container_free_then(struct agent *a, struct container *c, void (*done)(int r, void *data), void *data)
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
