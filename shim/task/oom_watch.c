/* WaitOOM -> /tasks/oom. The agent queues every container whose cgroup saw an OOM kill and
 * answers one WaitOOM with all of them; we publish a TaskOOM for each one still known here
 * (the guest names containers; ids of no container of ours are dropped, never published)
 * and ask again. The call has no deadline: the heartbeat, not this call, tells a hung guest.
 *
 * The guest is hostile and may answer every WaitOOM at once, forever. So: at most one TaskOOM
 * per container per OOM_MIN_INTERVAL_NS (more kills in that time coalesce into one pending
 * flag on the container, published when the interval is over), and WaitOOM is asked again
 * at most once per OOM_MIN_INTERVAL_NS (a quicker answer re-arms on a timer). Nothing is
 * allocated per answer beyond the bounded decode (agent_limits.c): the state is a flag and a
 * time per container the shim knows, and one timer per sandbox. */
#include "task/oom_watch.h"

#include <string.h>

#define LOG_MODULE "oom"
#include "agent.pb-c.h"
#include "sandbox/agent_limits.h"
#include "agent_wire.h"
#include "containerd/events/task.pb-c.h"
#include "fd.h"
#include "log.h"
#include "loop.h"
#include "task/model.h"
#include "ttrpc.h"

/* Errors in a row before we give up (a guest that fails WaitOOM at once would spin us). */
#define OOM_MAX_ERRORS 3

static void arm(struct sandbox *sb);

static void publish(struct container *c, uint64_t now)
{
    Containerd__Events__TaskOOM ev = CONTAINERD__EVENTS__TASK_OOM__INIT;
    ev.container_id = c->id;
    log_info("%s: OOM kill in the guest", c->id);
    c->oom_pending = false;
    c->oom_last_ns = now;
    shim_publish(c->sb->shim, "/tasks/oom", &ev);
}

/* Publish what is due; the time the next pending one is due, 0 when none is left. */
static uint64_t flush_pending(struct sandbox *sb, uint64_t now)
{
    uint64_t next = 0;
    struct container *c;
    TAILQ_FOREACH(c, &sb->containers, link)
    {
        if (!c->oom_pending)
            continue;
        uint64_t due = c->oom_last_ns ? c->oom_last_ns + OOM_MIN_INTERVAL_NS : 0;
        if (now >= due)
            publish(c, now);
        else if (!next || due < next)
            next = due;
    }
    return next;
}

/* The timer for the earliest of: a pending TaskOOM due, the next WaitOOM allowed. */
static void schedule(struct sandbox *sb, uint64_t now)
{
    uint64_t next = flush_pending(sb, now);
    if (sb->oom_want_arm) {
        uint64_t at = sb->oom_armed_ns + OOM_MIN_INTERVAL_NS;
        if (now >= at) {
            sb->oom_want_arm = false;
            arm(sb);
        } else if (!next || at < next) {
            next = at;
        }
    }
    if (next && sb->oom_timer)
        (void)loop_timer_set(sb->oom_timer, (next - now + 999) / 1000);
}

static void on_timer(struct loop_source *s, void *data)
{
    struct sandbox *sb = data;
    (void)s;
    if (sb->state == SB_READY)
        schedule(sb, now_ns());
}

static void rearm_later(struct sandbox *sb)
{
    sb->oom_want_arm = true;
    schedule(sb, now_ns());
}

static void answered(const struct ttrpc_result *res, void *data)
{
    struct sandbox *sb = data;
    if (sb->state != SB_READY)
        return; /* the VM is going or gone (the call was failed with it) */
    if (res->code == RPC_UNIMPLEMENTED) {
        log_warn("sandbox %s: agent has no WaitOOM: OOM kills are not reported", sb->id);
        return;
    }
    if (res->code != 0) {
        log_warn("sandbox %s: WaitOOM: %s", sb->id, res->message ? res->message : "error");
        if (++sb->oom_errors >= OOM_MAX_ERRORS) {
            log_error("sandbox %s: WaitOOM failed %u times: OOM kills are no longer reported",
                      sb->id, sb->oom_errors);
            return;
        }
        rearm_later(sb);
        return;
    }
    sb->oom_errors = 0;
    Cvm__Agent__V1__WaitOOMResponse *r = NULL;
    if (agent_reply_count_ok(res, 1, AGENT_MAX_OOM_IDS)) /* before unpack allocates per id */
        r = cvm__agent__v1__wait_oomresponse__unpack(NULL, res->len, res->payload);
    if (!r) {
        log_warn("sandbox %s: malformed WaitOOM answer", sb->id);
    } else {
        size_t unknown = 0;
        const char *first_unknown = NULL;
        for (size_t i = 0; i < r->n_container_ids; i++) {
            const char *id = r->container_ids[i];
            struct container *c =
                id && strlen(id) <= AGENT_MAX_ID_LEN ? shim_find_container(sb->shim, id) : NULL;
            if (c && c->sb == sb) {
                c->oom_pending = true;
            } else if (!unknown++) {
                first_unknown = id;
            }
        }
        if (unknown) /* deleted meanwhile (the agent reports kills seen at removal), or invented */
            log_info("sandbox %s: OOM kill in %zu container(s) not (or no longer) ours "
                     "(\"%.64s\"...): not published",
                     sb->id, unknown, first_unknown ? first_unknown : "");
        cvm__agent__v1__wait_oomresponse__free_unpacked(r, NULL);
    }
    rearm_later(sb);
}

static void arm(struct sandbox *sb)
{
    Cvm__Agent__V1__Empty e = CVM__AGENT__V1__EMPTY__INIT;
    sb->oom_armed_ns = now_ns();
    int r = sandbox_agent_call(sb, "WaitOOM", &e, answered, sb, 0);
    if (r < 0)
        log_warn("sandbox %s: WaitOOM: %s: OOM kills are not reported", sb->id, strerror(-r));
}

void sandbox_oom_watch(struct sandbox *sb)
{
    if (!sb->oom_timer && loop_add_timer(sb->loop, 0, on_timer, sb, &sb->oom_timer) < 0) {
        log_warn("sandbox %s: no timer: OOM kills are not reported", sb->id);
        return;
    }
    sb->oom_errors = 0;
    arm(sb);
}

void sandbox_oom_unwatch(struct sandbox *sb)
{
    sb->oom_timer = loop_source_free(sb->oom_timer);
}
