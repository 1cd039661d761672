/* A VM that failed to boot or died: the reason is recorded (console tail, kernel panic), waiters
 * and tasks are told, QEMU is stopped; sandbox_kill_vm for a guest the host gave up on. */
#define LOG_MODULE "sandbox"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fd.h"
#include "log.h"
#include "loop.h"
#include "sandbox/sandbox_internal.h"

void boot_failed(struct sandbox *sb, const char *why)
{
    char tail[300], panic[240];
    /* QEMU's own death carries its console tail ("console tail:", hv_qemu_describe_death):
     * a second copy would push the first out of the bounded reason */
    bool has_console = strstr(why, "console:") != NULL || strstr(why, "console tail:") != NULL;
    console_tail_line(sb, tail, sizeof(tail));
    console_panic(sb, panic, sizeof(panic));
    snprintf(sb->dead_reason, sizeof(sb->dead_reason), "VM %s did not boot: %s%.700s%s%s", sb->id,
             panic, why, has_console ? "" : "; console: ",
             has_console ? ""
             : tail[0]   ? tail
                         : "(empty)");
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

/* Every task of a dead VM exits with 255 (spec: kill -9 of QEMU). */
void vm_gone(struct sandbox *sb, const char *reason)
{
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
        bool kvm_early =
            sb->vm && hv_accel(sb->vm)->kvm && (last >= _BOOT_PHASE_MAX || last < BOOT_CONSOLE);
        snprintf(why, sizeof(why), "the VM died during boot (last phase reached: %s%s): %s",
                 last < _BOOT_PHASE_MAX ? boot_phase_name(last) : "none",
                 kvm_early ? "; accel kvm: " BOOT_KVM_ADVICE : "", reason);
        boot_failed(sb, why);
        return;
    }
    {
        char panic[240];
        console_panic(sb, panic, sizeof(panic));
        snprintf(sb->dead_reason, sizeof(sb->dead_reason), "VM %s died: %s%s", sb->id, panic,
                 reason);
    }
    log_error("%s", sb->dead_reason);
    sb->state = old == SB_STOPPING ? SB_STOPPING : SB_DEAD;
    sb->heartbeat = loop_source_free(sb->heartbeat);
    if (sb->owner && sb->owner->vm_died)
        sb->owner->vm_died(sb);
    if (sb->vm)
        (void)hv_stop(sb->vm, 2000);
}

void sandbox_kill_vm(struct sandbox *sb, const char *reason)
{
    /* vm_gone ends every task and stops the VM: QMP quit cannot reach a stopped or wedged
     * QEMU, so its SIGKILL comes after a short deadline; SIGKILL works on a stopped process. */
    log_error("sandbox %s: %s: killing QEMU (pid %d) from the host", sb->id, reason,
              (int)sb->qemu_pid);
    if (sb->vm)
        (void)hv_stop(sb->vm, 300);
    vm_gone(sb, reason);
}
