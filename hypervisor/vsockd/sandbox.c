/* Capability drop and seccomp filter (see sandbox.h). */
#define LOG_MODULE "vsockd"
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/capability.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "log.h"

int sandbox_enter_root(const char *dir)
{
    /* MS_PRIVATE first: nothing we do here may propagate back to the host's mounts. */
    if (unshare(CLONE_NEWNS) < 0)
        return log_error_errno(-errno, "unshare(CLONE_NEWNS)");
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        return log_error_errno(-errno, "making our mounts private");
    if (mount(dir, dir, NULL, MS_BIND, NULL) < 0)
        return log_error_errno(-errno, "binding '%s' onto itself", dir);
    if (chdir(dir) < 0)
        return log_error_errno(-errno, "chdir '%s'", dir);
    /* pivot_root(".", "."): the old root ends up stacked on the new one, then goes. */
    if (syscall(SYS_pivot_root, ".", ".") < 0)
        return log_error_errno(-errno, "pivot_root into '%s'", dir);
    if (umount2(".", MNT_DETACH) < 0)
        return log_error_errno(-errno, "detaching the old root");
    if (chdir("/") < 0)
        return log_error_errno(-errno, "chdir /");
    if (mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
        return log_error_errno(-errno, "remounting '%s' nosuid,nodev,noexec", dir);
    return 0;
}

/* The bounding set first (dropping it needs CAP_SETPCAP, which goes with the uid switch).
 * An unprivileged caller cannot drop it, but has nothing in it to gain under no_new_privs. */
static int drop_bounding(void)
{
    for (cap_value_t c = 0; c < (cap_value_t)cap_max_bits(); c++) {
        if (CAP_IS_SUPPORTED(c) && cap_drop_bound(c) < 0 && errno != EINVAL) {
            if (errno == EPERM) {
                log_debug("cannot drop the bounding set without CAP_SETPCAP");
                break;
            }
            return -errno;
        }
    }
    if (CAP_AMBIENT_SUPPORTED())
        (void)cap_reset_ambient();
    return 0;
}

static int set_ids(const struct sandbox_ids *ids)
{
    uid_t ru, eu, su;
    gid_t rg, eg, sg;
    if (ids->uid == 0 || ids->gid == 0)
        return -EPERM; /* never "drop" to root */
    if (setgroups(0, NULL) < 0 || setresgid(ids->gid, ids->gid, ids->gid) < 0 ||
        setresuid(ids->uid, ids->uid, ids->uid) < 0)
        return -errno;
    if (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0)
        return -errno;
    if (ru != ids->uid || eu != ids->uid || su != ids->uid || rg != ids->gid || eg != ids->gid ||
        sg != ids->gid)
        return -EPERM;
    /* The kernel clears the parent-death signal on a credential change: if our parent (the
     * shim) is gone already, nobody owns us any more. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
        return -errno;
    return getppid() == ids->parent ? 0 : -ESRCH;
}

static int drop_caps(void)
{
    cap_t empty = cap_init();
    int r = 0;
    if (!empty)
        return -ENOMEM;
    if (cap_set_proc(empty) < 0)
        r = -errno;
    cap_free(empty);
    return r;
}

static int allow(scmp_filter_ctx ctx, int nr)
{
    return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
}

static int install_filter(void)
{
    static const int plain[] = {
        SCMP_SYS(read),          SCMP_SYS(write),
        SCMP_SYS(readv),         SCMP_SYS(writev),
        SCMP_SYS(recvfrom),      SCMP_SYS(recvmsg),
        SCMP_SYS(sendto),        SCMP_SYS(sendmsg),
        SCMP_SYS(close),         SCMP_SYS(epoll_wait),
        SCMP_SYS(epoll_pwait),   SCMP_SYS(epoll_ctl),
        SCMP_SYS(accept4),       SCMP_SYS(connect),
        SCMP_SYS(shutdown),      SCMP_SYS(fstat),
        SCMP_SYS(newfstatat),    SCMP_SYS(munmap),
        SCMP_SYS(mremap),        SCMP_SYS(brk),
        SCMP_SYS(madvise),       SCMP_SYS(timerfd_settime),
        SCMP_SYS(clock_gettime), SCMP_SYS(gettimeofday),
        SCMP_SYS(exit),          SCMP_SYS(exit_group),
        SCMP_SYS(rt_sigreturn),  SCMP_SYS(restart_syscall),
        SCMP_SYS(futex),         SCMP_SYS(getrandom),
        SCMP_SYS(fcntl),         SCMP_SYS(dup2),
        SCMP_SYS(dup3),
    };
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
    int r = 0;

    if (!ctx)
        return -ENOMEM;
    for (size_t i = 0; i < ELEMENTSOF(plain) && r == 0; i++)
        r = allow(ctx, plain[i]);
    /* Guest→host connections open unix sockets only. */
    if (r == 0)
        r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
                             SCMP_A0(SCMP_CMP_EQ, AF_UNIX));
    /* Guest memory and malloc arenas: never executable. */
    if (r == 0)
        r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
                             SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
    if (r == 0)
        r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
                             SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
    if (r == 0)
        r = seccomp_load(ctx);
    seccomp_release(ctx);
    return r;
}

int sandbox_enter(const struct sandbox_ids *ids)
{
    int r = drop_bounding();
    if (r < 0)
        return log_error_errno(r, "dropping the bounding set");
    if (ids->set_ids && (r = set_ids(ids)) < 0)
        return log_error_errno(r, "becoming uid %u gid %u", (unsigned)ids->uid, (unsigned)ids->gid);
    r = drop_caps();
    if (r < 0)
        return log_error_errno(r, "dropping capabilities");
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return log_error_errno(-errno, "PR_SET_NO_NEW_PRIVS");
    r = install_filter();
    if (r < 0)
        return log_error_errno(r, "installing the seccomp filter");
    return 0;
}
