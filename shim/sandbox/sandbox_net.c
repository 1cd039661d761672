/* The sandbox's network: every interface CNI made in the sandbox netns reaches the guest.
 *
 * microvm cannot hot-plug, so the VM boots with one NIC per interface already in the netns
 * (CRI runs CNI before the sandbox task exists) plus cfg.spare_nics more for interfaces that
 * come later (`ctr run --cni` and nerdctl's createRuntime hook run CNI after Create's VM boot).
 * A sync (after the agent answers, at each Create after its hooks, at each init Start) scans
 * the netns, joins each new interface to the next free NIC's tap (tc redirect, net.h) and
 * tells the agent to give that guest NIC the interface's identity; more interfaces than NICs
 * fail the Create/Start that saw them, naming the count and the "spare_nics" key. Syncs are
 * serialised: a request arriving while one runs waits for it and then scans again. */
#define LOG_MODULE "sandbox"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "errmap.h"
#include "fd.h"
#include "log.h"
#include "loop.h"
#include "net/net.h"
#include "net/portfwd.h"
#include "sandbox/sandbox_net.h"
#include "sandbox/sandbox.h"

struct net_sync {
    struct sandbox *sb;
    struct net_state state;
    struct net_request_storage st;
    struct net_attached fresh[NET_MAX_IFACES];
    size_t n_fresh;
};

static struct hv_vm *vm_of(void *sb)
{
    return sandbox_vm(sb);
}

int sandbox_net_open(struct sandbox *sb, const char *netns_path, struct cvm_err *err)
{
    struct net_state *s = calloc(1, sizeof(*s));
    unsigned present = 0;
    int r;

    if (!s)
        return cvm_err_set(err, -ENOMEM, "out of memory");
    sb->netns_fd = open(netns_path, O_RDONLY | O_CLOEXEC);
    if (sb->netns_fd < 0) {
        r = -errno;
        free(s);
        return cvm_err_set(err, r, "network namespace %s: %s", netns_path, strerror(-r));
    }
    r = net_scan(sb->netns_fd, s, err);
    if (r == 0)
        present = (unsigned)s->n_links;
    free(s);
    if (r < 0)
        return r;
    if (present + sb->cfg.spare_nics > HV_MAX_NICS)
        return cvm_err_set(
            err, -ENOSPC,
            "the sandbox netns has %u network interfaces; with \"spare_nics\" %u that "
            "is more than the %u NICs a VM can have",
            present, sb->cfg.spare_nics, HV_MAX_NICS);
    sb->n_nics = present + sb->cfg.spare_nics;
    for (unsigned i = 0; i < sb->n_nics; i++) {
        if (net_tap_name(i, sb->nic_tap[i]) < 0 || net_nic_mac(i, sb->nic_mac[i]) < 0)
            return cvm_err_set(err, -EINVAL, "NIC %u", i);
        sb->nics[i] = (struct hv_nic){sb->nic_tap[i], sb->nic_mac[i]};
    }
    if (present)
        log_info("sandbox %s: %u interface(s) in the netns at boot, %u NIC(s)", sb->id, present,
                 sb->n_nics);
    /* 127.0.0.1:* of the netns reaches the guest's (CRI PortForward); without it the pod
     * still runs, only port forwarding fails, so this is not fatal */
    struct cvm_err perr = {0};
    if (portfwd_start(sb->loop, sb->netns_fd, sb->id, vm_of, sb, &sb->portfwd, &perr) < 0)
        log_warn("sandbox %s: port forwarding unavailable: %s", sb->id, perr.msg);
    return 0;
}

static void sync_finish(struct sandbox *sb, int r, const char *msg);
static void sync_start(struct sandbox *sb);

static void sync_deferred(void *data)
{
    sync_start(data);
}

static void configured(const struct ttrpc_result *res, void *data)
{
    struct net_sync *ns = data;
    struct sandbox *sb = ns->sb;
    char msg[400];
    free(ns);
    if (!sb)
        return; /* the sandbox went away meanwhile */
    sb->net_sync = NULL;
    if (res->code != 0) {
        snprintf(msg, sizeof(msg), "agent ConfigureNetwork: %s",
                 res->message ? res->message : "failed");
        sync_finish(sb, rpc_code_to_errno(res->code), msg);
        return;
    }
    sync_finish(sb, 0, NULL);
}

