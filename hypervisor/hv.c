/* The VM lifecycle: start helpers then QEMU, watch everything, tear down in order.
 *
 *   HELPERS --(vsockd READY, or no vsockd)--> QEMU --QMP negotiated--> READY
 *      \______________________ any failure / hv_stop() ____________________/
 *                                   v
 *   STOPPING: QEMU first (QMP quit, or SIGTERM; SIGKILL at the deadline), then virtiofsd and
 *             cvm-vsockd (SIGTERM; SIGKILL at the deadline) --all reaped--> files removed -->
 *   STOPPED (cb.stopped)
 *
 * A VM that ends without hv_stop() reports cb.died first, exactly once. */
#define LOG_MODULE "hv"
#include "hv.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "errmap.h"
#include "fd.h"
#include "hv_internal.h"
#include "hv_proc.h"
#include "log.h"
#include "loop.h"
#include "console.h"
#include "qmp.h"

static void teardown(struct hv_vm *vm, bool graceful, unsigned deadline_ms);

/* Callbacks into the owner may free the VM (hv_free): the memory then lives until the
 * loop's next batch, and callers check vm->free_requested before touching it again. */
static void release(void *data)
{
    struct hv_vm *vm = data;
    free(vm->id), free(vm->run_dir), free(vm->kernel), free(vm->initrd), free(vm->kernel_args);
    free(vm->qemu_bin), free(vm->shared_dir), free(vm->fs_tag), free(vm->fs_cache);
    free(vm->virtiofsd_bin), free(vm->vsockd_bin), free(vm->netns_path), free(vm->console_path);
    for (unsigned i = 0; i < vm->n_nics; i++)
        free(vm->nic_tap[i]), free(vm->nic_mac[i]);
    free(vm->cid_dir), free(vm->uid_lock_dir), free(vm->qmp_sock), free(vm->vfs_sock),
        free(vm->vsock_vu_sock);
    free(vm->vsock_uds), free(vm->vsock_dir);
    for (unsigned i = 0; i < vm->n_cgroup_fds; i++)
        safe_close(vm->cgroup_fds[i]);
    safe_close(vm->uid_lock_fd); /* closed by remove_files already on every path that ran it */
    free(vm);
}

static void remove_files(struct hv_vm *vm)
{
    const char *files[] = {vm->qmp_sock, vm->vfs_sock, vm->vsock_vu_sock, vm->vsock_uds,
                           vm->own_console ? vm->console_path : NULL};
    for (size_t i = 0; i < ELEMENTSOF(files); i++)
        if (files[i])
            (void)unlink(files[i]);
    if (vm->cid_lock_fd >= 0) {
        hv_cid_release(vm->cid_dir, vm->cid, vm->cid_lock_fd);
        vm->cid_lock_fd = -1;
    }
    /* Our copy of the uid lease: a child still dying keeps it held until it is gone. */
    vm->uid_lock_fd = safe_close(vm->uid_lock_fd);
    if (vm->made_vsock_dir && rmdir(vm->vsock_dir) < 0 && errno != ENOENT)
        log_debug("keeping '%s': %s", vm->vsock_dir, strerror(errno));
    if (vm->made_run_dir && rmdir(vm->run_dir) < 0 && errno != ENOENT)
        log_debug("keeping run dir '%s': %s", vm->run_dir, strerror(errno));
}

/* STOPPING and nothing left running: remove files and report. */
static void check_done(struct hv_vm *vm)
{
    if (vm->state != HV_ST_STOPPING || hv_proc_running(vm->qemu) ||
        hv_proc_running(vm->virtiofsd) || hv_proc_running(vm->vsockd))
        return;
    vm->qmp = (qmp_free(vm->qmp), NULL);
    vm->boot_timer = loop_source_free(vm->boot_timer);
    vm->helper_grace = loop_source_free(vm->helper_grace);
    vm->pageout_timer = loop_source_free(vm->pageout_timer);
    hv_vsockd_done_waiting(vm);
    hv_console_free(vm->console);
    vm->console = NULL;
    remove_files(vm);
    vm->state = HV_ST_STOPPED;
    log_info("sandbox VM stopped, everything removed");
    vm->in_callback++;
    if (vm->cb.stopped)
        vm->cb.stopped(vm, vm->cb.data);
    vm->in_callback--;
}

