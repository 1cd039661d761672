/* Between clone() and execve(). Order follows runc/crun: wait for the cgroup, stdio and
 * session, namespaces joined or set up, rootfs, hostname, sysctls, oom score, rlimits,
 * bounding set, user, capabilities, cwd, umask, report ready, wait for start, no_new_privs
 * and seccomp, signals reset, execve. Every failure goes to the parent as SYNC_ERROR. */
#include "child.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/close_range.h>
#include <stdint.h>
#include <unistd.h>

#include "cleanup.h"
#include "fd.h"
#include "spawn.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

__attribute__((format(printf, 3, 4))) _Noreturn static void fail(const struct child_args *a, int e,
                                                                 const char *fmt, ...)
{
    char msg[240];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    (void)sync_send(a->sync_fd, SYNC_ERROR, e, msg);
    _exit(e == ENOENT ? 127 : 126);
}

/* Resolve argv0 against PATH from the process env, as execvp would; -errno if nothing fits. */
static int find_exec(const struct oci_process *p, char *out, size_t outsz)
{
    const char *file = p->args[0];
    const char *path = DEFAULT_PATH;
    int last = -ENOENT;

    /* an argument may be 128 KiB; a path to exec may not (never exec a truncated one) */
    if (strlen(file) >= outsz)
        return -ENAMETOOLONG;
    if (strchr(file, '/')) {
        if (access(file, X_OK) < 0)
            return -errno;
        snprintf(out, outsz, "%s", file);
        return 0;
    }
    for (size_t i = 0; i < p->n_env; i++)
        if (strncmp(p->env[i], "PATH=", 5) == 0)
            path = p->env[i] + 5;
    for (const char *s = path; s;) {
        const char *e = strchr(s, ':');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        struct stat st;
        int w = n == 0 ? snprintf(out, outsz, "./%s", file)
                       : snprintf(out, outsz, "%.*s/%s", (int)n, s, file);
        if (w > 0 && (size_t)w < outsz && stat(out, &st) == 0 && S_ISREG(st.st_mode)) {
            if (access(out, X_OK) == 0)
                return 0;
            last = -EACCES;
        }
        s = e ? e + 1 : NULL;
    }
    return last;
}

static void setup_stdio(const struct child_args *a)
{
    if (setsid() < 0)
        fail(a, errno, "setsid: %m");
    for (int i = 0; i < 3; i++)
        if (dup2(a->stdio[i], i) < 0)
            fail(a, errno, "dup2 stdio: %m");
    /* Everything the agent had open from 3 up is closed now, not at execve: a setup that
     * takes long must not hold the agent's ttrpc connections or other processes' stdin pipes
     * (their EOF would wait for it). The setup socket stays (close-on-exec: its EOF tells the
     * agent the exec happened). The /proc/self/fd sweep is the fallback without close_range. */
    {
        int keep[] = {a->sync_fd};
        unsigned s = (unsigned)a->sync_fd;
        if ((s > 3 && syscall(SYS_close_range, 3u, s - 1, 0u) < 0) ||
            syscall(SYS_close_range, s + 1, ~0u, 0u) < 0) {
            if (fd_close_all_except(3, keep, 1) < 0)
                fail(a, errno, "closing inherited fds failed");
        }
    }
}

/* The terminal: a pty from the container's own /dev/ptmx (its devpts instance, so ttyname()
 * finds /dev/pts/N in there), slave on 0-2 as controlling tty, master to the agent. */