/* One scan + attach + agent call. 1: in flight (configured() follows), 0: nothing new, <0. */
static int sync_once(struct sandbox *sb, struct cvm_err *err)
{
    struct net_sync *ns;
    Cvm__Agent__V1__ConfigureNetworkRequest req;
    int r;

    if (sb->netns_fd < 0 || sb->n_nics == 0) {
        /* no NIC (spare_nics 0 and nothing at boot): a later interface cannot reach the guest */
        struct net_state s;
        if (sb->netns_fd >= 0 && net_scan(sb->netns_fd, &s, err) == 0 && s.n_links > 0)
            return cvm_err_set(err, -ENOSPC,
                               "the sandbox netns has %zu network interface(s) but "
                               "the VM has no NIC: set \"spare_nics\" in the runtime config",
                               s.n_links);
        return 0;
    }
    ns = calloc(1, sizeof(*ns));
    if (!ns)
        return cvm_err_set(err, -ENOMEM, "out of memory");
    ns->sb = sb;
    r = net_scan(sb->netns_fd, &ns->state, err);
    if (r == 0)
        r = net_plan(&ns->state, sb->attached, sb->n_attached, sb->n_nics, ns->fresh, &ns->n_fresh,
                     err);
    for (size_t i = 0; r == 0 && i < ns->n_fresh; i++) {
        const char *tap = sb->nic_tap[ns->fresh[i].nic];
        if (net_tap_ready(sb->netns_fd, tap) != 1)
            r = cvm_err_set(err, -ENODEV, "the VM's tap %s is not in the sandbox netns", tap);
        else if ((r = net_attach(sb->netns_fd, ns->fresh[i].ifname, tap, err)) == 0) {
            sb->attached[sb->n_attached++] = ns->fresh[i];
            log_info("sandbox %s: interface %s -> guest NIC %u (%s)", sb->id, ns->fresh[i].ifname,
                     ns->fresh[i].nic, tap);
        }
    }
    if (r < 0 || ns->n_fresh == 0) {
        free(ns);
        return r;
    }
    r = net_agent_request(&ns->state, ns->fresh, ns->n_fresh, &req, &ns->st);
    if (r < 0) {
        free(ns);
        return cvm_err_set(err, r, "building the guest network request");
    }
    r = sandbox_agent_call(sb, "ConfigureNetwork", &req, configured, ns, AGENT_CALL_TIMEOUT_NS);
    if (r < 0) {
        free(ns);
        return cvm_err_set(err, r, "agent not connected");
    }
    sb->net_sync = ns;
    return 1;
}

static void sync_start(struct sandbox *sb)
{
    struct cvm_err err = {0};
    int r;
    sb->n_net_running = sb->n_net_waiters; /* this scan answers everyone waiting now */
    if (sb->state != SB_READY) {
        sync_finish(sb, -ENOTCONN,
                    sb->dead_reason[0] ? sb->dead_reason : "sandbox VM is not running");
        return;
    }
    r = sync_once(sb, &err);
    if (r <= 0)
        sync_finish(sb, r, r < 0 ? err.msg : NULL);
}

/* Answer the waiters that were there when this sync began; later ones get a new sync. */
static void sync_finish(struct sandbox *sb, int r, const char *msg)
{
    size_t n = sb->n_net_running;
    struct sandbox_net_waiter w[ELEMENTSOF(sb->net_waiters)];
    if (r < 0)
        log_error("sandbox %s: network: %s", sb->id, msg);
    memcpy(w, sb->net_waiters, n * sizeof(w[0]));
    memmove(sb->net_waiters, sb->net_waiters + n, (sb->n_net_waiters - n) * sizeof(w[0]));
    sb->n_net_waiters -= n;
    sb->n_net_running = 0;
    if (sb->n_net_waiters && loop_defer(sb->loop, sync_deferred, sb) == 0)
        sb->n_net_running = sb->n_net_waiters; /* marks a sync as scheduled */
    for (size_t i = 0; i < n; i++)
        w[i].cb(sb, r, msg, w[i].data);
}

void sandbox_net_sync(struct sandbox *sb, void (*cb)(struct sandbox *, int, const char *, void *),
                      void *data)
{
    if (sb->n_net_waiters >= ELEMENTSOF(sb->net_waiters)) {
        cb(sb, -EBUSY, "too many network syncs waiting", data);
        return;
    }
    sb->net_waiters[sb->n_net_waiters++] = (struct sandbox_net_waiter){cb, data};
    if (sb->n_net_running == 0) {
        /* nothing running or scheduled: start (deferred: cb never fires from inside here) */
        sb->n_net_running = sb->n_net_waiters;
        if (loop_defer(sb->loop, sync_deferred, sb) < 0)
            sync_finish(sb, -ENOMEM, "out of memory");
    }
}

/* At stop: take our tc plumbing off every interface (the taps go with QEMU). */
void sandbox_net_close(struct sandbox *sb)
{
    struct cvm_err err = {0};
    if (sb->net_sync) {
        sb->net_sync->sb = NULL; /* its agent reply, if it comes, finds nobody */
        sb->net_sync = NULL;
    }
    /* whoever waits is told now; a scheduled sync finds no waiter and the VM not ready */
    sb->n_net_running = sb->n_net_waiters;
    if (sb->n_net_waiters)
        sync_finish(sb, -ECANCELED, "sandbox shutting down");
    for (size_t i = 0; i < sb->n_attached; i++)
        if (net_detach(sb->netns_fd, sb->attached[i].ifname, &err) < 0)
            log_warn("sandbox %s: detaching %s: %s", sb->id, sb->attached[i].ifname, err.msg);
    sb->n_attached = 0;
    portfwd_stop(sb->portfwd);
    sb->portfwd = NULL;
    sb->netns_fd = safe_close(sb->netns_fd);
}
