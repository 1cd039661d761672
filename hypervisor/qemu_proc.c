/* Launch QEMU for a VM and connect its QMP monitor; describe its death.
 *
 * The QMP socket <run_dir>/qmp.sock is bound here and handed to QEMU as fd 3 (see
 * qemu_argv.h), then we connect to it at once: the kernel queues our connection on the
 * listening socket until QEMU accepts it, so there is no polling for QEMU's start. QEMU runs
 * in its own process group, in the sandbox netns when one is configured (setns before exec:
 * the pid containerd sees is QEMU's and CNI looks at /proc/<pid>/ns/net), then as its
 * unprivileged user without capabilities (vm->qemu_creds, qemu_privs.h); everything else it
 * needs is inherited too (qemu_fds.c). */
#define LOG_MODULE "hv"
#include <sys/socket.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "errmap.h"
#include "fd.h"
#include "hv_internal.h"
#include "hv_proc.h"
#include "log.h"
#include "qemu_argv.h"
#include "console.h"
#include "qmp.h"

static void on_qemu_exit(struct hv_proc *p, const siginfo_t *si, void *data)
{
    struct hv_vm *vm = data;
    (void)p;
    vm->events->qemu_exited(vm, si);
}

static void on_qmp_ready(struct qmp *q, void *data)
{
    struct hv_vm *vm = data;
    (void)q;
    vm->events->qmp_ready(vm);
}

static void on_qmp_event(struct qmp *q, const char *name, json_t *ev, void *data)
{
    struct hv_vm *vm = data;
    const char *reason = json_string_value(json_object_get(ev, "reason"));
    (void)q;
    log_info("QMP event %s%s%s", name, reason ? " reason=" : "", reason ? reason : "");
    /* SHUTDOWN's reason (guest-shutdown, guest-reset: our panic=-1 -no-reboot, host-qmp-quit,
     * host-signal) and GUEST_PANICKED go into the death report. */
    if (strcmp(name, "SHUTDOWN") == 0 && reason)
        snprintf(vm->shutdown_reason, sizeof(vm->shutdown_reason), "%s", reason);
    else if (strcmp(name, "GUEST_PANICKED") == 0)
        snprintf(vm->shutdown_reason, sizeof(vm->shutdown_reason), "guest-panicked");
    if (vm->cb.event) {
        vm->in_callback++;
        vm->cb.event(vm, name, vm->cb.data);
        vm->in_callback--;
    }
}

static void on_qmp_closed(struct qmp *q, int r, void *data)
{
    (void)q;
    (void)data;
    /* QEMU's exit is reported by its pidfd; a closed monitor alone changes nothing. */
    log_debug("QMP connection closed (%s)", r ? strerror(-r) : "EOF");
}

static void on_console_line(const char *line, void *data)
{
    struct hv_vm *vm = data;
    if (vm->debug)
        log_emit(LOG_LVL_INFO, "guest", "%s", line);
    if (vm->cb.console && !vm->free_requested) {
        vm->in_callback++;
        vm->cb.console(vm, line, vm->cb.data);
        vm->in_callback--;
    }
}

static void fill_spec(const struct hv_vm *vm, struct qemu_spec *s)
{
    *s = (struct qemu_spec){
        .name = vm->id,
        .qemu_bin = vm->qemu_bin,
        .run_dir = vm->run_dir,
        .initrd = vm->initrd != NULL,
        .kernel_args = vm->kernel_args,
        .vcpus = vm->vcpus,
        .mem_mib = vm->mem_mib,
        .virtiofs = vm->shared_dir != NULL,
        .fs_tag = vm->fs_tag,
        .vsock_mode = vm->mode,
        .guest_cid = vm->cid,
        .nics = vm->nics,
        .n_nics = vm->n_nics,
        .icount = vm->tcg_icount,
        .tcg_cache_mib = vm->tcg_cache_mib,
        .tcg_split_wx = vm->tcg_trimmable,
    };
}

static int connect_qmp(struct hv_vm *vm, struct cvm_err *err)
{
    static const struct qmp_callbacks cb = {on_qmp_ready, on_qmp_event, on_qmp_closed, NULL};
    struct qmp_callbacks c = cb;
    _cleanup_close_ int fd = -EBADF;
    int r = fd = unix_connect(vm->qmp_sock, SOCK_NONBLOCK);
    if (r < 0)
        return cvm_err_set(err, r, "connecting to QMP at '%s'", vm->qmp_sock);
    c.data = vm;
    r = qmp_new(vm->loop, fd, &c, &vm->qmp);
    if (r < 0)
        return cvm_err_set(err, r, "QMP");
    TAKE_FD(fd);
    return 0;
}

/* The fd map: QMP and console, then whatever qemu_fds.c opened, at qemu_argv.h's numbers. */
static size_t fill_fds(const struct hv_vm *vm, int qmp_lfd, int con_fd, const struct hv_qemu_fds *q,
                       struct hv_proc_fd *fds)
{
    size_t n = 0;
    fds[n++] = (struct hv_proc_fd){qmp_lfd, QEMU_QMP_FD};
    fds[n++] = (struct hv_proc_fd){con_fd, QEMU_CON_FD};
    fds[n++] = (struct hv_proc_fd){q->vsock, QEMU_VSOCK_FD};
    fds[n++] = (struct hv_proc_fd){q->kernel, QEMU_KERNEL_FD};
    if (q->vfs >= 0)
        fds[n++] = (struct hv_proc_fd){q->vfs, QEMU_VFS_FD};
    if (q->initrd >= 0)
        fds[n++] = (struct hv_proc_fd){q->initrd, QEMU_INITRD_FD};
    if (vm->uid_lock_fd >= 0)
        fds[n++] = (struct hv_proc_fd){vm->uid_lock_fd, QEMU_UID_LOCK_FD};
    for (unsigned i = 0; i < vm->n_nics; i++) {
        fds[n++] = (struct hv_proc_fd){q->tap[i], QEMU_TAP_FD(i)};
        if (q->vhost_net[i] >= 0)
            fds[n++] = (struct hv_proc_fd){q->vhost_net[i], QEMU_VHOST_NET_FD(i)};
    }
    return n;
}

