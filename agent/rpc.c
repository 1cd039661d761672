#include "rpc.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOG_MODULE "rpc"
#include "cgroup.h"
#include "cleanup.h"
#include "log.h"
#include "loop.h"
#include "ttrpc.h"

static const struct ttrpc_method methods[] = {
    {"CreateContainer", rpc_create_container}, {"StartProcess", rpc_start_process},
    {"ExecProcess", rpc_exec_process},         {"SignalProcess", rpc_signal_process},
    {"WaitProcess", rpc_wait_process},         {"ResizeTty", rpc_resize_tty},
    {"CloseStdin", rpc_close_stdin},           {"PauseContainer", rpc_pause_container},
    {"ResumeContainer", rpc_resume_container}, {"StatsContainer", rpc_stats_container},
    {"UpdateContainer", rpc_update_container}, {"ListProcesses", rpc_list_processes},
    {"RemoveContainer", rpc_remove_container}, {"Health", rpc_health},
    {"Version", rpc_version},                  {"Shutdown", rpc_shutdown},
    {"DeleteProcess", rpc_delete_process},     {"ConfigureNetwork", rpc_configure_network},
    {"ListNetwork", rpc_list_network},         {"WaitOOM", rpc_wait_oom},
};

int rpc_register(struct agent *a, struct ttrpc_server *srv)
{
    return ttrpc_server_register(srv, AGENT_SERVICE, methods, ELEMENTSOF(methods), a);
}

struct container *rpc_container(struct agent *a, struct ttrpc_call *call, const char *cid)
{
    if (!agent_id_valid(cid, false)) {
        ttrpc_call_reply_error(call, RPC_INVALID_ARGUMENT, "invalid container id");
        return NULL;
    }
    struct container *c = agent_find_container(a, cid);
    if (!c)
        ttrpc_call_reply_error(call, RPC_NOT_FOUND, "container %s: not found", cid);
    return c;
}

struct container *rpc_container_cgroup(struct agent *a, struct ttrpc_call *call, const char *cid)
{
    struct container *c = rpc_container(a, call, cid);
    if (c && !c->cgroup) {
        ttrpc_call_reply_error(call, RPC_FAILED_PRECONDITION, "container %s: no cgroup", c->id);
        return NULL;
    }
    return c;
}

struct process *rpc_process(struct agent *a, struct ttrpc_call *call, const char *cid, const char *eid)
{
    if (!agent_id_valid(eid, true)) {
        ttrpc_call_reply_error(call, RPC_INVALID_ARGUMENT, "invalid exec id");
        return NULL;
    }
    struct container *c = rpc_container(a, call, cid);
    if (!c)
        return NULL;
    struct process *p = container_find_process(c, eid);
    if (!p)
        ttrpc_call_reply_error(call, RPC_NOT_FOUND, "container %s exec %s: not found", cid, eid);
    return p;
}

int share_mount(struct agent *a, const char *tag, char **ret, struct cvm_err *err)
{
    char *dir = NULL;
    struct stat st, parent;
    if (!agent_id_valid(tag, false))
        return cvm_err_setc(err, RPC_INVALID_ARGUMENT, -EINVAL, "invalid share tag");
    if (asprintf(&dir, "%s/%s", a->cfg.share_root, tag) < 0)
        return cvm_err_set(err, -ENOMEM, "out of memory");
    (void)mkdir(a->cfg.share_root, 0755);
    if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
        int r = -errno;
        free(dir);
        return cvm_err_set(err, r, "mkdir %s: %s", dir, strerror(-r));
    }
    /* Mounted already when it sits on another device than its parent. */
    if (stat(dir, &st) == 0 && stat(a->cfg.share_root, &parent) == 0 && st.st_dev != parent.st_dev) {
        *ret = dir;
        return 0;
    }
    if (mount(tag, dir, "virtiofs", MS_NOSUID | MS_NODEV, NULL) < 0) {
        int r = -errno;
        cvm_err_set(err, r, "mount virtio-fs tag %s on %s: %s", tag, dir, strerror(-r));
        free(dir);
        return r;
    }
    log_info("mounted virtio-fs %s on %s", tag, dir);
    *ret = dir;
    return 0;
}

static void do_poweroff(struct loop_source *t, void *data)
{
    struct agent *a = data;
    (void)t;
    if (!a->cfg.pid1) {
        loop_quit(a->loop, 0);
        return;
    }
    log_info("powering off");
    sync();
    reboot(RB_POWER_OFF);
    /* Not reached; if it is, PID 1 must not return: wait for the VM to go. */
    for (;;)
        pause();
}

void agent_shutdown(struct agent *a)
{
    if (a->shutting_down)
        return;
    a->shutting_down = true;
    for (struct container *c = a->containers; c; c = c->next) {
        if (c->cgroup)
            (void)cgroup_kill(c->cgroup, SIGKILL);
        if (c->init && c->init->pid > 0 && c->init->state < PROC_EXITED)
            (void)kill(c->init->pid, SIGKILL);
        for (struct process *p = c->execs; p; p = p->next)
            if (p->pid > 0 && p->state < PROC_EXITED)
                (void)kill(p->pid, SIGKILL);
    }
    /* A moment later, so queued replies (Shutdown's own) reach the host first. */
    static struct loop_source *t;
    if (loop_add_timer(a->loop, 200 * 1000, do_poweroff, a, &t) < 0)
        do_poweroff(NULL, a);
}
