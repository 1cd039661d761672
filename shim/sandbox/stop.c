/* The end of a VM: park (stop an idle VM, its processes keep their exits), stop (the daemon
 * exits) and the clean-up of its files, netns plumbing and host cgroup once QEMU is gone. */
#define LOG_MODULE "sandbox"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup/host_cgroup.h"
#include "fs_beneath.h"
#include "fd.h"
#include "log.h"
#include "loop.h"
#include "sandbox/sandbox_net.h"
#include "sandbox/mounts.h"
#include "sandbox/sandbox_internal.h"

#define PARK_DEADLINE_MS 1000u /* QMP quit, then SIGKILL */

void park_done(struct sandbox *sb)
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
    snprintf(sb->dead_reason, sizeof(sb->dead_reason),
             "sandbox %s stopped after its last process exited", sb->id);
    log_info("%s: stopping the VM (qemu pid %d)", sb->dead_reason, (int)sb->qemu_pid);
    sb->state = SB_DEAD;
    sb->park_cb = cb;
    sb->heartbeat = loop_source_free(sb->heartbeat);
    (void)hv_stop(sb->vm, PARK_DEADLINE_MS);
    return 0;
}

/* The VM's processes are reaped by now; runc removes the cgroup at delete too. A helper's own
 * child may take a moment more (it was SIGKILLed): host_cgroup_remove_later retries on a timer
 * (and the daemon finishes what is left at exit), never waits here. */
static void remove_host_cgroup(struct sandbox *sb)
{
    host_cgroup_remove_later(sb->loop, sb->host_cg);
    sb->host_cg = NULL;
}

void cleanup_files(struct sandbox *sb)
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

void hv_stopped(struct hv_vm *vm, void *data)
{
    struct sandbox *sb = data;
    log_info("VM %s stopped", sb->id);
    sb->vm = NULL;
    sb->qemu_pid = 0;
    ttrpc_client_free(sb->agent);
    sb->agent = NULL;
    loop_defer(sb->loop, free_vm_deferred, vm);
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
