/* A claimed pooled VM joins a sandbox netns made before it (CRI's pod netns: CNI ran there
 * already). The VM booted in a fresh netns of its own with its taps there; QEMU stays in that
 * netns (a process cannot be moved), the taps move into the sandbox's (a tap keeps its open
 * fd across the move, so QEMU's NIC keeps working) and the tc redirects are made there by the
 * usual sync. containerd, CRI and hooks find the sandbox netns as /proc/<task pid>/ns/net, and
 * the task pid was QEMU's: it becomes a small holder process of the shim's living in the
 * sandbox netns (forked, PDEATHSIG, setns, pause), killed with the sandbox. */
#define LOG_MODULE "sandbox"
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "fd.h"
#include "log.h"
#include "net/net.h"
#include "net/portfwd.h"
#include "sandbox/sandbox.h"
#include "sandbox/sandbox_net.h"

static struct hv_vm *vm_of(void *sb)
{
    return sandbox_vm(sb);
}

static int holder_spawn(int netns_fd, pid_t *ret_pid, int *ret_pidfd)
{
    pid_t parent = getpid(), pid;
    int pidfd;
    pid = fork();
    if (pid < 0)
        return -errno;
    if (pid == 0) {
        sigset_t all;
        (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent || setns(netns_fd, CLONE_NEWNET) < 0)
            _exit(1);
        (void)prctl(PR_SET_NAME, "cvm-netns");
        fd_close_all_except(0, NULL, 0);
        sigfillset(&all);
        sigprocmask(SIG_SETMASK, &all, NULL);
        for (;;)
            pause();
    }
    pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (pidfd < 0) {
        int r = -errno;
        (void)kill(pid, SIGKILL); /* our child, not reaped yet: the pid is still its */
        return r;
    }
    *ret_pid = pid;
    *ret_pidfd = pidfd;
    return 0;
}

int sandbox_net_adopt(struct sandbox *sb, const char *netns_path, struct cvm_err *err)
{
    _cleanup_close_ int to = open(netns_path, O_RDONLY | O_CLOEXEC);
    _cleanup_free_ struct net_state *s = calloc(1, sizeof(*s));
    pid_t pid = 0;
    int pidfd = -1, r;

    if (!s)
        return cvm_err_set(err, -ENOMEM, "out of memory");
    if (to < 0)
        return cvm_err_set(err, -errno, "network namespace %s: %m", netns_path);
    r = net_scan(to, s, err);
    if (r < 0)
        return r;
    if ((unsigned)s->n_links > sb->n_nics)
        return cvm_err_set(err, -ENOSPC,
                           "the sandbox netns has %zu network interfaces, the pooled VM %u NICs",
                           s->n_links, sb->n_nics);
    for (unsigned i = 0; i < sb->n_nics; i++)
        if ((r = net_link_move(sb->netns_fd, sb->nic_tap[i], to, err)) < 0)
            return r;
    r = holder_spawn(to, &pid, &pidfd);
    if (r < 0)
        return cvm_err_set(err, r, "netns holder: %s", strerror(-r));
    portfwd_stop(sb->portfwd);
    sb->portfwd = NULL;
    safe_close(sb->netns_fd);
    sb->netns_fd = TAKE_FD(to);
    sb->holder_pid = sb->task_pid = pid;
    sb->holder_pidfd = pidfd;
    struct cvm_err perr = {0};
    if (portfwd_start(sb->loop, sb->netns_fd, sb->id, vm_of, sb, &sb->portfwd, &perr) < 0)
        log_warn("sandbox %s: port forwarding unavailable: %s", sb->id, perr.msg);
    log_info("sandbox %s: the pooled VM's %u tap(s) moved into %s; task pid %d holds it", sb->id,
             sb->n_nics, netns_path, (int)pid);
    return 0;
}

void sandbox_net_holder_kill(struct sandbox *sb)
{
    if (sb->holder_pidfd < 0)
        return;
    (void)syscall(SYS_pidfd_send_signal, sb->holder_pidfd, SIGKILL, NULL, 0);
    sb->holder_pidfd = safe_close(sb->holder_pidfd);
}
