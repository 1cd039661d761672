/* One sandbox = one VM: run dir, shared (virtiofs) dir, netns, hv_start, agent connection with
 * retries until the boot deadline, death handling (every task exits 255), stop + clean-up. */
#define LOG_MODULE "sandbox"
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent.pb-c.h"
#include "sandbox/agent_limits.h"
#include "cleanup.h"
#include "fd.h"
#include "fs_beneath.h"
#include "cgroup/host_cgroup.h"
#include "hv.h"
#include "log.h"
#include "loop.h"
#include "sandbox/mounts.h"
#include "task/oom_watch.h"
#include "sandbox/pidfile.h"
#include "task/model.h"

#define AGENT_RETRY_MS 100u
#define AGENT_CONNECT_TIMEOUT_MS 2000u
#define PARK_DEADLINE_MS 1000u /* QMP quit, then SIGKILL */

static void agent_try(struct sandbox *sb);
static void vm_gone(struct sandbox *sb, const char *reason);

struct hv_vm *sandbox_vm(struct sandbox *sb)
{
    return sb && sb->state == SB_READY ? sb->vm : NULL;
}

static void fire_ready(struct sandbox *sb, int r, const char *msg)
{
    int n = sb->n_ready;
    sb->n_ready = 0;
    for (int i = 0; i < n; i++)
        sb->ready_cb[i](sb, r, msg, sb->ready_data[i]);
}

void sandbox_when_ready(struct sandbox *sb, void (*cb)(struct sandbox *, int, const char *, void *),
                        void *data)
{
    if (sb->state == SB_READY) {
        cb(sb, 0, NULL, data);
        return;
    }
    if (sb->state != SB_BOOTING || sb->n_ready >= (int)ELEMENTSOF(sb->ready_cb)) {
        cb(sb, -ENOTCONN, sb->dead_reason[0] ? sb->dead_reason : "sandbox VM is not running", data);
        return;
    }
    sb->ready_cb[sb->n_ready] = cb;
    sb->ready_data[sb->n_ready++] = data;
}

/* "tcg (/dev/kvm is served by kvm_pvm, which needs a PVM guest kernel)" */
static void accel_desc(struct sandbox *sb, char *buf, size_t n)
{
    const struct accel_choice *a = sb->vm ? hv_accel(sb->vm) : NULL;
    if (!a) {
        snprintf(buf, n, "%s", hv_accel_name(sb->cfg.accel));
        return;
    }
    snprintf(buf, n, "%s: %s", a->kvm ? "kvm" : "tcg", a->reason);
}

/* <run_dir>/boot.log: what the user reads about this sandbox's boot, beside vm/console.log.
 * Small, on the run dir's tmpfs, rewritten at each phase milestone. */
static void write_boot_log(struct sandbox *sb, const char *outcome)
{
    char path[sizeof(sb->run_dir) + 16], phases[512], accel[320];
    _cleanup_fclose_ FILE *f = NULL;
    snprintf(path, sizeof(path), "%s/boot.log", sb->run_dir);
    f = fopen(path, "we");
    if (!f)
        return;
    boot_phases_format(&sb->phases, phases, sizeof(phases));
    accel_desc(sb, accel, sizeof(accel));
    fprintf(f, "sandbox: %s\naccel: %s\nphases (from sandbox creation): %s\nresult: %s\n"
            "console: %s/console.log\n", sb->id, accel, phases, outcome, sb->vm_dir);
}

/* The console's last lines, joined by '|', for an error message. */
static void console_tail_line(struct sandbox *sb, char *tail, size_t n)
{
    tail[0] = '\0';
    if (sb->vm)
        (void)hv_console_tail(sb->vm, tail, n);
    for (char *c = tail; *c; c++)
        if (*c == '\n' || *c == '\r')
            *c = '|';
}

/* "guest kernel panic: Kernel panic - not syncing: ...", or "" (the panic line sits above a
 * stack trace: look further back than the tail shown). */
static void console_panic(struct sandbox *sb, char *out, size_t n)
{
    char con[4096], line[200];
    out[0] = '\0';
    if (sb->vm && hv_console_tail(sb->vm, con, sizeof(con)) >= 0 &&
        boot_console_panic(con, line, sizeof(line)) == 0)
        snprintf(out, n, "guest kernel panic: %s; ", line);
}

