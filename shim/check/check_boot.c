/* cvm-check --boot. See check_boot.h. The agent connection follows shim/sandbox.c: vsock
 * connect to the agent port with retries, ttrpc Health, until the boot watchdog gives up. */
#include "check_boot.h"

#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sandbox/agent_limits.h"
#include "agent.pb-c.h"
#include "agent_wire.h"
#include "cleanup.h"
#include "errmap.h"
#include "fd.h"
#include "hv.h"
#include "hv_proc.h"
#include "loop.h"
#include "ttrpc.h"

#define RETRY_MS 100u
#define CONNECT_TIMEOUT_MS 2000u
#define STOP_TIMEOUT_MS 3000u
#define WATCH_EARLY_NS (500ull * 1000000ull)
#define GUARD_EXTRA_MS 15000u /* after the deadline: the stop itself must be over by then */

struct boot {
    struct loop *loop;
    struct hv_vm *vm;
    struct boot_result *res;
    struct boot_limits limits;
    struct loop_source *watchdog, *retry, *guard, *sig[2];
    struct hv_vsock_req *req;
    struct ttrpc_client *agent;
    char last_err[200];
    bool done; /* verdict reached: the VM is being stopped */
};

static void sync_phases(struct boot *b)
{
    unsigned long long t;
    if (!b->vm)
        return;
    if ((t = hv_qemu_spawn_time_ns(b->vm)))
        boot_phases_mark(&b->res->phases, BOOT_QEMU_SPAWNED, t);
    if ((t = hv_first_output_ns(b->vm)))
        boot_phases_mark(&b->res->phases, BOOT_CONSOLE, t);
}

static void finish(struct boot *b)
{
    if (b->done)
        return;
    b->done = true;
    sync_phases(b);
    b->watchdog = loop_source_free(b->watchdog);
    b->retry = loop_source_free(b->retry);
    hv_vsock_cancel(b->req);
    b->req = NULL;
    if (hv_stop(b->vm, STOP_TIMEOUT_MS) < 0)
        loop_quit(b->loop, 0);
}

static void accel_desc(struct boot *b, char *buf, size_t n)
{
    const struct accel_choice *ch = hv_accel(b->vm);
    snprintf(buf, n, "%s, %s", ch->kvm ? "kvm" : "tcg", ch->reason);
}

static void stalled(struct boot *b, enum boot_phase p)
{
    char tail[600] = "", accel[300];
    if (hv_console_tail(b->vm, tail, sizeof(tail)) < 0)
        tail[0] = '\0';
    for (char *c = tail; *c; c++)
        if (*c == '\n' || *c == '\r')
            *c = '|';
    accel_desc(b, accel, sizeof(accel));
    boot_stall_message(&b->res->phases, &b->limits, p, b->res->kvm, accel, b->last_err, tail,
                       b->res->detail, sizeof(b->res->detail));
    finish(b);
}

static void watch(struct boot *b)
{
    enum boot_phase p = BOOT_AGENT;
    uint64_t now = now_ns(), next = 0;

    if (b->done)
        return;
    sync_phases(b);
    switch (boot_phases_check(&b->res->phases, &b->limits, now, &p, &next)) {
    case BOOT_WAITING:
        /* Until QMP is up the spawn time (start of the console limit) is not seen here:
         * look again soon rather than only at the deadline. */
        if (!b->res->phases.at_ns[BOOT_QMP_READY] && next > now + WATCH_EARLY_NS)
            next = now + WATCH_EARLY_NS;
        loop_timer_set(b->watchdog, next > now ? (next - now) / 1000u + 1 : 1000);
        break;
    case BOOT_STALLED: stalled(b, p); break;
    case BOOT_UP: break;
    }
}

static void watchdog_cb(struct loop_source *s, void *data)
{
    (void)s;
    watch(data);
}

static void retry_later(struct boot *b)
{
    if (!b->done)
        loop_timer_set(b->retry, RETRY_MS * 1000ull);
}

