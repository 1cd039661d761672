/* Capability drop and seccomp filter (see sandbox.h). */
#define LOG_MODULE "vsockd"
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <stdbool.h>
#include <sys/capability.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <string.h>
#include <sys/socket.h>

#include "cleanup.h"
#include "log.h"

static int drop_caps(void)
{
    cap_t empty;
    int r = 0;

    /* The bounding set first: dropping it needs CAP_SETPCAP, which goes next. An
     * unprivileged caller cannot drop it, but has nothing in it to gain either once
     * no_new_privs is set. */
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
    empty = cap_init();
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
        SCMP_SYS(read),         SCMP_SYS(write),          SCMP_SYS(readv),
        SCMP_SYS(writev),       SCMP_SYS(recvfrom),       SCMP_SYS(recvmsg),
        SCMP_SYS(sendto),       SCMP_SYS(sendmsg),        SCMP_SYS(close),
        SCMP_SYS(epoll_wait),   SCMP_SYS(epoll_pwait),    SCMP_SYS(epoll_ctl),
        SCMP_SYS(accept4),      SCMP_SYS(connect),        SCMP_SYS(shutdown),
        SCMP_SYS(fstat),        SCMP_SYS(newfstatat),     SCMP_SYS(munmap),
        SCMP_SYS(mremap),       SCMP_SYS(brk),            SCMP_SYS(madvise),
        SCMP_SYS(timerfd_settime), SCMP_SYS(clock_gettime), SCMP_SYS(gettimeofday),
        SCMP_SYS(exit),         SCMP_SYS(exit_group),     SCMP_SYS(rt_sigreturn),
        SCMP_SYS(restart_syscall), SCMP_SYS(futex),       SCMP_SYS(getrandom),
        SCMP_SYS(fcntl),        SCMP_SYS(dup2),           SCMP_SYS(dup3),
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

int sandbox_enter(void)
{
    int r = drop_caps();
    if (r < 0)
        return log_error_errno(r, "dropping capabilities");
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return log_error_errno(-errno, "PR_SET_NO_NEW_PRIVS");
    r = install_filter();
    if (r < 0)
        return log_error_errno(r, "installing the seccomp filter");
    return 0;
}