static void setup_pty(const struct child_args *a)
{
    char name[64];
    int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0)
        fail(a, errno, "terminal: opening /dev/ptmx in the container: %m");
    if (unlockpt(master) < 0 || ptsname_r(master, name, sizeof(name)) != 0)
        fail(a, errno, "terminal: pty setup: %m");
    int slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave < 0)
        fail(a, errno, "terminal: opening %s: %m", name);
    if (a->proc->console_width && a->proc->console_height) {
        struct winsize ws = {.ws_row = (unsigned short)a->proc->console_height,
                             .ws_col = (unsigned short)a->proc->console_width};
        (void)ioctl(slave, TIOCSWINSZ, &ws);
    }
    if (a->is_init) {
        /* /dev/console is the container's terminal too (runc does the same). */
        int cfd = open("/dev/console", O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (cfd >= 0)
            close(cfd);
        if (cfd >= 0 && mount(name, "/dev/console", NULL, MS_BIND, NULL) < 0)
            fail(a, errno, "bind %s on /dev/console: %m", name);
    }
    int r = sync_send_fd(a->sync_fd, SYNC_PTY, master);
    if (r < 0)
        _exit(125);
    close(master);
    for (int i = 0; i < 3; i++)
        if (dup2(slave, i) < 0)
            fail(a, errno, "dup2 pty: %m");
    if (slave > 2)
        close(slave);
    if (ioctl(0, TIOCSCTTY, 0) < 0)
        fail(a, errno, "set controlling terminal: %m");
}

static void join_namespaces(const struct child_args *a)
{
    /* Mount namespace last: it changes root and cwd to the container's. */
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < 8 && a->ns_fds[i] >= 0; i++) {
            bool is_mnt = a->ns_types[i] == CLONE_NEWNS;
            if (is_mnt != (pass == 1))
                continue;
            if (setns(a->ns_fds[i], a->ns_types[i]) < 0)
                fail(a, errno, "setns(0x%x): %m", a->ns_types[i]);
        }
}

static void enter_cwd_and_find_exec(const struct child_args *a, char *exe, size_t n)
{
    const struct oci_process *p = a->proc;
    int r;
    if (chdir(p->cwd) < 0)
        fail(a, errno, "chdir to cwd \"%s\": %m", p->cwd);
    umask(p->user.has_umask ? p->user.umask : 022);
    if ((r = find_exec(p, exe, n)) < 0)
        fail(a, -r, "exec: \"%s\": %s", p->args[0],
             r == -ENOENT ? "executable file not found in $PATH" : strerror(-r));
}

static void apply_rlimits(const struct child_args *a)
{
    for (size_t i = 0; i < a->proc->n_rlimits; i++) {
        const struct oci_rlimit *rl = &a->proc->rlimits[i];
        struct rlimit lim = {.rlim_cur = rl->soft, .rlim_max = rl->hard};
        if (setrlimit(rl->resource, &lim) < 0)
            fail(a, errno, "setrlimit(%d): %m", rl->resource);
    }
}

static void apply_user_and_caps(const struct child_args *a)
{
    const struct oci_process *p = a->proc;
    const struct oci_caps *caps = &p->caps;
    gid_t gids[OCI_MAX_GIDS];

    for (int c = 0; c <= CAP_LAST_CAP; c++)
        if (!(caps->bounding & (1ull << c)) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 &&
            errno != EINVAL)
            fail(a, errno, "dropping capability %d from the bounding set: %m", c);
    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
        fail(a, errno, "PR_SET_KEEPCAPS: %m");
    for (size_t i = 0; i < p->user.n_gids; i++)
        gids[i] = p->user.gids[i];
    if (setgroups(p->user.n_gids, gids) < 0)
        fail(a, errno, "setgroups: %m");
    if (setresgid(p->user.gid, p->user.gid, p->user.gid) < 0)
        fail(a, errno, "setresgid(%u): %m", p->user.gid);
    if (setresuid(p->user.uid, p->user.uid, p->user.uid) < 0)
        fail(a, errno, "setresuid(%u): %m", p->user.uid);
    (void)prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);

    cap_t ct = cap_init();
    if (!ct)
        fail(a, ENOMEM, "cap_init failed");
    for (int c = 0; c <= CAP_LAST_CAP; c++) {
        cap_value_t v = c;
        if (caps->effective & (1ull << c))
            cap_set_flag(ct, CAP_EFFECTIVE, 1, &v, CAP_SET);
        if (caps->permitted & (1ull << c))
            cap_set_flag(ct, CAP_PERMITTED, 1, &v, CAP_SET);
        if (caps->inheritable & (1ull << c))
            cap_set_flag(ct, CAP_INHERITABLE, 1, &v, CAP_SET);
    }
    if (cap_set_proc(ct) < 0) {
        int e = errno;
        cap_free(ct);
        fail(a, e, "setting capabilities: %s", strerror(e));
    }
    cap_free(ct);
    for (int c = 0; c <= CAP_LAST_CAP; c++)
        if ((caps->ambient & (1ull << c)) &&
            prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0)
            fail(a, errno, "raising ambient capability %d: %m", c);
}