static void boot_failed(struct sandbox *sb, const char *why)
{
    char tail[300], panic[240];
    bool has_console = strstr(why, "console:") != NULL;
    console_tail_line(sb, tail, sizeof(tail));
    console_panic(sb, panic, sizeof(panic));
    snprintf(sb->dead_reason, sizeof(sb->dead_reason), "VM %s did not boot: %s%.700s%s%s", sb->id,
             panic, why, has_console ? "" : "; console: ",
             has_console ? "" : tail[0] ? tail : "(empty)");
    log_error("%s", sb->dead_reason);
    write_boot_log(sb, sb->dead_reason);
    sb->state = SB_DEAD;
    sb->retry_timer = loop_source_free(sb->retry_timer);
    sb->boot_watch = loop_source_free(sb->boot_watch);
    hv_vsock_cancel(sb->agent_req);
    sb->agent_req = NULL;
    fire_ready(sb, -ETIMEDOUT, sb->dead_reason);
    if (sb->vm)
        (void)hv_stop(sb->vm, 2000);
}

/* Pull what hv knows into the phases (QEMU's spawn, the console's first byte). */
static void phases_refresh(struct sandbox *sb)
{
    if (!sb->vm)
        return;
    if (hv_qemu_spawn_time_ns(sb->vm))
        boot_phases_mark(&sb->phases, BOOT_QEMU_SPAWNED, hv_qemu_spawn_time_ns(sb->vm));
    if (hv_first_output_ns(sb->vm))
        boot_phases_mark(&sb->phases, BOOT_CONSOLE, hv_first_output_ns(sb->vm));
}

/* The boot watchdog: fail as soon as a phase is overdue, naming it; else look again when the
 * verdict can next change. */
static void boot_watch_eval(struct sandbox *sb)
{
    enum boot_phase stalled = BOOT_AGENT;
    uint64_t now = now_ns(), next = 0;
    char why[900], accel[320], tail[300];

    if (sb->state != SB_BOOTING)
        return;
    phases_refresh(sb);
    switch (boot_phases_check(&sb->phases, &sb->limits, now, &stalled, &next)) {
    case BOOT_UP:
        return;
    case BOOT_WAITING:
        loop_timer_set(sb->boot_watch, (next > now ? next - now : 0) / 1000ull + 1);
        return;
    case BOOT_STALLED:
        accel_desc(sb, accel, sizeof(accel));
        console_tail_line(sb, tail, sizeof(tail));
        boot_stall_message(&sb->phases, &sb->limits, stalled,
                           sb->vm && hv_accel(sb->vm)->kvm, accel, sb->last_err, tail, why,
                           sizeof(why));
        boot_failed(sb, why);
        return;
    }
}

static void boot_watch_cb(struct loop_source *s, void *data)
{
    (void)s;
    boot_watch_eval(data);
}

static void agent_closed(void *data)
{
    struct sandbox *sb = data;
    if (sb->state == SB_READY)
        vm_gone(sb, "agent connection lost");
}

/* ---- liveness: a guest that stops answering is dead within guest_timeout_ms ---- */

/* Health carries the host's wall clock (plus half the last round trip: when the agent reads
 * it) so the agent keeps the guest's in step (agent/clock.c). */
static int health_call(struct sandbox *sb, uint64_t timeout_ns,
                       void (*cb)(const struct ttrpc_result *, void *))
{
    struct timespec ts;
    Cvm__Agent__V1__HealthRequest req = CVM__AGENT__V1__HEALTH_REQUEST__INIT;
    clock_gettime(CLOCK_REALTIME, &ts);
    req.host_realtime_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec + sb->hb_rtt_ns / 2;
    sb->hb_sent_ns = now_ns();
    return ttrpc_client_call_max(sb->agent, AGENT_SERVICE, "Health", &req.base, NULL, 0, timeout_ns,
                                 agent_reply_cap("Health"), cb, sb);
}