static int spawn(struct hv_vm *vm, char **argv, struct hv_qemu_fds *q, struct cvm_err *err)
{
    _cleanup_close_ int qmp_lfd = -EBADF, netns = -EBADF, con_fd = -EBADF;
    struct hv_proc_fd fds[HV_PROC_MAX_FDS];
    struct hv_proc_opts o = {.name = "qemu",
                             .argv = argv,
                             .fds = fds,
                             .netns_fd = -1,
                             .creds = &vm->qemu_creds,
                             .cgroup_fds = vm->cgroup_fds,
                             .n_cgroup_fds = vm->n_cgroup_fds};
    int r;

    if (vm->netns_path) {
        netns = open(vm->netns_path, O_RDONLY | O_CLOEXEC);
        if (netns < 0)
            return cvm_err_set(err, -errno, "opening netns '%s'", vm->netns_path);
        o.netns_fd = netns;
    }
    r = qmp_lfd = unix_listen(vm->qmp_sock, 0);
    if (r < 0)
        return cvm_err_set(err, r, "QMP socket '%s'", vm->qmp_sock);
    r = hv_console_new(vm->loop, vm->console_path, (size_t)vm->console_max_kib * 1024,
                       on_console_line, vm, &con_fd, &vm->console);
    if (r < 0)
        return cvm_err_set(err, r, "console log '%s'", vm->console_path);
    o.n_fds = fill_fds(vm, qmp_lfd, con_fd, q, fds);
    if (log_get_level() == LOG_LVL_DEBUG)
        for (char **a = argv; *a; a++)
            log_debug("qemu argv: %s", *a);
    vm->qemu_spawn_ns = now_ns();
    r = hv_proc_spawn(vm->loop, &o, on_qemu_exit, vm, &vm->qemu);
    if (r < 0)
        return cvm_err_set(err, r, "starting %s as uid %u", vm->qemu_bin,
                           (unsigned)(vm->qemu_creds.set_ids ? vm->qemu_creds.uid : geteuid()));
    return 0;
}

int hv_qemu_spawn(struct hv_vm *vm, struct cvm_err *err)
{
    struct qemu_host_facts host;
    struct qemu_spec spec;
    struct hv_qemu_fds q;
    char **argv = NULL;
    int r;

    hv_qemu_fds_init(&q);
    r = qemu_host_facts_probe(&host);
    if (r < 0)
        return cvm_err_set(err, r, "probing host facts");
    host.kvm = vm->accel.kvm;
    fill_spec(vm, &spec);
    r = qemu_argv_build(&spec, &host, &argv);
    if (r < 0)
        return cvm_err_set(err, r, "building the QEMU command line");
    r = hv_qemu_fds_open(vm, host.vhost_net, &q, err);
    if (r == 0)
        r = spawn(vm, argv, &q, err);
    /* QEMU holds its copies now: ours go, so QEMU's exit alone ends the taps and the
     * vhost-user connections. */
    hv_qemu_fds_close(&q);
    qemu_argv_free(argv);
    if (r < 0)
        return r;
    log_info("QEMU started, pid %d (%s, vsock %s, cid %u, uid %u)", (int)hv_proc_pid(vm->qemu),
             host.kvm ? "kvm" : "tcg", hv_vsock_mode_name(vm->mode), vm->cid,
             (unsigned)(vm->qemu_creds.set_ids ? vm->qemu_creds.uid : geteuid()));
    return connect_qmp(vm, err);
}

/* "qemu exited with status 1: <stderr tail>; console: <tail>" */
void hv_qemu_describe_death(struct hv_vm *vm, const siginfo_t *si, char *buf, size_t n)
{
    char how[96], con[512], errtail[256];
    const char *t = vm->qemu ? hv_proc_stderr_tail(vm->qemu) : "";
    size_t tl = strlen(t);
    hv_proc_describe_exit(si, how, sizeof(how));
    /* The last line(s) QEMU wrote to stderr usually say why. */
    while (tl > 0 && (t[tl - 1] == '\n' || t[tl - 1] == '\r'))
        tl--;
    snprintf(errtail, sizeof(errtail), "%.*s", (int)MIN(tl, sizeof(errtail) - 1),
             t + (tl > sizeof(errtail) - 1 ? tl - (sizeof(errtail) - 1) : 0));
    for (char *c = errtail; *c; c++)
        if (*c == '\n' || *c == '\r')
            *c = ' ';
    if (hv_console_tail(vm, con, sizeof(con)) < 0)
        con[0] = '\0';
    /* The console is guest-written: no control bytes go on into logs and RPC errors. Lines
     * are joined with '|' (serial lines end in "\r\n": the '\r' is dropped). */
    {
        char *w = con;
        for (const char *c = con; *c; c++) {
            if (*c == '\r')
                continue;
            *w++ = *c == '\n' ? '|' : ((unsigned char)*c < 0x20 || *c == 0x7f) ? '?' : *c;
        }
        *w = '\0';
    }
    snprintf(buf, n, "qemu %s%s%s%s%s; console tail: %s", how,
             vm->shutdown_reason[0] ? " after shutdown event " : "", vm->shutdown_reason,
             errtail[0] ? ": " : "", errtail, con[0] ? con : "(empty)");
}
