/* Liveness: a ready guest that stops answering Health is dead within guest_timeout_ms. Health
 * also carries the host's clock to the guest (agent/clock.c). */
#define LOG_MODULE "sandbox"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <time.h>

#include "agent.pb-c.h"
#include "fd.h"
#include "log.h"
#include "loop.h"
#include "sandbox/agent_limits.h"
#include "sandbox/sandbox_internal.h"

/* Health carries the host's wall clock (plus half the last round trip: when the agent reads
 * it) so the agent keeps the guest's in step (agent/clock.c). */
int health_call(struct sandbox *sb, uint64_t timeout_ns,
                void (*cb)(const struct ttrpc_result *, void *))
{
    struct timespec ts;
    Cvm__Agent__V1__HealthRequest req = CVM__AGENT__V1__HEALTH_REQUEST__INIT;
    clock_gettime(CLOCK_REALTIME, &ts);
    req.host_realtime_ns =
        (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec + sb->hb_rtt_ns / 2;
    sb->hb_sent_ns = now_ns();
    return ttrpc_client_call_max(sb->agent, AGENT_SERVICE, "Health", &req.base, NULL, 0, timeout_ns,
                                 agent_reply_cap("Health"), cb, sb);
}

/* A step is logged: at boot the RTC's whole seconds, later a guest that fell behind. */
void health_clock(struct sandbox *sb, const struct ttrpc_result *res, bool boot)
{
    Cvm__Agent__V1__HealthResponse *h =
        cvm__agent__v1__health_response__unpack(NULL, res->len, res->payload);
    sb->hb_rtt_ns = now_ns() - sb->hb_sent_ns;
    if (!h)
        return;
    if (h->clock_step_ns) {
        if (boot || h->clock_step_ns > 100000000ll || h->clock_step_ns < -100000000ll)
            log_info("sandbox %s: guest clock stepped by %+.3f s to the host's", sb->id,
                     (double)h->clock_step_ns / 1e9);
        else
            log_debug("sandbox %s: guest clock stepped by %+lld ns", sb->id,
                      (long long)h->clock_step_ns);
    }
    cvm__agent__v1__health_response__free_unpacked(h, NULL);
}

static void heartbeat_cb(const struct ttrpc_result *res, void *data)
{
    struct sandbox *sb = data;
    sb->hb_inflight = false;
    if (sb->state != SB_READY)
        return;
    if (res->code == 0) {
        sb->hb_last_ok_ns = now_ns();
        health_clock(sb, res, false);
    }
    /* a failed or late answer: the timer decides once guest_timeout_ms has passed */
}

static void heartbeat_tick(struct loop_source *s, void *data)
{
    struct sandbox *sb = data;
    uint64_t now = now_ns(), timeout = (uint64_t)sb->cfg.guest_timeout_ms * 1000000ull;
    char why[128];
    (void)s;
    if (sb->state != SB_READY)
        return;
    if (now - sb->hb_last_ok_ns >= timeout) {
        snprintf(why, sizeof(why),
                 "guest not responding for %u s (no heartbeat answer; "
                 "\"guest_timeout_ms\" %u)",
                 (sb->cfg.guest_timeout_ms + 999) / 1000, sb->cfg.guest_timeout_ms);
        sandbox_kill_vm(sb, why);
        return;
    }
    if (!sb->hb_inflight && health_call(sb, timeout, heartbeat_cb) == 0)
        sb->hb_inflight = true;
    loop_timer_set(sb->heartbeat, (uint64_t)sb->cfg.guest_timeout_ms * 1000ull / 3);
}

void heartbeat_start(struct sandbox *sb)
{
    sb->hb_last_ok_ns = now_ns();
    if (loop_add_timer(sb->loop, (uint64_t)sb->cfg.guest_timeout_ms * 1000ull / 3, heartbeat_tick,
                       sb, &sb->heartbeat) < 0)
        log_warn("sandbox %s: no heartbeat timer: a hung guest is noticed only when its "
                 "connection closes",
                 sb->id);
}

void sandbox_heartbeat_pause(struct sandbox *sb, bool paused)
{
    sb->heartbeat = loop_source_free(sb->heartbeat);
    if (!paused && sb->state == SB_READY)
        heartbeat_start(sb); /* the guest gets a full guest_timeout_ms from now */
}
