/* The parent's synchronous part of starting a container process: stdio, the setup socket,
 * namespaces, clone, cgroup placement; the handshake then runs on the loop (spawn_handshake.c). */
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define LOG_MODULE "spawn"
#include "cgroup.h"
#include "child.h"
#include "cleanup.h"
#include "fd.h"
#include "log.h"

/* stdio for the child: child_fds[3] to dup onto 0..2, p->fds[] the agent's ends. */
static int make_stdio(struct process *p, int child_fds[3], struct cvm_err *err)
{
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devnull < 0)
        return cvm_err_set(err, -errno, "open /dev/null: %s", strerror(errno));
    for (int i = 0; i < 3; i++)
        child_fds[i] = -1;
    if (p->terminal) {
        /* The child makes the pty in the container's devpts and sends the master back;
         * until then its stdio is /dev/null. */
        for (int i = 0; i < 3; i++)
            if ((child_fds[i] = fcntl(devnull, F_DUPFD_CLOEXEC, 3)) < 0) {
                close(devnull);
                return cvm_err_set(err, -EMFILE, "out of file descriptors");
            }
        close(devnull);
        return 0;
    }
    for (int i = 0; i < 3; i++) {
        int pf[2];
        if (!p->want[i]) {
            child_fds[i] = fcntl(devnull, F_DUPFD_CLOEXEC, 3);
            if (child_fds[i] < 0) {
                close(devnull);
                return cvm_err_set(err, -errno, "dup: %s", strerror(errno));
            }
            continue;
        }
        if (pipe2(pf, O_CLOEXEC) < 0) {
            close(devnull);
            return cvm_err_set(err, -errno, "pipe: %s", strerror(errno));
        }
        child_fds[i] = i == STDIO_IN ? pf[0] : pf[1];
        p->fds[i] = i == STDIO_IN ? pf[1] : pf[0];
        if (i != STDIO_IN)
            (void)fcntl(pf[0], F_SETPIPE_SZ, 1 << 16);
    }
    close(devnull);
    return 0;
}

static int open_ns(pid_t pid, const char *name, int *ret)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, name);
    *ret = open(path, O_RDONLY | O_CLOEXEC);
    return *ret < 0 ? -errno : 0;
}

static pid_t do_clone(unsigned long flags)
{
    /* Raw clone without CLONE_VM behaves as fork with namespace flags (crun does the same);
     * this process has no threads, so the child's libc state is consistent. */
    return (pid_t)syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, 0);
}

