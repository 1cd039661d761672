/* OOM kills in the containers' cgroups -> WaitOOM answers -> the shim's /tasks/oom.
 *
 * cgroup v2 raises a file-modified notification on memory.events whenever one of its counters
 * changes (kernfs_notify: inotify IN_MODIFY, poll POLLPRI). One inotify fd serves every
 * container; a notification only says "look again", the counter is the truth: a kill is
 * reported when oom_kill is higher than when we last read it. Besides the notifications the
 * counter is read when a process of the container exits (before the exit is reported, so the
 * host hears of the OOM first, as runc's shim tells it) and when the container goes away. */
#include "cgroup_oom.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <unistd.h>

#define LOG_MODULE "oom"
#include "agent.pb-c.h"
#include "agent_wire.h"
#include "cgroup.h"
#include "log.h"
#include "loop.h"
#include "ttrpc.h"

_Static_assert(AGENT_MAX_OOM_IDS >= AGENT_MAX_CONTAINERS, "a WaitOOM answer holds every container");
_Static_assert(AGENT_MAX_ID_LEN == AGENT_ID_MAX, "one id limit on both sides");

int oom_parse_events(const char *text, uint64_t *kills)
{
    unsigned long long v;
    int r = cgroup_kv_get(text, "oom_kill", &v);
    if (r < 0)
        return r;
    *kills = v;
    return 0;
}

static int read_kills(const struct container *c, uint64_t *kills)
{
    char buf[512];
    int r = cgroup_read_file(c->cgroup, "memory.events", buf, sizeof(buf));
    return r < 0 ? r : oom_parse_events(buf, kills);
}

static void answer(struct agent *a)
{
    struct ttrpc_call *call = a->oom_waiter;
    char *ids[AGENT_MAX_OOM_IDS];
    if (!call || !a->n_oom_queued)
        return;
    a->oom_waiter = NULL;
    ttrpc_call_set_cancel(call, NULL, NULL);
    for (size_t i = 0; i < a->n_oom_queued; i++)
        ids[i] = a->oom_queue[i];
    Cvm__Agent__V1__WaitOOMResponse resp = CVM__AGENT__V1__WAIT_OOMRESPONSE__INIT;
    resp.n_container_ids = a->n_oom_queued;
    resp.container_ids = ids;
    ttrpc_call_reply(call, &resp.base);
    a->n_oom_queued = 0;
}

static void enqueue(struct agent *a, const char *id)
{
    for (size_t i = 0; i < a->n_oom_queued; i++)
        if (strcmp(a->oom_queue[i], id) == 0)
            return;
    if (!a->oom_queue && !(a->oom_queue = calloc(AGENT_MAX_OOM_IDS, sizeof(*a->oom_queue)))) {
        log_error("out of memory: OOM kill of %s not reported", id);
        return;
    }
    /* live containers fit (at most AGENT_MAX_CONTAINERS), but removed ones stay queued
     * until taken: when full, the oldest goes */
    if (a->n_oom_queued == AGENT_MAX_OOM_IDS) {
        log_warn("OOM queue full: the report for %s is dropped", a->oom_queue[0]);
        memmove(a->oom_queue, a->oom_queue + 1, (AGENT_MAX_OOM_IDS - 1) * sizeof(*a->oom_queue));
        a->n_oom_queued--;
    }
    snprintf(a->oom_queue[a->n_oom_queued++], AGENT_ID_MAX + 1, "%s", id);
}

void oom_check(struct agent *a, struct container *c)
{
    uint64_t k;
    if (!c || !c->cgroup || read_kills(c, &k) < 0 || k <= c->oom_kills)
        return;
    log_info("container %s: OOM kill (memory.events oom_kill %llu -> %llu)", c->id,
             (unsigned long long)c->oom_kills, (unsigned long long)k);
    c->oom_kills = k;
    enqueue(a, c->id);
    answer(a);
}

static void on_inotify(struct loop_source *s, int fd, uint32_t events, void *data)
{
    struct agent *a = data;
    /* aligned for struct inotify_event; a batch of notifications per read */
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    (void)s;
    (void)events;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n <= 0)
            return; /* EAGAIN: drained */
        for (char *p = buf; p + sizeof(struct inotify_event) <= buf + n;) {
            const struct inotify_event *ev = (const struct inotify_event *)p;
            for (struct container *c = a->containers; c; c = c->next)
                if (c->oom_wd == ev->wd)
                    oom_check(a, c);
            p += sizeof(*ev) + ev->len;
        }
    }
}

int oom_init(struct agent *a)
{
    a->oom_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (a->oom_fd < 0)
        return -errno;
    int r = loop_add_io(a->loop, a->oom_fd, EPOLLIN, on_inotify, a, &a->oom_src);
    if (r < 0) {
        close(a->oom_fd);
        a->oom_fd = -1;
    }
    return r;
}

int oom_watch(struct agent *a, struct container *c)
{
    char path[512];
    c->oom_wd = -1;
    if (!c->cgroup)
        return 0;
    (void)read_kills(c, &c->oom_kills); /* no memory controller: stays 0, never reported */
    if (a->oom_fd < 0)
        return 0;
    snprintf(path, sizeof(path), "%s/memory.events", c->cgroup);
    int wd = inotify_add_watch(a->oom_fd, path, IN_MODIFY);
    if (wd < 0)
        return errno == ENOENT ? 0 : -errno;
    c->oom_wd = wd;
    return 0;
}

void oom_unwatch(struct agent *a, struct container *c)
{
    oom_check(a, c);
    if (c->oom_wd >= 0 && a->oom_fd >= 0)
        (void)inotify_rm_watch(a->oom_fd, c->oom_wd);
    c->oom_wd = -1;
}

static void on_cancel(struct ttrpc_call *call, void *data)
{
    struct agent *a = data;
    if (a->oom_waiter == call)
        a->oom_waiter = NULL;
}

void oom_wait(struct agent *a, struct ttrpc_call *call)
{
    if (a->oom_waiter) {
        ttrpc_call_reply_error(call, RPC_FAILED_PRECONDITION, "a WaitOOM call is already waiting");
        return;
    }
    a->oom_waiter = call;
    ttrpc_call_set_cancel(call, on_cancel, a);
    answer(a);
}