/* A step is logged: at boot the RTC's whole seconds, later a guest that fell behind. */
static void health_clock(struct sandbox *sb, const struct ttrpc_result *res, bool boot)
{
    Cvm__Agent__V1__HealthResponse *h = cvm__agent__v1__health_response__unpack(NULL, res->len, res->payload);
    sb->hb_rtt_ns = now_ns() - sb->hb_sent_ns;
    if (!h)
        return;
    if (h->clock_step_ns) {
        if (boot || h->clock_step_ns > 100000000ll || h->clock_step_ns < -100000000ll)
            log_info("sandbox %s: guest clock stepped by %+.3f s to the host's", sb->id, (double)h->clock_step_ns / 1e9);
        else
            log_debug("sandbox %s: guest clock stepped by %+lld ns", sb->id, (long long)h->clock_step_ns);
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
        snprintf(why, sizeof(why), "guest not responding for %u s (no heartbeat answer; "
                 "\"guest_timeout_ms\" %u)", (sb->cfg.guest_timeout_ms + 999) / 1000,
                 sb->cfg.guest_timeout_ms);
        sandbox_kill_vm(sb, why);
        return;
    }
    if (!sb->hb_inflight && health_call(sb, timeout, heartbeat_cb) == 0)
        sb->hb_inflight = true;
    loop_timer_set(sb->heartbeat, (uint64_t)sb->cfg.guest_timeout_ms * 1000ull / 3);
}

static void heartbeat_start(struct sandbox *sb)
{
    sb->hb_last_ok_ns = now_ns();
    if (loop_add_timer(sb->shim->loop, (uint64_t)sb->cfg.guest_timeout_ms * 1000ull / 3,
                       heartbeat_tick, sb, &sb->heartbeat) < 0)
        log_warn("sandbox %s: no heartbeat timer: a hung guest is noticed only when its "
                 "connection closes", sb->id);
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
        snprintf(sb->last_err, sizeof(sb->last_err), "agent health: %s", res->message ? res->message : "error");
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
    sandbox_oom_watch(sb);
    boot_phases_format(&sb->phases, phases, sizeof(phases));
    log_info("sandbox %s ready (qemu pid %d): %s", sb->id, (int)sb->qemu_pid, phases);
    write_boot_log(sb, "agent ready");
    fire_ready(sb, 0, NULL);
}

