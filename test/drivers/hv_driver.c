/* End-to-end driver for hypervisor/ (used by test/e2e/21-hypervisor.sh): boots one VM through
 * hv.h on one loop and checks, printing "PASS: <name>" / "FAIL: <name>: <why>" / "NOTE: ...":
 *
 *   boot       ready callback, then the "IDLE-READY" console line through the console
 *              callback (boot-phase timings)
 *   netns      QEMU runs in --netns (compares /proc/<qemu>/ns/net with the netns file)
 *   privs      QEMU runs unprivileged: /proc/<qemu>/status has no 0 in Uid/Gid, empty CapEff,
 *              CapPrm and CapBnd, NoNewPrivs 1, Seccomp 2 (--uid-range picks the sandbox uids)
 *   net        --tap/--mac: the guest sees eth0 with that MAC
 *   virtiofs   the guest mounted --fs-tag and read <shared>/hello (console line)
 *   qmp        query-status running -> stop -> paused -> cont -> running
 *   vsock      --vsock-port: host->guest stream, guest greets, echo round trip
 *   end=quit   hv_stop(): stopped callback, no died callback
 *   end=kill   SIGKILL to QEMU: died callback within 1 s with the reason and console tail
 *
 * Exit status 0 only when every check passed. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "errmap.h"
#include "fd.h"
#include "hv.h"
#include "hv_proc.h"
#include "log.h"
#include "loop.h"
#include "uid_range.h"

enum step { ST_BOOT, ST_CONSOLE, ST_Q1, ST_STOP, ST_Q2, ST_CONT, ST_Q3, ST_VSOCK, ST_END, ST_DONE };

struct drv {
    struct loop *loop;
    struct hv_vm *vm;
    struct loop_source *kill_check;
    enum step step;
    const char *end, *netns, *fs_tag, *mac;
    unsigned vsock_port;
    int failures;
    bool ready, died, stopped, console_ready, fs_ok, net_ok;
    char up_init[16], up_ready[16];
    unsigned long long t_console;
    char died_reason[1024];
    unsigned long long t_start, t_ready, t_kill, t_died;
    int vfd;
    struct loop_source *vsrc;
    char vbuf[256];
    size_t vlen;
};

static void next(struct drv *d);
static void note_memory(struct drv *d);

static void pass(const char *name)
{
    printf("PASS: %s\n", name);
}

static void fail(struct drv *d, const char *name, const char *fmt, ...)
{
    va_list ap;
    printf("FAIL: %s: ", name);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    d->failures++;
}

static void on_ready(struct hv_vm *vm, void *data)
{
    struct drv *d = data;
    (void)vm;
    d->ready = true;
    d->t_ready = now_ns();
    printf("NOTE: QMP ready %.0f ms after hv_start, %.0f ms after QEMU spawn\n",
           (d->t_ready - d->t_start) / 1e6, (d->t_ready - hv_qemu_spawn_time_ns(vm)) / 1e6);
    next(d);
}

static void on_died(struct hv_vm *vm, const char *reason, void *data)
{
    struct drv *d = data;
    (void)vm;
    d->died = true;
    d->t_died = now_ns();
    snprintf(d->died_reason, sizeof(d->died_reason), "%s", reason);
    if (d->step != ST_END)
        fail(d, "unexpected-death", "%s", reason);
}

static void on_stopped(struct hv_vm *vm, void *data)
{
    struct drv *d = data;
    (void)vm;
    d->stopped = true;
    loop_quit(d->loop, 0);
}

static void on_event(struct hv_vm *vm, const char *name, void *data)
{
    (void)vm, (void)data;
    printf("NOTE: QMP event %s\n", name);
}

/* Guest console lines, as they come (the test guest prints its marks once). */
static void console_check(struct drv *d)
{
    if (d->step != ST_CONSOLE || !d->console_ready)
        return;
    printf("NOTE: boot phase: QEMU spawned -> console ready line %.0f ms wall; guest uptime "
           "at init %s s, at ready %s s\n",
           (d->t_console - hv_qemu_spawn_time_ns(d->vm)) / 1e6, d->up_init, d->up_ready);
    pass("boot-console-ready");
    note_memory(d);
    if (d->fs_tag) {
        if (d->fs_ok)
            pass("virtiofs-guest-read");
        else
            fail(d, "virtiofs-guest-read", "no 'virtiofs %s says: hello-from-host' line", d->fs_tag);
    }
    if (d->mac) {
        if (d->net_ok)
            pass("virtio-net-nic-in-guest");
        else
            fail(d, "virtio-net-nic-in-guest", "no 'idle: net: eth0 %s' line", d->mac);
    }
    next(d);
}