int spawn_process(struct agent *a, struct container *c, struct process *p,
                  const struct oci_process *proc, spawn_done_fn done, struct cvm_err *err)
{
    struct child_args ca = {.spec = c->spec,
                            .proc = proc,
                            .rootfs = c->rootfs,
                            .share_dir = c->share_dir,
                            .is_init = p == c->init,
                            .terminal = p->terminal};
    int child_fds[3] = {-1, -1, -1};
    int sv[2] = {-1, -1};
    int own_pidns = -1, join_pidns = -1;
    unsigned long flags = 0;
    int r = 0;
    pid_t pid = -1;

    for (int i = 0; i < 8; i++)
        ca.ns_fds[i] = -1;
    if ((r = make_stdio(p, child_fds, err)) < 0)
        goto out;
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
        r = cvm_err_set(err, -errno, "socketpair: %s", strerror(errno));
        goto out;
    }
    ca.sync_fd = sv[1];
    for (int i = 0; i < 3; i++)
        ca.stdio[i] = child_fds[i];

    if (ca.is_init) {
        for (size_t i = 0; i < c->spec->n_namespaces; i++) {
            const struct oci_namespace *ns = &c->spec->namespaces[i];
            if (ns->type == CLONE_NEWCGROUP && !ns->path) {
                ca.unshare_cgroup = true;
            } else if (ns->type == CLONE_NEWPID && ns->path) {
                join_pidns = open(ns->path, O_RDONLY | O_CLOEXEC);
                if (join_pidns < 0) {
                    r = cvm_err_set(err, -errno, "pid namespace %s: %s", ns->path, strerror(errno));
                    goto out;
                }
            } else if (ns->path) {
                size_t k = 0;
                while (ca.ns_fds[k] >= 0)
                    k++;
                ca.ns_fds[k] = open(ns->path, O_RDONLY | O_CLOEXEC);
                ca.ns_types[k] = ns->type;
                if (ca.ns_fds[k] < 0) {
                    r = cvm_err_set(err, -errno, "namespace %s: %s", ns->path, strerror(errno));
                    goto out;
                }
            } else {
                flags |= (unsigned long)ns->type;
            }
        }
    } else {
        static const struct {
            const char *name;
            int type;
        } kinds[] = {{"ipc", CLONE_NEWIPC},
                     {"uts", CLONE_NEWUTS},
                     {"cgroup", CLONE_NEWCGROUP},
                     {"mnt", CLONE_NEWNS}};
        size_t k = 0;
        if ((r = open_ns(c->init->pid, "pid", &join_pidns)) < 0) {
            r = cvm_err_set(err, r, "container %s: init's pid namespace: %s", c->id, strerror(-r));
            goto out;
        }
        for (size_t i = 0; i < ELEMENTSOF(kinds); i++) {
            int fd;
            if ((r = open_ns(c->init->pid, kinds[i].name, &fd)) < 0) {
                r = cvm_err_set(err, r, "container %s: %s namespace: %s", c->id, kinds[i].name,
                                strerror(-r));
                goto out;
            }
            ca.ns_fds[k] = fd;
            ca.ns_types[k++] = kinds[i].type;
        }
    }
    if (join_pidns >= 0) {
        own_pidns = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
        if (own_pidns < 0 || setns(join_pidns, CLONE_NEWPID) < 0) {
            r = cvm_err_set(err, -errno, "entering the pid namespace: %s", strerror(errno));
            goto out;
        }
    }
    pid = do_clone(flags);
    if (pid == 0)
        child_main(&ca);
    int clone_errno = errno;
    if (own_pidns >= 0 && setns(own_pidns, CLONE_NEWPID) < 0)
        log_error("cannot return to the agent's pid namespace: %s", strerror(errno));
    if (pid < 0) {
        r = cvm_err_set(err, -clone_errno, "clone: %s", strerror(clone_errno));
        goto out;
    }
    p->pid = pid;
    p->state = PROC_SPAWNING;
    close(sv[1]);
    sv[1] = -1;
    if (c->cgroup && (r = cgroup_add_pid(c->cgroup, pid)) < 0) {
        cvm_err_set(err, r, "moving pid %d into %s: %s", (int)pid, c->cgroup, strerror(-r));
        goto kill;
    }
    /* An empty socket buffer takes this at once; the parent end never blocks from here on. */
    if ((r = fd_set_nonblock(sv[0], 1)) < 0 ||
        (r = sync_send(sv[0], SYNC_CGROUP_DONE, 0, NULL)) < 0) {
        cvm_err_set(err, r, "container process setup: %s",
                    r == -EPIPE ? "child died" : strerror(-r));
        goto kill;
    }
    p->sync_fd = sv[0];
    sv[0] = -1;
    if ((r = spawn_handshake_start(a->loop, p, SPAWN_SETUP, SPAWN_SETUP_TIMEOUT_MS, done, err)) <
        0) {
        p->sync_fd = safe_close(p->sync_fd);
        goto kill;
    }
    r = 0;
    goto out;
kill:
    (void)kill(pid, SIGKILL); /* the reaper collects it; no process owns the pid any more */
    p->pid = 0;
out:
    for (int i = 0; i < 3; i++)
        safe_close(child_fds[i]);
    for (int i = 0; i < 8; i++)
        safe_close(ca.ns_fds[i]);
    safe_close(sv[0]);
    safe_close(sv[1]);
    safe_close(own_pidns);
    safe_close(join_pidns);
    if (r < 0)
        for (int i = 0; i < 3; i++)
            p->fds[i] = safe_close(p->fds[i]);
    return r;
}

int spawn_release(struct process *p, spawn_done_fn done, struct cvm_err *err)
{
    if (p->state != PROC_CREATED || p->sync_fd < 0 || spawn_busy(p))
        return cvm_err_set(err, -EALREADY, "starting process: already started");
    /* The child blocks in recv for this: an empty socket buffer takes it at once. */
    int r = sync_send(p->sync_fd, SYNC_START, 0, NULL);
    if (r < 0) {
        p->sync_fd = safe_close(p->sync_fd);
        return cvm_err_set(err, r, "starting process: %s", strerror(-r));
    }
    /* The socket is close-on-exec: EOF means execve succeeded; a message is its error. */
    r = spawn_handshake_start(agent_global->loop, p, SPAWN_RELEASE, SPAWN_SETUP_TIMEOUT_MS, done,
                              err);
    if (r < 0) {
        p->sync_fd = safe_close(p->sync_fd);
        (void)kill(p->pid, SIGKILL);
    }
    return r;
}