void sandbox_container_created(struct sandbox *sb)
{
    char phases[512];
    if (sb->phases.at_ns[BOOT_CONTAINER])
        return;
    boot_phases_mark(&sb->phases, BOOT_CONTAINER, now_ns());
    boot_phases_format(&sb->phases, phases, sizeof(phases));
    log_info("sandbox %s boot phases: %s", sb->id, phases);
    write_boot_log(sb, "first container created");
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
    r = ttrpc_client_new(sb->shim->loop, fd, &sb->agent); /* it owns fd, even on failure */
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
static void agent_try(struct sandbox *sb)
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

static void retry_cb(struct loop_source *s, void *data)
{
    (void)s;
    agent_try(data);
}

static void hv_ready(struct hv_vm *vm, void *data)
{
    struct sandbox *sb = data;
    sb->qemu_pid = sb->task_pid = hv_qemu_pid(vm);
    (void)pidfile_write(sb->run_dir, "qemu.pid", sb->qemu_pid);
    pid_t vfsd = 0, vsockd = 0; /* the helpers' identities too, for `delete` */
    hv_helper_pids(vm, &vfsd, &vsockd);
    (void)pidfile_write(sb->run_dir, "virtiofsd.pid", vfsd), (void)pidfile_write(sb->run_dir, "vsockd.pid", vsockd);
    boot_phases_mark(&sb->phases, BOOT_QMP_READY, now_ns());
    log_info("VM %s: qemu pid %d, vsock %s", sb->id, (int)sb->qemu_pid,
             hv_vsock_mode_name(hv_vsock_mode(vm)));
    boot_watch_eval(sb); /* QEMU's spawn time is known now: arm the silent-console check */
    agent_try(sb);
}

/* Every task of a dead VM exits with 255 (spec: kill -9 of QEMU). */
static void vm_gone(struct sandbox *sb, const char *reason)
{
    struct container *c;
    enum sb_state old = sb->state;

    if (old == SB_DEAD || old == SB_STOPPED)
        return;
    if (old == SB_BOOTING) {
        char why[700];
        enum boot_phase last;
        phases_refresh(sb);
        last = boot_phases_last(&sb->phases);
        /* QEMU that dies under KVM before the guest printed anything: the same advice as a
         * silent console (a paravirtual-only /dev/kvm aborts some QEMU builds, hangs others) */
        bool kvm_early = sb->vm && hv_accel(sb->vm)->kvm &&
                         (last >= _BOOT_PHASE_MAX || last < BOOT_CONSOLE);
        snprintf(why, sizeof(why), "the VM died during boot (last phase reached: %s%s): %s",
                 last < _BOOT_PHASE_MAX ? boot_phase_name(last) : "none",
                 kvm_early ? "; accel kvm: " BOOT_KVM_ADVICE : "",
                 reason);
        boot_failed(sb, why);
        return;
    }
    {
        char panic[240];
        console_panic(sb, panic, sizeof(panic));
        snprintf(sb->dead_reason, sizeof(sb->dead_reason), "VM %s died: %s%s", sb->id, panic, reason);
    }
    log_error("%s", sb->dead_reason);
    sb->state = old == SB_STOPPING ? SB_STOPPING : SB_DEAD;
    sb->heartbeat = loop_source_free(sb->heartbeat);
    TAILQ_FOREACH(c, &sb->containers, link) {
        struct proc *p;
        TAILQ_FOREACH(p, &c->execs, link)
            proc_vm_died(p);
        if (c->init)
            proc_vm_died(c->init);
    }
    if (sb->vm)
        (void)hv_stop(sb->vm, 2000);
}

void sandbox_kill_vm(struct sandbox *sb, const char *reason)
{
    /* vm_gone ends every task and stops the VM: QMP quit cannot reach a stopped or wedged
     * QEMU, so its SIGKILL comes after a short deadline; SIGKILL works on a stopped process. */
    log_error("sandbox %s: %s: killing QEMU (pid %d) from the host", sb->id, reason, (int)sb->qemu_pid);
    if (sb->vm)
        (void)hv_stop(sb->vm, 300);
    vm_gone(sb, reason);
}

static void park_done(struct sandbox *sb)
{
    void (*cb)(struct sandbox *) = sb->park_cb;
    sb->park_cb = NULL;
    if (cb)
        cb(sb);
}

/* The stop of an idle VM, not its death: the sandbox is DEAD at once (no heartbeat, no
 * agent calls, a closing agent connection is expected) and its processes keep the exit
 * statuses the agent gave them. QMP quit: nothing in the guest needs a shutdown. */
int sandbox_park(struct sandbox *sb, void (*cb)(struct sandbox *sb))
{
    if (sb->state != SB_READY || !sb->vm || sb->park_cb)
        return -EINVAL;
    snprintf(sb->dead_reason, sizeof(sb->dead_reason), "sandbox %s stopped after its last process exited", sb->id);
    log_info("%s: stopping the VM (qemu pid %d)", sb->dead_reason, (int)sb->qemu_pid);
    sb->state = SB_DEAD;
    sb->park_cb = cb;
    sb->heartbeat = loop_source_free(sb->heartbeat);
    (void)hv_stop(sb->vm, PARK_DEADLINE_MS);
    return 0;
}

static void hv_died(struct hv_vm *vm, const char *reason, void *data)
{
    (void)vm;
    vm_gone(data, reason);
    park_done(data);
}

/* The VM's processes are reaped by now; runc removes the cgroup at delete too. A helper's own
 * child may take a moment more (it was SIGKILLed): retry on a timer, never wait here. */
static void host_cg_retry(struct loop_source *src, void *data)
{
    struct sandbox *sb = data;
    (void)src;
    if (!sb->host_cg)
        return;
    if (host_cgroup_remove_once(sb->host_cg) == -EBUSY && ++sb->host_cg_tries < 100) {
        loop_timer_set(sb->host_cg_retry, 20 * 1000);
        return;
    }
    host_cgroup_free(sb->host_cg); /* gone, or left and logged by sandbox_free's last try */
    sb->host_cg = NULL;
}

static void remove_host_cgroup(struct sandbox *sb)
{
    if (!sb->host_cg || host_cgroup_remove_once(sb->host_cg) == 0) {
        host_cgroup_free(sb->host_cg);
        sb->host_cg = NULL;
        return;
    }
    if (!sb->host_cg_retry &&
        loop_add_timer(sb->shim->loop, 20 * 1000, host_cg_retry, sb, &sb->host_cg_retry) < 0)
        log_warn("sandbox %s: no timer to retry the host cgroup's removal", sb->id);
}

static void cleanup_files(struct sandbox *sb)
{
    remove_host_cgroup(sb);
    sandbox_net_close(sb);
    share_close(&sb->share);
    (void)mnt_umount_tree(sb->run_dir);
    (void)fsb_rm_path(sb->run_dir);
}

static void free_vm_deferred(void *data)
{
    hv_free(data);
}

static void hv_stopped(struct hv_vm *vm, void *data)
{
    struct sandbox *sb = data;
    log_info("VM %s stopped", sb->id);
    sb->vm = NULL;
    sb->qemu_pid = 0;
    ttrpc_client_free(sb->agent);
    sb->agent = NULL;
    loop_defer(sb->shim->loop, free_vm_deferred, vm);
    if (sb->state != SB_STOPPING) {
        sb->state = SB_DEAD;
        park_done(sb);
        return;
    }
    sb->state = SB_STOPPED;
    cleanup_files(sb);
    park_done(sb);
    if (sb->stopped_cb)
        sb->stopped_cb(sb, sb->stopped_data);
}

void sandbox_stop(struct sandbox *sb, void (*cb)(struct sandbox *, void *), void *data)
{
    sb->stopped_cb = cb;
    sb->stopped_data = data;
    sb->retry_timer = loop_source_free(sb->retry_timer);
    sb->boot_watch = loop_source_free(sb->boot_watch);
    sb->heartbeat = loop_source_free(sb->heartbeat);
    hv_vsock_cancel(sb->agent_req);
    sb->agent_req = NULL;
    if (sb->state == SB_BOOTING)
        fire_ready(sb, -ECANCELED, "sandbox shutting down");
    sb->state = SB_STOPPING;
    if (sb->vm) {
        if (hv_stop(sb->vm, 3000) == 0)
            return;
    }
    sb->state = SB_STOPPED;
    cleanup_files(sb);
    if (cb)
        cb(sb, data);
}

/* A fresh network namespace for QEMU, bind-mounted at <run_dir>/netns, when the spec names
 * none (ctr run without --cni/--net-host); CRI always names one. */
static int make_netns(const char *path)
{
    _cleanup_close_ int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    _cleanup_close_ int f = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0444);
    int r = 0;
    if (self < 0 || f < 0)
        return -errno;
    if (unshare(CLONE_NEWNET) < 0)
        return -errno;
    if (mount("/proc/self/ns/net", path, NULL, MS_BIND, NULL) < 0)
        r = -errno;
    if (setns(self, CLONE_NEWNET) < 0)
        r = r ? r : -errno;
    return r;
}