static void on_console(struct hv_vm *vm, const char *line, void *data)
{
    struct drv *d = data;
    char want[128];
    (void)vm;
    if (sscanf(line, "IDLE-INIT uptime=%15s", d->up_init) == 1)
        return;
    if (d->fs_tag) {
        snprintf(want, sizeof(want), "idle: virtiofs %s says: hello-from-host", d->fs_tag);
        d->fs_ok |= strcmp(line, want) == 0;
    }
    if (d->mac) {
        snprintf(want, sizeof(want), "idle: net: eth0 %s", d->mac);
        d->net_ok |= strcmp(line, want) == 0;
    }
    if (!d->console_ready && sscanf(line, "IDLE-READY uptime=%15s", d->up_ready) == 1) {
        d->console_ready = true;
        d->t_console = now_ns();
        console_check(d);
    }
}

/* Our children by comm name (QEMU, virtiofsd, cvm-vsockd are all started by hv). */
static void check_children(struct drv *d)
{
    char want[3][32] = {"qemu-system-x86", "", ""}, seen[512] = "";
    _cleanup_closedir_ DIR *dir = opendir("/proc");
    struct dirent *de;
    if (d->fs_tag)
        snprintf(want[1], sizeof(want[1]), "virtiofsd");
    if (hv_vsock_mode(d->vm) == HV_VSOCK_HYBRID)
        snprintf(want[2], sizeof(want[2]), "cvm-vsockd");
    while (dir && (de = readdir(dir))) {
        char path[300], buf[512], *rp;
        int fd, ppid = 0;
        ssize_t n;
        snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
        if (fd >= 0)
            close(fd);
        if (n <= 0)
            continue;
        buf[n] = '\0';
        rp = strrchr(buf, ')');
        if (!rp || sscanf(rp + 2, "%*c %d", &ppid) != 1 || ppid != getpid())
            continue;
        *rp = '\0';
        for (int i = 0; i < 3; i++)
            if (want[i][0] && strcmp(strchr(buf, '(') + 1, want[i]) == 0)
                want[i][0] = '\0';
        snprintf(seen + strlen(seen), sizeof(seen) - strlen(seen), " %s", strchr(buf, '(') + 1);
    }
    printf("NOTE: children of the driver:%s\n", seen);
    for (int i = 0; i < 3; i++) {
        if (want[i][0]) {
            fail(d, "helpers-running", "no child named %s", want[i]);
            return;
        }
    }
    pass("helpers-running");
}

/* Pss and Rss (KiB) of pid and, one level down, its children (virtiofsd's sandboxed worker). */
static void mem_of(pid_t pid, long *pss, long *rss)
{
    char path[96], line[256];
    FILE *f;
    int child;
    if (pid <= 0)
        return;
    snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
    if ((f = fopen(path, "re"))) {
        long v;
        while (fgets(line, sizeof(line), f)) {
            if (sscanf(line, "Pss: %ld kB", &v) == 1)
                *pss += v;
            else if (sscanf(line, "Rss: %ld kB", &v) == 1)
                *rss += v;
        }
        fclose(f);
    }
    snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid, (int)pid);
    if ((f = fopen(path, "re"))) {
        while (fscanf(f, "%d", &child) == 1)
            mem_of(child, pss, rss);
        fclose(f);
    }
}

/* Host memory of the running sandbox's processes (the benchmark figure "memory per idle
 * sandbox", minus the shim). */
static void note_memory(struct drv *d)
{
    pid_t vfs = 0, vsd = 0;
    long pss[3] = {0}, rss[3] = {0};
    hv_helper_pids(d->vm, &vfs, &vsd);
    mem_of(hv_qemu_pid(d->vm), &pss[0], &rss[0]);
    mem_of(vfs, &pss[1], &rss[1]);
    mem_of(vsd, &pss[2], &rss[2]);
    printf("NOTE: memory (Pss/Rss KiB): qemu %ld/%ld, virtiofsd %ld/%ld, cvm-vsockd %ld/%ld, "
           "total Pss %ld KiB\n",
           pss[0], rss[0], pss[1], rss[1], pss[2], rss[2], pss[0] + pss[1] + pss[2]);
}