static void health_cb(const struct ttrpc_result *res, void *data)
{
    struct boot *b = data;
    Cvm__Agent__V1__HealthResponse *h;
    uint64_t now = now_ns();

    if (b->done)
        return;
    if (res->code != 0) {
        snprintf(b->last_err, sizeof(b->last_err), "agent health: %s",
                 res->message ? res->message : "error");
        ttrpc_client_free(b->agent);
        b->agent = NULL;
        retry_later(b);
        return;
    }
    h = cvm__agent__v1__health_response__unpack(NULL, res->len, res->payload);
    if (!h) {
        snprintf(b->last_err, sizeof(b->last_err), "agent health: undecodable response");
        ttrpc_client_free(b->agent);
        b->agent = NULL;
        retry_later(b);
        return;
    }
    sync_phases(b);
    boot_phases_agent(&b->res->phases, now, h->init_uptime_ns, h->ready_uptime_ns, h->uptime_ns);
    cvm__agent__v1__health_response__free_unpacked(h, NULL);
    b->res->up = true;
    finish(b);
}

static void agent_connected(struct hv_vm *vm, int r, int fd, void *data)
{
    struct boot *b = data;
    Cvm__Agent__V1__Empty e = CVM__AGENT__V1__EMPTY__INIT;
    (void)vm;

    b->req = NULL;
    if (b->done) {
        safe_close(fd);
        return;
    }
    if (r < 0) {
        snprintf(b->last_err, sizeof(b->last_err), "agent vsock connect: %s", strerror(-r));
        retry_later(b);
        return;
    }
    r = ttrpc_client_new(b->loop, fd, &b->agent); /* it owns fd, even on failure */
    if (r < 0) {
        snprintf(b->last_err, sizeof(b->last_err), "ttrpc client: %s", strerror(-r));
        retry_later(b);
        return;
    }
    r = ttrpc_client_call_max(b->agent, AGENT_SERVICE, "Health", &e.base, NULL, 0,
                              CONNECT_TIMEOUT_MS * 1000000ull, agent_reply_cap("Health"), health_cb,
                              b);
    if (r < 0) {
        snprintf(b->last_err, sizeof(b->last_err), "agent health call: %s", strerror(-r));
        ttrpc_client_free(b->agent);
        b->agent = NULL;
        retry_later(b);
    }
}

static void agent_try(struct boot *b)
{
    int r;
    if (b->done || b->req || b->agent)
        return;
    r = hv_vsock_connect(b->vm, AGENT_PORT, CONNECT_TIMEOUT_MS, agent_connected, b, &b->req, NULL);
    if (r < 0) {
        snprintf(b->last_err, sizeof(b->last_err), "agent vsock connect: %s", strerror(-r));
        retry_later(b);
    }
}

static void retry_cb(struct loop_source *s, void *data)
{
    (void)s;
    agent_try(data);
}

static void on_ready(struct hv_vm *vm, void *data)
{
    struct boot *b = data;
    (void)vm;
    boot_phases_mark(&b->res->phases, BOOT_QMP_READY, now_ns());
    watch(b);
    agent_try(b);
}

static void on_console(struct hv_vm *vm, const char *line, void *data)
{
    struct boot *b = data;
    unsigned long long t = hv_first_output_ns(vm);
    (void)line;
    if (t)
        boot_phases_mark(&b->res->phases, BOOT_CONSOLE, t);
}

static void on_died(struct hv_vm *vm, const char *reason, void *data)
{
    struct boot *b = data;
    (void)vm;
    if (b->done)
        return;
    sync_phases(b);
    enum boot_phase last = boot_phases_last(&b->res->phases);
    bool kvm_early = b->res->kvm && (last >= _BOOT_PHASE_MAX || last < BOOT_CONSOLE);
    snprintf(b->res->detail, sizeof(b->res->detail), "the VM died during boot%s: %s",
             kvm_early ? " before the guest's first output (accel kvm: " BOOT_KVM_ADVICE ")" : "",
             reason);
    b->done = true; /* hv tears the helpers down and reports stopped */
    b->watchdog = loop_source_free(b->watchdog);
    b->retry = loop_source_free(b->retry);
    hv_vsock_cancel(b->req);
    b->req = NULL;
}

static void on_stopped(struct hv_vm *vm, void *data)
{
    struct boot *b = data;
    (void)vm;
    loop_quit(b->loop, 0);
}

static void on_signal(struct loop_source *s, const struct signalfd_siginfo *si, void *data)
{
    struct boot *b = data;
    (void)s;
    if (b->done)
        return;
    snprintf(b->res->detail, sizeof(b->res->detail), "interrupted by signal %u", si->ssi_signo);
    finish(b);
}

/* The stop did not complete: hv_free() kills what is left (reaped before we exit). */
static void guard_cb(struct loop_source *s, void *data)
{
    struct boot *b = data;
    (void)s;
    if (!b->res->detail[0] && !b->res->up)
        snprintf(b->res->detail, sizeof(b->res->detail), "the VM did not stop in time");
    loop_quit(b->loop, 0);
}

