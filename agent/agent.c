/* Registry of containers and processes: the agent, ids, lookup. Allocation and teardown are
 * container.c's. */
#include "agent.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "log.h"
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
