/* Reaching the agent while the VM boots: one vsock connection attempt at a time, retried until
 * the agent answers Health (the sandbox is then ready) or the watchdog gives up. */
#define LOG_MODULE "sandbox"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.pb-c.h"
#include "cleanup.h"
#include "fd.h"
#include "log.h"
#include "loop.h"
#include "sandbox/agent_limits.h"
#include "sandbox/sandbox_internal.h"

#define AGENT_RETRY_MS 100u
#define AGENT_CONNECT_TIMEOUT_MS 2000u

static void agent_closed(void *data)
{
    struct sandbox *sb = data;
    if (sb->state == SB_READY)
        vm_gone(sb, "agent connection lost");
}

static void agent_retry_later(struct sandbox *sb)
{
    ttrpc_client_free(sb->agent);
    sb->agent = NULL;
    loop_timer_set(sb->retry_timer, AGENT_RETRY_MS * 1000ull);
}

static void health_cb(const struct ttrpc_result *res, void *data)
{
    struct sandbox *sb = data;
    Cvm__Agent__V1__HealthResponse *h = NULL;
    char phases[512];

    if (sb->state != SB_BOOTING)
        return;
    if (res->code != 0) {
        snprintf(sb->last_err, sizeof(sb->last_err), "agent health: %s",
                 res->message ? res->message : "error");
        agent_retry_later(sb);
        return;
    }
    health_clock(sb, res, true);
    h = cvm__agent__v1__health_response__unpack(NULL, res->len, res->payload);
    phases_refresh(sb);
    boot_phases_agent(&sb->phases, now_ns(), h ? h->init_uptime_ns : 0, h ? h->ready_uptime_ns : 0,
                      h ? h->uptime_ns : 0);
    if (h)
        cvm__agent__v1__health_response__free_unpacked(h, NULL);
    sb->state = SB_READY;
    sb->retry_timer = loop_source_free(sb->retry_timer);
    sb->boot_watch = loop_source_free(sb->boot_watch);
    heartbeat_start(sb);
    if (sb->owner && sb->owner->ready)
        sb->owner->ready(sb);
    boot_phases_format(&sb->phases, phases, sizeof(phases));
    log_info("sandbox %s ready (qemu pid %d): %s", sb->id, (int)sb->qemu_pid, phases);
    write_boot_log(sb, "agent ready");
    fire_ready(sb, 0, NULL);
}

static void agent_connected(struct hv_vm *vm, int r, int fd, void *data)
{
    struct sandbox *sb = data;
    (void)vm;
    sb->agent_req = NULL;
    if (sb->state != SB_BOOTING) {
        safe_close(fd);
        return;
    }
    if (r < 0) {
        snprintf(sb->last_err, sizeof(sb->last_err), "agent vsock connect: %s", strerror(-r));
        loop_timer_set(sb->retry_timer, AGENT_RETRY_MS * 1000ull);
        return;
    }
    sb->phases.agent_reached = true;
    r = ttrpc_client_new(sb->loop, fd, &sb->agent); /* it owns fd, even on failure */
    if (r < 0) {
        boot_failed(sb, "ttrpc client");
        return;
    }
    /* no answer of the agent's may be longer than its method's cap: longer frames are skipped
     * unread instead of buffered (up to 4 MiB per connection otherwise) */
    ttrpc_client_set_max_reply(sb->agent, (uint32_t)agent_reply_cap_max());
    ttrpc_client_on_closed(sb->agent, agent_closed, sb);
    r = health_call(sb, AGENT_CONNECT_TIMEOUT_MS * 1000000ull, health_cb);
    if (r < 0)
        boot_failed(sb, "agent health call");
}

/* One connection attempt at a time; the watchdog, not this, decides when to give up. */
void agent_try(struct sandbox *sb)
{
    int r;
    if (sb->state != SB_BOOTING || sb->agent_req || sb->agent)
        return;
    r = hv_vsock_connect(sb->vm, AGENT_PORT, AGENT_CONNECT_TIMEOUT_MS, agent_connected, sb,
                         &sb->agent_req, NULL);
    if (r < 0) {
        snprintf(sb->last_err, sizeof(sb->last_err), "agent vsock connect: %s", strerror(-r));
        loop_timer_set(sb->retry_timer, AGENT_RETRY_MS * 1000ull);
    }
}

void retry_cb(struct loop_source *s, void *data)
{
    (void)s;
    agent_try(data);
}