static void check_netns(struct drv *d)
{
    char p[64];
    struct stat a, b;
    snprintf(p, sizeof(p), "/proc/%d/ns/net", (int)hv_qemu_pid(d->vm));
    if (stat(p, &a) < 0 || stat(d->netns, &b) < 0)
        fail(d, "qemu-in-netns", "stat: %s", strerror(errno));
    else if (a.st_ino != b.st_ino || a.st_dev != b.st_dev)
        fail(d, "qemu-in-netns", "%s is not %s", p, d->netns);
    else
        pass("qemu-in-netns");
}

/* "Uid:\t1\t2\t3\t4": every field of the line, none of them 0. */
static bool ids_nonzero(const char *line)
{
    unsigned long v[4];
    if (sscanf(line, "%*s %lu %lu %lu %lu", &v[0], &v[1], &v[2], &v[3]) != 4)
        return false;
    return v[0] && v[1] && v[2] && v[3];
}

static void check_privs(struct drv *d)
{
    char p[64], line[256];
    int ok = 0;
    FILE *f;
    snprintf(p, sizeof(p), "/proc/%d/status", (int)hv_qemu_pid(d->vm));
    f = fopen(p, "re");
    if (!f) {
        fail(d, "qemu-unprivileged", "%s: %s", p, strerror(errno));
        return;
    }
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = '\0';
        if (strncmp(line, "Uid:", 4) == 0 || strncmp(line, "Gid:", 4) == 0)
            ok += ids_nonzero(line) ? 1 : -100;
        else if (strncmp(line, "CapEff:", 7) == 0 || strncmp(line, "CapPrm:", 7) == 0 ||
                 strncmp(line, "CapBnd:", 7) == 0 || strncmp(line, "CapAmb:", 7) == 0 ||
                 strncmp(line, "CapInh:", 7) == 0)
            ok += strcmp(line + 7 + strspn(line + 7, " \t"), "0000000000000000") == 0 ? 1 : -100;
        else if (strncmp(line, "NoNewPrivs:", 11) == 0 || strncmp(line, "Seccomp:", 8) == 0)
            ok += strstr(line, line[0] == 'N' ? "\t1" : "\t2") ? 1 : -100;
        else
            continue;
        printf("NOTE: qemu %s\n", line);
    }
    fclose(f);
    if (ok == 9)
        pass("qemu-unprivileged");
    else
        fail(d, "qemu-unprivileged", "see the NOTE lines of %s", p);
}

static void on_status(struct hv_vm *vm, int r, const char *status, bool running, void *data)
{
    struct drv *d = data;
    const char *want = d->step == ST_Q2 ? "paused" : "running";
    char name[32];
    (void)vm;
    snprintf(name, sizeof(name), "qmp-status-%s-%d", want, d->step);
    if (r < 0)
        fail(d, name, "%s", status ? status : strerror(-r));
    else if (strcmp(status, want) || running != (d->step != ST_Q2))
        fail(d, name, "status %s running %d", status, running);
    else
        pass(name);
    next(d);
}

static void on_done(struct hv_vm *vm, int r, const char *msg, void *data)
{
    struct drv *d = data;
    (void)vm;
    if (r < 0)
        fail(d, d->step == ST_STOP ? "qmp-stop" : "qmp-cont", "%s", msg ? msg : strerror(-r));
    else
        pass(d->step == ST_STOP ? "qmp-stop" : "qmp-cont");
    next(d);
}