/* The kernel's struct sigaction for rt_sigaction(2): glibc's sigaction() refuses its two
 * reserved RT signals (32, 33) with EINVAL, yet an ignored disposition of those survives
 * execve and would reach the container, so reset them with the raw syscall. */
struct kernel_sigaction {
    void (*handler)(int);
    unsigned long flags;
    void (*restorer)(void);
    uint64_t mask;
};

static void reset_signals(void)
{
    struct kernel_sigaction ksa = {.handler = SIG_DFL};
    sigset_t all;
    for (int s = 1; s < NSIG; s++)
        if (s != SIGKILL && s != SIGSTOP)
            (void)syscall(SYS_rt_sigaction, s, &ksa, NULL, sizeof(ksa.mask));
    sigemptyset(&all);
    (void)sigprocmask(SIG_SETMASK, &all, NULL);
}

_Noreturn void child_main(struct child_args *a)
{
    const struct oci_process *p = a->proc;
    struct sync_msg m;
    char msg[200] = "";
    char exe[OCI_MAX_STR + 64];
    int r;

    /* Die with the agent rather than linger as an orphan in setup. */
    (void)prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if ((r = sync_recv(a->sync_fd, &m, SPAWN_SETUP_TIMEOUT_MS)) < 0 || m.type != SYNC_CGROUP_DONE)
        _exit(125);
    if (a->unshare_cgroup && unshare(CLONE_NEWCGROUP) < 0)
        fail(a, errno, "unshare cgroup namespace: %m");
    /* An exec joins all of its container's; an init the ones its spec names by path (a pod's
     * app container: the sandbox's ipc/uts), before the fd sweep closes the namespace fds. */
    join_namespaces(a);
    setup_stdio(a);

    if (a->is_init) {
        if ((r = child_setup_rootfs(a, msg, sizeof(msg))) < 0)
            fail(a, -r, "%s", msg);
        if (a->spec->hostname && sethostname(a->spec->hostname, strlen(a->spec->hostname)) < 0)
            fail(a, errno, "sethostname: %m");
    }
    if (a->terminal)
        setup_pty(a);
    {
        /* Always written: the agent itself runs at -1000 in the guest and must not pass
         * its immunity on. */
        char v[16];
        snprintf(v, sizeof(v), "%d", p->has_oom_score_adj ? p->oom_score_adj : 0);
        if ((r = file_write_str(NULL, "/proc/self/oom_score_adj", v)) < 0)
            fail(a, -r, "oom_score_adj: %s", strerror(-r));
    }
    apply_rlimits(a);
    if (!p->no_new_privileges && a->spec->seccomp &&
        (r = seccomp_load_spec(a->spec->seccomp, msg, sizeof(msg))) < 0)
        fail(a, -r, "seccomp: %s", msg);
    apply_user_and_caps(a);
    /* containerd's contract (runc's too): an init that cannot run fails Create, an exec that
     * cannot run (missing binary, bad cwd) is created and fails at Start. */
    if (a->is_init)
        enter_cwd_and_find_exec(a, exe, sizeof(exe));

    if (sync_send(a->sync_fd, SYNC_READY, 0, NULL) < 0)
        _exit(125);
    if (sync_recv(a->sync_fd, &m, -1) < 0 || m.type != SYNC_START)
        _exit(125);
    if (!a->is_init)
        enter_cwd_and_find_exec(a, exe, sizeof(exe));

    if (p->no_new_privileges) {
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
            fail(a, errno, "no_new_privs: %m");
        if (a->spec->seccomp && (r = seccomp_load_spec(a->spec->seccomp, msg, sizeof(msg))) < 0)
            fail(a, -r, "seccomp: %s", msg);
    }
    reset_signals();
    execve(exe, p->args, p->env);
    fail(a, errno, "exec: \"%s\": %m", exe);
}