static void stop_helpers(struct hv_vm *vm)
{
    (void)hv_proc_stop(vm->virtiofsd, SIGTERM, vm->stop_timeout_ms);
    (void)hv_proc_stop(vm->vsockd, SIGTERM, vm->stop_timeout_ms);
    check_done(vm);
}

static void report_died(struct hv_vm *vm, const char *reason)
{
    if (vm->died_reported || vm->state == HV_ST_STOPPING || vm->state == HV_ST_STOPPED)
        return;
    vm->died_reported = true;
    log_error("sandbox VM died: %s", reason);
    vm->in_callback++;
    if (vm->cb.died)
        vm->cb.died(vm, reason, vm->cb.data);
    vm->in_callback--;
}

void hv_fail(struct hv_vm *vm, const char *fmt, ...)
{
    char reason[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    report_died(vm, reason);
    if (!vm->free_requested)
        teardown(vm, false, vm->stop_timeout_ms);
}

static void fail_with(struct hv_vm *vm, const char *reason)
{
    hv_fail(vm, "%s", reason);
}

static void qemu_exited(struct hv_vm *vm, const siginfo_t *si)
{
    char reason[1024];
    hv_console_drain(vm->console); /* what QEMU wrote last belongs in the report */
    hv_qemu_describe_death(vm, si, reason, sizeof(reason));
    if (vm->state == HV_ST_STOPPING)
        log_info("%s", reason);
    report_died(vm, reason);
    if (vm->free_requested)
        return;
    vm->state = HV_ST_STOPPING;
    vm->helper_grace = loop_source_free(vm->helper_grace);
    vm->qmp = (qmp_free(vm->qmp), NULL);
    hv_vsock_cancel_all(vm, -ECONNRESET);
    stop_helpers(vm);
}

static void on_helper_grace(struct loop_source *s, void *data)
{
    struct hv_vm *vm = data;
    (void)s;
    vm->helper_grace = loop_source_free(vm->helper_grace);
    hv_fail(vm, "%s", vm->helper_reason);
}

/* A helper that exits on its own usually saw QEMU go away first (virtiofsd and cvm-vsockd
 * exit when their vhost-user peer hangs up), and its pidfd can fire before QEMU's. Give
 * QEMU's exit a moment to arrive so the report names the real cause. */
#define HELPER_GRACE_MS 250

static void helper_exited(struct hv_vm *vm, struct hv_proc *p, const char *what,
                          const siginfo_t *si)
{
    char how[96];
    hv_proc_describe_exit(si, how, sizeof(how));
    if (vm->state == HV_ST_STOPPING) {
        log_debug("%s %s", what, how);
        check_done(vm);
        return;
    }
    /* Without its filesystem or vsock the sandbox is broken: stop it. The reason is one line:
     * the helper's last stderr bytes with line breaks and control bytes flattened. */
    snprintf(vm->helper_reason, sizeof(vm->helper_reason), "%s %s: %s", what, how,
             hv_proc_stderr_tail(p));
    for (char *c = vm->helper_reason; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            *c = ' ';
    if (!hv_proc_running(vm->qemu) || vm->helper_grace ||
        loop_add_timer(vm->loop, HELPER_GRACE_MS * 1000, on_helper_grace, vm, &vm->helper_grace) <
            0)
        hv_fail(vm, "%s", vm->helper_reason);
}

static void helpers_ready(struct hv_vm *vm)
{
    struct cvm_err err = {0};
    if (vm->state != HV_ST_HELPERS)
        return;
    vm->state = HV_ST_QEMU;
    if (hv_qemu_spawn(vm, &err) < 0)
        hv_fail(vm, "%s", err.msg);
}

static void qmp_ready(struct hv_vm *vm)
{
    if (vm->state != HV_ST_QEMU)
        return;
    vm->state = HV_ST_READY;
    vm->boot_timer = loop_source_free(vm->boot_timer);
    hv_qemu_pageout_arm(vm);
    log_info("sandbox VM up: QMP ready %.1f ms after QEMU was spawned",
             (double)(now_ns() - vm->qemu_spawn_ns) / 1e6);
    vm->in_callback++;
    if (vm->cb.ready)
        vm->cb.ready(vm, vm->cb.data);
    vm->in_callback--;
}

const struct hv_events hv_vm_events = {
    .fail = fail_with,
    .helper_exited = helper_exited,
    .helpers_ready = helpers_ready,
    .qmp_ready = qmp_ready,
    .qemu_exited = qemu_exited,
};

static void on_quit_reply(struct qmp *q, int r, json_t *ret, const char *cls, const char *desc,
                          void *data)
{
    (void)q, (void)ret, (void)cls, (void)data;
    if (r < 0 && r != -ECONNRESET)
        log_debug("QMP quit: %s", desc ? desc : strerror(-r));
}

static void teardown(struct hv_vm *vm, bool graceful, unsigned deadline_ms)
{
    if (vm->state == HV_ST_STOPPED)
        return;
    if (vm->state == HV_ST_STOPPING) {
        (void)hv_proc_stop(vm->qemu, 0, deadline_ms);
        return;
    }
    vm->state = HV_ST_STOPPING;
    vm->boot_timer = loop_source_free(vm->boot_timer);
    vm->helper_grace = loop_source_free(vm->helper_grace);
    vm->pageout_timer = loop_source_free(vm->pageout_timer);
    hv_vsockd_done_waiting(vm);
    hv_vsock_cancel_all(vm, -ECONNRESET);
    if (!hv_proc_running(vm->qemu)) {
        stop_helpers(vm);
        return;
    }
    if (graceful && vm->qmp && qmp_is_ready(vm->qmp) &&
        qmp_execute(vm->qmp, "quit", NULL, on_quit_reply, vm) == 0)
        (void)hv_proc_stop(vm->qemu, 0, deadline_ms);
    else
        (void)hv_proc_stop(vm->qemu, SIGTERM, deadline_ms);
}

int hv_stop(struct hv_vm *vm, unsigned deadline_ms)
{
    if (!vm)
        return -EINVAL;
    if (vm->state != HV_ST_STOPPING && vm->state != HV_ST_STOPPED)
        log_info("stopping sandbox VM");
    teardown(vm, true, deadline_ms ? deadline_ms : vm->stop_timeout_ms);
    return 0;
}

void hv_free(struct hv_vm *vm)
{
    if (!vm || vm->free_requested)
        return;
    vm->free_requested = true;
    hv_vsock_cancel_all(vm, 0);
    vm->qmp = (qmp_free(vm->qmp), NULL);
    vm->boot_timer = loop_source_free(vm->boot_timer);
    vm->helper_grace = loop_source_free(vm->helper_grace);
    vm->pageout_timer = loop_source_free(vm->pageout_timer);
    hv_vsockd_done_waiting(vm);
    /* Last resort for a VM not stopped first: SIGKILL; reaped on the loop (hv_proc_free). */
    hv_proc_free(vm->qemu), hv_proc_free(vm->virtiofsd), hv_proc_free(vm->vsockd);
    vm->qemu = vm->virtiofsd = vm->vsockd = NULL;
    hv_console_free(vm->console);
    vm->console = NULL;
    if (vm->state != HV_ST_STOPPED)
        remove_files(vm);
    vm->state = HV_ST_STOPPED;
    if (!vm->in_callback || loop_defer(vm->loop, release, vm) < 0)
        release(vm);
}