static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st, (void)type, (void)ftw;
    return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

void check_boot(const struct cfg *cfg, struct boot_result *out)
{
    char tmp[] = "/tmp/cvm-check.XXXXXX", run_dir[64], shared[64];
    struct boot b = {.res = out};
    struct cvm_err err = {0};
    int r;

    *out = (struct boot_result){0};
    if (!mkdtemp(tmp)) {
        snprintf(out->detail, sizeof(out->detail), "mkdtemp: %s", strerror(errno));
        return;
    }
    snprintf(run_dir, sizeof(run_dir), "%s/vm", tmp);
    snprintf(shared, sizeof(shared), "%s/shared", tmp);
    if (mkdir(shared, 0700) < 0) {
        snprintf(out->detail, sizeof(out->detail), "mkdir %s: %s", shared, strerror(errno));
        goto out;
    }
    if ((r = loop_new(&b.loop)) < 0) {
        snprintf(out->detail, sizeof(out->detail), "event loop: %s", strerror(-r));
        goto out;
    }
    if (loop_add_timer(b.loop, 0, watchdog_cb, &b, &b.watchdog) < 0 ||
        loop_add_timer(b.loop, 0, retry_cb, &b, &b.retry) < 0 ||
        loop_add_timer(b.loop, 0, guard_cb, &b, &b.guard) < 0 ||
        loop_add_signal(b.loop, SIGINT, on_signal, &b, &b.sig[0]) < 0 ||
        loop_add_signal(b.loop, SIGTERM, on_signal, &b, &b.sig[1]) < 0) {
        snprintf(out->detail, sizeof(out->detail), "event loop sources: out of resources");
        goto out;
    }

    struct hv_config hc = {
        .id = "cvm-check",
        .run_dir = run_dir,
        .kernel = cfg->kernel,
        .initrd = cfg->initrd,
        .kernel_args = cfg->kernel_args[0] ? cfg->kernel_args : NULL,
        .qemu_bin = cfg->qemu,
        .accel = cfg->accel,
        .vcpus = cfg->vcpus,
        .mem_mib = cfg->memory_mib,
        .shared_dir = shared,
        .fs_tag = AGENT_SHARE_TAG,
        .virtiofsd_bin = cfg->virtiofsd[0] ? cfg->virtiofsd : NULL,
        .vsock_mode = cfg->vsock_mode,
        .vsockd_bin = cfg->vsockd[0] ? cfg->vsockd : NULL,
        .boot_timeout_ms = cfg->boot_deadline_ms,
        .debug = cfg->debug,
    };
    struct hv_callbacks cb = {.ready = on_ready,
                              .died = on_died,
                              .stopped = on_stopped,
                              .console = on_console,
                              .data = &b};
    boot_phases_init(&out->phases, now_ns());
    r = hv_start(b.loop, &hc, &cb, &b.vm, &err);
    if (r < 0) {
        snprintf(out->detail, sizeof(out->detail), "the VM did not start: %s", err.msg);
        goto out;
    }
    out->kvm = hv_accel(b.vm)->kvm;
    b.limits = boot_limits_for(cfg->console_deadline_ms, cfg->boot_deadline_ms, out->kvm);
    loop_timer_set(b.guard, ((uint64_t)cfg->boot_deadline_ms + GUARD_EXTRA_MS) * 1000ull);
    watch(&b);
    loop_run(b.loop);

out:
    if (b.loop) {
        b.watchdog = loop_source_free(b.watchdog);
        b.retry = loop_source_free(b.retry);
        b.guard = loop_source_free(b.guard);
        b.sig[0] = loop_source_free(b.sig[0]);
        b.sig[1] = loop_source_free(b.sig[1]);
        hv_vsock_cancel(b.req);
        ttrpc_client_free(b.agent);
        hv_free(b.vm);
        loop_run_once(b.loop, 0);                 /* release what was freed */
        (void)hv_proc_reap_orphans(b.loop, 2000); /* what hv_free killed: a bounded wait at exit */
        loop_free(b.loop);
    }
    if (nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS) < 0 && out->up) {
        out->up = false; /* leaving files behind is a failure of its own */
        snprintf(out->detail, sizeof(out->detail), "booted, but %s could not be removed: %s", tmp,
                 strerror(errno));
    }
}