static void vsock_read(struct loop_source *s, int fd, uint32_t ev, void *data)
{
    struct drv *d = data;
    ssize_t n = read(fd, d->vbuf + d->vlen, sizeof(d->vbuf) - 1 - d->vlen);
    (void)s, (void)ev;
    if (n > 0) {
        d->vlen += (size_t)n;
        d->vbuf[d->vlen] = '\0';
        if (strcmp(d->vbuf, "hello from guest\n") == 0) {
            pass("vsock-guest-greeting");
            if (write(fd, "ping 42\n", 8) != 8)
                fail(d, "vsock-echo", "write: %s", strerror(errno));
            return;
        }
        if (strcmp(d->vbuf, "hello from guest\nping 42\n") != 0)
            return;
        pass("vsock-echo");
    } else if (n < 0 && errno == EAGAIN) {
        return;
    } else {
        fail(d, "vsock-echo", "got '%s' then %s", d->vbuf, n == 0 ? "EOF" : strerror(errno));
    }
    d->vsrc = loop_source_free(d->vsrc);
    d->vfd = safe_close(d->vfd);
    next(d);
}

static void on_vsock(struct hv_vm *vm, int r, int fd, void *data)
{
    struct drv *d = data;
    (void)vm;
    if (r < 0) {
        fail(d, "vsock-connect", "%s", strerror(-r));
        next(d);
        return;
    }
    pass("vsock-connect");
    d->vfd = fd;
    if (loop_add_io(d->loop, fd, EPOLLIN, vsock_read, d, &d->vsrc) < 0) {
        fail(d, "vsock-connect", "loop_add_io");
        next(d);
    }
}

static void on_kill_check(struct loop_source *s, void *data)
{
    struct drv *d = data;
    (void)s;
    d->kill_check = loop_source_free(d->kill_check);
    if (!d->died)
        fail(d, "kill9-reported-within-1s", "no died callback 1 s after SIGKILL");
}

static void do_end(struct drv *d)
{
    if (strcmp(d->end, "kill") == 0) {
        pid_t pid = hv_qemu_pid(d->vm);
        d->t_kill = now_ns();
        printf("NOTE: sending SIGKILL to QEMU pid %d\n", (int)pid);
        if (kill(pid, SIGKILL) < 0)
            fail(d, "kill9", "%s", strerror(errno));
        if (loop_add_timer(d->loop, 1000000, on_kill_check, d, &d->kill_check) < 0)
            fail(d, "kill9", "timer");
    } else {
        hv_stop(d->vm, 5000);
    }
}

static void next(struct drv *d)
{
    struct cvm_err err = {0};
    int r = 0;
    d->step++;
    switch (d->step) {
    case ST_CONSOLE:
        pass("boot-qmp-ready");
        check_children(d);
        check_privs(d);
        if (d->netns)
            check_netns(d);
        console_check(d); /* the line may have come before QMP was ready */
        break;
    case ST_Q1:
    case ST_Q2:
    case ST_Q3:
        r = hv_query_status(d->vm, on_status, d, &err);
        break;
    case ST_STOP:
        r = hv_pause(d->vm, on_done, d, &err);
        break;
    case ST_CONT:
        r = hv_resume(d->vm, on_done, d, &err);
        break;
    case ST_VSOCK:
        if (!d->vsock_port)
            return next(d);
        r = hv_vsock_connect(d->vm, d->vsock_port, 5000, on_vsock, d, NULL, &err);
        break;
    case ST_END:
        do_end(d);
        break;
    default:
        break;
    }
    if (r < 0) {
        fail(d, "step", "step %d: %s", d->step, err.msg);
        d->step = ST_END - 1;
        next(d);
    }
}