int sandbox_new(struct shim *s, const char *group, const struct cfg *cfg, const char *netns,
                struct host_cgroup *host_cg, struct sandbox **ret, struct cvm_err *err)
{
    struct sandbox *sb = calloc(1, sizeof(*sb));
    char netns_path[256];
    int cg_fds[HV_MAX_CGROUP_FDS];
    int r, n_cg = 0;

    if (!sb) {
        host_cgroup_remove(host_cg);
        return cvm_err_set(err, -ENOMEM, "out of memory");
    }
    sb->shim = s;
    sb->host_cg = host_cg;
    snprintf(sb->id, sizeof(sb->id), "%s", group);
    shim_run_dir_of(s, sb->run_dir, sizeof(sb->run_dir));
    snprintf(sb->vm_dir, sizeof(sb->vm_dir), "%s/vm", sb->run_dir);
    sb->cfg = *cfg;
    sb->netns_fd = -1;
    sb->share.mounts_fd = -1;
    TAILQ_INIT(&sb->containers);
    r = mkdir_p(sb->run_dir, 0700, 0700);
    if (r < 0) {
        cvm_err_set(err, r, "create %s: %s", sb->run_dir, strerror(-r));
        goto fail;
    }
    (void)pidfile_write(sb->run_dir, "shim.pid", getpid());
    r = share_open(&sb->share, sb->run_dir, err);
    if (r < 0)
        goto fail;
    if (!netns || !*netns) {
        snprintf(netns_path, sizeof(netns_path), "%s/netns", sb->run_dir);
        r = make_netns(netns_path);
        if (r < 0) {
            cvm_err_set(err, r, "create network namespace: %s", strerror(-r));
            goto fail;
        }
        netns = netns_path;
    }
    r = sandbox_net_open(sb, netns, err);
    if (r < 0)
        goto fail;
    r = loop_add_timer(s->loop, 0, retry_cb, sb, &sb->retry_timer);
    if (r == 0)
        r = loop_add_timer(s->loop, (uint64_t)sb->cfg.boot_deadline_ms * 1000ull + 1, boot_watch_cb,
                           sb, &sb->boot_watch);
    if (r < 0) {
        cvm_err_set(err, r, "timer");
        goto fail;
    }
    struct hv_config hc = {
        .id = sb->id, .run_dir = sb->vm_dir, .kernel = sb->cfg.kernel, .initrd = sb->cfg.initrd,
        .kernel_args = sb->cfg.kernel_args[0] ? sb->cfg.kernel_args : NULL,
        .qemu_bin = sb->cfg.qemu, .accel = sb->cfg.accel, .vcpus = sb->cfg.vcpus, .mem_mib = sb->cfg.memory_mib,
        .uid_first = sb->cfg.uid_first, .uid_last = sb->cfg.uid_last,
        .shared_dir = sb->share.shared, .fs_tag = AGENT_SHARE_TAG,
        .virtiofsd_bin = sb->cfg.virtiofsd[0] ? sb->cfg.virtiofsd : NULL,
        .vsock_mode = (enum hv_vsock_mode)sb->cfg.vsock_mode,
        .vsockd_bin = sb->cfg.vsockd[0] ? sb->cfg.vsockd : NULL, .netns_path = netns,
        .nics = sb->nics, .n_nics = sb->n_nics,
        .boot_timeout_ms = sb->cfg.boot_deadline_ms, .debug = sb->cfg.debug,
        .tcg_icount = sb->cfg.tcg_icount,
    };
    if (sb->host_cg) { /* QEMU, virtiofsd and cvm-vsockd join it before they exec */
        n_cg = host_cgroup_procs_fds(sb->host_cg, cg_fds, ELEMENTSOF(cg_fds), err);
        if (n_cg < 0) {
            r = n_cg;
            goto fail;
        }
        hc.cgroup_procs_fds = cg_fds;
        hc.n_cgroup_procs_fds = (unsigned)n_cg;
        (void)host_cgroup_record(sb->host_cg, sb->run_dir); /* for `delete` after a crash */
    }
    struct hv_callbacks cb = { .ready = hv_ready, .died = hv_died, .stopped = hv_stopped, .data = sb };
    boot_phases_init(&sb->phases, now_ns());
    r = hv_start(s->loop, &hc, &cb, &sb->vm, err);
    while (n_cg > 0)
        safe_close(cg_fds[--n_cg]); /* hv keeps its own */
    if (r < 0)
        goto fail;
    sb->limits = boot_limits_for(sb->cfg.console_deadline_ms, sb->cfg.boot_deadline_ms,
                                hv_accel(sb->vm)->kvm);
    sb->state = SB_BOOTING;
    *ret = sb;
    return 0;
fail:
    loop_source_free(sb->retry_timer);
    loop_source_free(sb->boot_watch);
    cleanup_files(sb);
    loop_source_free(sb->host_cg_retry); /* sb goes now: the removal goes on without it */
    host_cgroup_remove_later(s->loop, sb->host_cg);
    free(sb);
    return r;
}

