/* WaitOOM -> /tasks/oom. The agent queues every container whose cgroup saw an OOM kill and
 * answers one WaitOOM with all of them; we publish a TaskOOM for each one still known here
 * (the guest names containers; ids of no container of ours are dropped, never published)
 * and ask again. The call has no deadline: the heartbeat, not this call, tells a hung guest. */
#include "oom_watch.h"

#include <string.h>

#define LOG_MODULE "oom"
#include "agent.pb-c.h"
#include "agent_wire.h"
#include "containerd/events/task.pb-c.h"
#include "log.h"
#include "task.h"
#include "ttrpc.h"

/* Errors in a row before we give up (a guest that fails WaitOOM at once would spin us). */
#define OOM_MAX_ERRORS 3

static void arm(struct sandbox *sb);

static void publish(struct sandbox *sb, const char *id)
{
    struct container *c = shim_find_container(sb->shim, id);
    if (!c) {
        /* deleted meanwhile (the agent reports kills seen at removal too), or a guest's invention */
        log_info("sandbox %s: OOM kill in container \"%.64s\", which is not (or no longer) ours: not published",
                 sb->id, id);
        return;
    }
    Containerd__Events__TaskOOM ev = CONTAINERD__EVENTS__TASK_OOM__INIT;
    ev.container_id = c->id;
    log_info("%s: OOM kill in the guest", c->id);
    shim_publish(sb->shim, "/tasks/oom", &ev);
}

static void answered(const struct ttrpc_result *res, void *data)
{
    struct sandbox *sb = data;
    static unsigned errors; /* one sandbox per shim process */
    if (sb->state != SB_READY)
        return; /* the VM is going or gone (the call was failed with it) */
    if (res->code == RPC_UNIMPLEMENTED) {
        log_warn("sandbox %s: agent has no WaitOOM: OOM kills are not reported", sb->id);
        return;
    }
    if (res->code != 0) {
        log_warn("sandbox %s: WaitOOM: %s", sb->id, res->message ? res->message : "error");
        if (++errors >= OOM_MAX_ERRORS) {
            log_error("sandbox %s: WaitOOM failed %u times: OOM kills are no longer reported", sb->id, errors);
            return;
        }
        arm(sb);
        return;
    }
    errors = 0;
    Cvm__Agent__V1__WaitOOMResponse *r = cvm__agent__v1__wait_oomresponse__unpack(NULL, res->len, res->payload);
    if (!r) {
        log_warn("sandbox %s: malformed WaitOOM answer", sb->id);
    } else {
        for (size_t i = 0; i < r->n_container_ids && i < AGENT_MAX_OOM_IDS; i++)
            if (r->container_ids[i] && strlen(r->container_ids[i]) <= AGENT_MAX_ID_LEN)
                publish(sb, r->container_ids[i]);
        cvm__agent__v1__wait_oomresponse__free_unpacked(r, NULL);
    }
    arm(sb);
}

static void arm(struct sandbox *sb)
{
    Cvm__Agent__V1__Empty e = CVM__AGENT__V1__EMPTY__INIT;
    int r = sandbox_agent_call(sb, "WaitOOM", &e, answered, sb, 0);
    if (r < 0)
        log_warn("sandbox %s: WaitOOM: %s: OOM kills are not reported", sb->id, strerror(-r));
}

void sandbox_oom_watch(struct sandbox *sb)
{
    arm(sb);
}