static void usage(void)
{
    fprintf(stderr, "usage: hv_driver --kernel K --initrd I --run-dir D [--shared-dir S --fs-tag T]\n"
                    "  [--console F] [--vsock-mode auto|kernel|hybrid] [--vsockd BIN] [--vsock-port P]\n"
                    "  [--netns PATH] [--tap IF [--mac MAC]] [--append ARGS] [--end quit|kill] [--debug]\n"
                    "  [--uid-range FIRST-LAST] [--qemu BIN]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"kernel", 1, 0, 'k'}, {"initrd", 1, 0, 'i'},  {"run-dir", 1, 0, 'r'},
        {"shared-dir", 1, 0, 's'}, {"fs-tag", 1, 0, 't'}, {"console", 1, 0, 'c'},
        {"vsock-mode", 1, 0, 'm'}, {"vsockd", 1, 0, 'v'}, {"vsock-port", 1, 0, 'p'},
        {"netns", 1, 0, 'n'}, {"tap", 1, 0, 'T'}, {"mac", 1, 0, 'M'}, {"append", 1, 0, 'a'}, {"end", 1, 0, 'e'}, {"debug", 0, 0, 'd'},
        {"uid-range", 1, 0, 'u'}, {"qemu", 1, 0, 'Q'},
        {0, 0, 0, 0}};
    struct hv_nic nic = {0};
    struct hv_config cfg = {.id = "e2e", .vcpus = 1, .mem_mib = 256, .boot_timeout_ms = 60000,
                            .stop_timeout_ms = 5000};
    struct hv_callbacks cb = {on_ready, on_died, on_stopped, on_event, NULL, on_console};
    struct drv d = {.end = "quit", .vfd = -1};
    struct cvm_err err = {0};
    int c, r;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'k': cfg.kernel = optarg; break;
        case 'i': cfg.initrd = optarg; break;
        case 'r': cfg.run_dir = optarg; break;
        case 's': cfg.shared_dir = optarg; break;
        case 't': cfg.fs_tag = d.fs_tag = optarg; break;
        case 'c': cfg.console_log = optarg; break;
        case 'm':
            if ((r = hv_vsock_mode_from_string(optarg)) < 0)
                usage();
            cfg.vsock_mode = (enum hv_vsock_mode)r;
            break;
        case 'v': cfg.vsockd_bin = optarg; break;
        case 'p': d.vsock_port = (unsigned)atoi(optarg); break;
        case 'n': cfg.netns_path = d.netns = optarg; break;
        case 'T': nic.tap = optarg; cfg.nics = &nic; cfg.n_nics = 1; break;
        case 'M': nic.mac = d.mac = optarg; break;
        case 'a': cfg.kernel_args = optarg; break;
        case 'Q': cfg.qemu_bin = optarg; break;
        case 'u': {
            struct uid_range ur;
            if (uid_range_parse(optarg, strlen(optarg), &ur) < 0)
                usage();
            cfg.uid_first = ur.first, cfg.uid_last = ur.last;
            break;
        }
        case 'e': d.end = optarg; break;
        case 'd': cfg.debug = true; log_set_level(LOG_LVL_DEBUG); break;
        default: usage();
        }
    }
    if (!cfg.kernel || !cfg.run_dir)
        usage();
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);
    if (loop_new(&d.loop) < 0)
        return 1;
    cb.data = &d;
    d.t_start = now_ns();
    r = hv_start(d.loop, &cfg, &cb, &d.vm, &err);
    if (r < 0) {
        printf("FAIL: hv_start: %s\n", err.msg);
        return 1;
    }
    printf("NOTE: vsock mode %s, guest cid %u\n", hv_vsock_mode_name(hv_vsock_mode(d.vm)),
           hv_guest_cid(d.vm));
    loop_run(d.loop);
    if (!d.ready)
        fail(&d, "boot-qmp-ready", "%s", d.died_reason[0] ? d.died_reason : "never ready");
    if (strcmp(d.end, "kill") == 0) {
        if (!d.died)
            fail(&d, "kill9-reported", "no died callback");
        else {
            printf("NOTE: died reason: %s\n", d.died_reason);
            printf("NOTE: SIGKILL -> died callback %.1f ms\n", (d.t_died - d.t_kill) / 1e6);
            if (d.t_died - d.t_kill < 1000000000ULL)
                pass("kill9-reported-within-1s");
            if (strstr(d.died_reason, "killed by signal 9") && strstr(d.died_reason, "IDLE-READY"))
                pass("kill9-reason-has-signal-and-console-tail");
            else
                fail(&d, "kill9-reason", "'%s'", d.died_reason);
        }
    } else if (d.died) {
        fail(&d, "quit-no-died-callback", "%s", d.died_reason);
    } else {
        pass("quit-stopped-callback");
    }
    if (d.stopped)
        pass("stopped-callback");
    else
        fail(&d, "stopped-callback", "loop ended without it");
    hv_free(d.vm);
    d.kill_check = loop_source_free(d.kill_check);
    loop_run_once(d.loop, 0); /* release what was freed */
    (void)hv_proc_reap_orphans(d.loop, 2000); /* what hv_free killed */
    loop_free(d.loop);
    return d.failures ? 1 : 0;
}