int sandbox_agent_call(struct sandbox *sb, const char *method, const void *req,
                       void (*cb)(const struct ttrpc_result *res, void *data), void *data,
                       uint64_t timeout_ns)
{
    if (!sb || sb->state != SB_READY || !sb->agent)
        return -ENOTCONN;
    /* The guest's answer is capped per method (agent_limits.c) before anything decodes it. */
    return ttrpc_client_call_max(sb->agent, AGENT_SERVICE, method, req, NULL, 0, timeout_ns,
                                 agent_reply_cap(method), cb, data);
}

void sandbox_free(struct sandbox *sb)
{
    struct container *c;
    if (!sb)
        return;
    while ((c = TAILQ_FIRST(&sb->containers))) {
        TAILQ_REMOVE(&sb->containers, c, link);
        shim_container_free(c);
    }
    loop_source_free(sb->retry_timer);
    loop_source_free(sb->boot_watch);
    loop_source_free(sb->heartbeat);
    sandbox_oom_unwatch(sb);
    hv_vsock_cancel(sb->agent_req);
    ttrpc_client_free(sb->agent);
    hv_free(sb->vm);
    loop_source_free(sb->host_cg_retry);
    /* at exit: the daemon finishes it (host_cgroup_remove_at_exit) once the VM's processes,
     * killed through their pidfds by hv_free, are reaped */
    host_cgroup_remove_later(sb->shim->loop, sb->host_cg);
    sandbox_net_close(sb);
    free(sb);
}
