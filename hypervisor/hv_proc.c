/* Helper-process spawn and watch. See hv_proc.h. */
#define LOG_MODULE "hv"
#include "hv_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sys/queue.h>

#include "cleanup.h"
#include "fd.h"
#include "log.h"
#include "loop.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#define TAIL_MAX 1024
#define LINE_MAX_LOG 512
#define MAX_CHILD_FDS HV_PROC_MAX_FDS

struct hv_proc {
    struct loop *loop;
    char name[32];
    pid_t pid;
    struct loop_source *child, *err_src, *kill_timer;
    int err_fd, out_fd;
    hv_proc_exit_cb cb;
    void *data;
    char line[LINE_MAX_LOG + 1];
    size_t line_len;
    char tail[TAIL_MAX + 1];
    size_t tail_len;
};

/* A child whose hv_proc was freed while it ran: SIGKILLed, reaped on the loop when its pidfd
 * becomes readable (never a blocking wait). One loop per process: one list. */
struct orphan {
    struct loop_source *src;
    pid_t pid;
    char name[32];
    LIST_ENTRY(orphan) link;
};
static LIST_HEAD(, orphan) orphans = LIST_HEAD_INITIALIZER(orphans);

/* Signal our child through its pidfd: the pid may be reused only once we reaped it, and the
 * pidfd names this process whatever happens to the number. */
static int signal_child(const struct hv_proc *p, int sig)
{
    int pidfd = p->child ? loop_child_pidfd(p->child) : -1;
    if (pidfd < 0)
        return -ESRCH;
    return syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0 ? -errno : 0;
}

static void tail_add(struct hv_proc *p, const char *s, size_t n)
{
    if (n >= TAIL_MAX) {
        s += n - TAIL_MAX;
        n = TAIL_MAX;
    }
    if (p->tail_len + n > TAIL_MAX) {
        size_t drop = p->tail_len + n - TAIL_MAX;
        memmove(p->tail, p->tail + drop, p->tail_len - drop);
        p->tail_len -= drop;
    }
    memcpy(p->tail + p->tail_len, s, n);
    p->tail_len += n;
    p->tail[p->tail_len] = '\0';
}

/* A helper of ours (cvm-vsockd) logs logfmt itself: 'time="…" level=L msg="…" …'. Take its
 * level and message instead of quoting the whole record again. Returns false when the line
 * is not of that shape. */
static bool relog_logfmt(const struct hv_proc *p, const char *line)
{
    static const struct {
        const char *name;
        enum log_level lvl;
    } levels[] = {{"debug", LOG_LVL_DEBUG},
                  {"info", LOG_LVL_INFO},
                  {"warning", LOG_LVL_WARN},
                  {"warn", LOG_LVL_WARN},
                  {"error", LOG_LVL_ERROR}};
    const char *lv = strstr(line, " level="), *m = strstr(line, " msg=\"");
    char msg[LINE_MAX_LOG + 1];
    size_t n = 0;
    int which = -1;
    if (strncmp(line, "time=\"", 6) != 0 || !lv || !m)
        return false;
    for (size_t i = 0; i < ELEMENTSOF(levels) && which < 0; i++) {
        size_t l = strlen(levels[i].name);
        if (strncmp(lv + 7, levels[i].name, l) == 0 && lv[7 + l] == ' ')
            which = (int)i;
    }
    if (which < 0)
        return false;
    for (m += 6; *m && *m != '"' && n < LINE_MAX_LOG; m++) {
        if (*m == '\\' && m[1])
            m++;
        msg[n++] = *m;
    }
    msg[n] = '\0';
    log_emit(levels[which].lvl, p->name, "%s", msg);
    return true;
}

static void flush_line(struct hv_proc *p)
{
    if (p->line_len == 0)
        return;
    p->line[p->line_len] = '\0';
    if (!relog_logfmt(p, p->line))
        log_emit(LOG_LVL_INFO, p->name, "%s", p->line);
    p->line_len = 0;
}

/* Read what the child wrote to stderr: into the log line by line, and into the tail. */
static int drain_stderr(struct hv_proc *p)
{
    char buf[4096];
    for (int i = 0; i < 16; i++) {
        ssize_t n = read(p->err_fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n < 0 && errno == EAGAIN)
                return 0;
            flush_line(p);
            return -EPIPE; /* EOF or error: stop watching */
        }
        tail_add(p, buf, (size_t)n);
        for (ssize_t k = 0; k < n; k++) {
            if (buf[k] == '\n' || p->line_len == LINE_MAX_LOG)
                flush_line(p);
            if (buf[k] != '\n' && buf[k] != '\r')
                p->line[p->line_len++] = buf[k];
        }
    }
    return 0;
}

static void on_stderr(struct loop_source *s, int fd, uint32_t revents, void *data)
{
    struct hv_proc *p = data;
    (void)s;
    (void)fd;
    (void)revents;
    if (drain_stderr(p) < 0) {
        p->err_src = loop_source_free(p->err_src);
        p->err_fd = safe_close(p->err_fd);
    }
}

static void on_exit_child(struct loop_source *s, pid_t pid, const siginfo_t *si, void *data)
{
    struct hv_proc *p = data;
    (void)s;
    (void)pid;
    p->child = NULL; /* the loop freed it */
    p->pid = 0;
    p->kill_timer = loop_source_free(p->kill_timer);
    if (p->err_fd >= 0) {
        (void)drain_stderr(p);
        flush_line(p);
    }
    if (p->cb)
        p->cb(p, si, p->data);
}

static void on_kill_timer(struct loop_source *s, void *data)
{
    struct hv_proc *p = data;
    (void)s;
    p->kill_timer = loop_source_free(p->kill_timer);
    if (p->pid > 0) {
        log_warn("%s (pid %d) did not stop in time, sending SIGKILL", p->name, (int)p->pid);
        (void)kill(-p->pid, SIGKILL); /* its group: the pgid cannot be reused before we reap */
        (void)signal_child(p, SIGKILL);
    }
}

/* In the child, after fork (no allocation): become c's ids with no capability left. 0 or
 * -errno. Root's bounding set is emptied first (that needs CAP_SETPCAP, still ours then);
 * a non-root parent cannot, and has nothing in it to gain under no_new_privs. */
static int drop_privileges(const struct hv_proc_creds *c, pid_t parent)
{
    struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct none[_LINUX_CAPABILITY_U32S_3] = {{0, 0, 0}};
    uid_t ru, eu, su;
    gid_t rg, eg, sg;

    if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
        return -errno;
    for (int cap = 0; prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; cap++)
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && (c->set_ids || errno != EPERM))
            return -errno;
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
        return -errno;
    if (c->set_ids) {
        if (c->uid == 0 || c->gid == 0)
            return -EPERM; /* never "drop" to root */
        if (setgroups(c->n_groups, c->groups) < 0 || setresgid(c->gid, c->gid, c->gid) < 0 ||
            setresuid(c->uid, c->uid, c->uid) < 0)
            return -errno;
        if (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0)
            return -errno;
        if (ru != c->uid || eu != c->uid || su != c->uid || rg != c->gid || eg != c->gid ||
            sg != c->gid)
            return -EPERM;
    }
    /* A uid change from 0 already cleared permitted and effective; inheritable stays. */
    if (syscall(SYS_capset, &hdr, none) < 0)
        return -errno;
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return -errno;
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
        return -errno;
    return getppid() == parent ? 0 : -ESRCH; /* the parent died before PDEATHSIG was back */
}

/* In the child: never returns. Reports a failure as an errno on errfd. */
static void __attribute__((noreturn))
child_exec(const struct hv_proc_opts *o, pid_t parent, int devnull, int out_w, int err_w, int errfd)
{
    struct hv_proc_fd map[MAX_CHILD_FDS + 3];
    int keep[MAX_CHILD_FDS + 4], high[MAX_CHILD_FDS + 3];
    size_t n = 0, k = 0;
    int minfd = 3, e;
    sigset_t all;

    /* Join the sandbox's host cgroups before anything else is allocated (cgroup.procs: "0"
     * is the writer itself). */
    for (size_t i = 0; i < o->n_cgroup_fds; i++)
        if (write(o->cgroup_fds[i], "0", 1) != 1)
            goto fail;
    (void)setpgid(0, 0);
    /* If we (the shim) die, so do the VM's processes: nothing is left running unowned. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
        goto fail;
    sigfillset(&all);
    for (int sig = 1; sig < NSIG; sig++)
        (void)signal(sig, SIG_DFL);
    (void)sigprocmask(SIG_UNBLOCK, &all, NULL);
    if (o->netns_fd >= 0 && setns(o->netns_fd, CLONE_NEWNET) < 0)
        goto fail;

    map[n++] = (struct hv_proc_fd){devnull, 0};
    map[n++] = (struct hv_proc_fd){out_w >= 0 ? out_w : devnull, 1};
    map[n++] = (struct hv_proc_fd){err_w, 2};
    for (size_t i = 0; i < o->n_fds; i++)
        map[n++] = o->fds[i];
    for (size_t i = 0; i < n; i++)
        minfd = MAX(minfd, map[i].target + 1);
    /* Move every source above every target first, so no dup2 clobbers a later source. */
    errfd = fcntl(errfd, F_DUPFD_CLOEXEC, minfd);
    if (errfd < 0)
        goto fail;
    for (size_t i = 0; i < n; i++)
        if ((high[i] = fcntl(map[i].src, F_DUPFD_CLOEXEC, minfd)) < 0)
            goto fail;
    for (size_t i = 0; i < n; i++) {
        if (dup2(high[i], map[i].target) < 0)
            goto fail;
        if (map[i].target > 2)
            keep[k++] = map[i].target;
    }
    keep[k++] = errfd;
    (void)fd_close_all_except(3, keep, k);
    if (o->creds && (e = drop_privileges(o->creds, parent)) < 0) {
        errno = -e;
        goto fail;
    }
    execvp(o->argv[0], o->argv);
fail:
    e = errno;
    (void)!write(errfd, &e, sizeof(e));
    _exit(127);
}

static int pipe_pair(int p[2])
{
    return pipe2(p, O_CLOEXEC) < 0 ? -errno : 0;
}

/* Wait for the child's exec (EOF on the CLOEXEC pipe) or its errno. */
static int wait_exec(pid_t pid, int errfd)
{
    int e = 0;
    ssize_t n;
    do
        n = read(errfd, &e, sizeof(e));
    while (n < 0 && errno == EINTR);
    if (n == (ssize_t)sizeof(e)) {
        (void)waitpid(pid, NULL, 0);
        return e > 0 ? -e : -EIO;
    }
    return 0;
}

int hv_proc_spawn(struct loop *l, const struct hv_proc_opts *o, hv_proc_exit_cb cb, void *data,
                  struct hv_proc **ret)
{
    _cleanup_close_ int devnull = -EBADF;
    int errp[2] = {-1, -1}, errpipe[2] = {-1, -1}, outp[2] = {-1, -1};
    struct hv_proc *p;
    pid_t pid, self = getpid();
    int r;

    if (o->n_fds > MAX_CHILD_FDS || !o->argv || !o->argv[0] ||
        (o->n_cgroup_fds && !o->cgroup_fds) ||
        (o->creds && o->creds->n_groups > HV_PROC_MAX_GROUPS))
        return -EINVAL;
    p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    p->loop = l;
    p->err_fd = p->out_fd = -1;
    p->cb = cb;
    p->data = data;
    snprintf(p->name, sizeof(p->name), "%s", o->name);
    devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devnull < 0) {
        r = -errno;
        goto fail;
    }
    if ((r = pipe_pair(errp)) < 0 || (r = pipe_pair(errpipe)) < 0 ||
        (o->capture_stdout && (r = pipe_pair(outp)) < 0))
        goto fail;
    pid = fork();
    if (pid < 0) {
        r = -errno;
        goto fail;
    }
    if (pid == 0)
        child_exec(o, self, devnull, outp[1], errp[1], errpipe[1]);
    errp[1] = safe_close(errp[1]);
    outp[1] = safe_close(outp[1]);
    errpipe[1] = safe_close(errpipe[1]);
    r = wait_exec(pid, errpipe[0]);
    errpipe[0] = safe_close(errpipe[0]);
    if (r < 0)
        goto fail;
    p->pid = pid;
    p->err_fd = TAKE_FD(errp[0]);
    p->out_fd = TAKE_FD(outp[0]);
    (void)fd_set_nonblock(p->err_fd, 1);
    if (p->out_fd >= 0)
        (void)fd_set_nonblock(p->out_fd, 1);
    r = loop_add_child(l, pid, -1, on_exit_child, p, &p->child);
    if (r < 0) {
        (void)kill(pid, SIGKILL);
        (void)waitpid(pid, NULL, 0);
        p->pid = 0;
        goto fail;
    }
    r = loop_add_io(l, p->err_fd, EPOLLIN, on_stderr, p, &p->err_src);
    if (r < 0) {
        hv_proc_free(p);
        return r;
    }
    log_debug("%s started, pid %d", p->name, (int)pid);
    *ret = p;
    return 0;
fail:
    safe_close(errp[0]), safe_close(errp[1]), safe_close(errpipe[0]), safe_close(errpipe[1]);
    safe_close(outp[0]), safe_close(outp[1]);
    safe_close(p->err_fd), safe_close(p->out_fd);
    free(p);
    return r;
}

int hv_proc_stop(struct hv_proc *p, int sig, unsigned kill_after_ms)
{
    if (!p || p->pid <= 0)
        return 0;
    if (sig > 0) {
        int r;
        (void)kill(-p->pid, sig); /* its group: the pgid cannot be reused before we reap */
        if ((r = signal_child(p, sig)) < 0 && r != -ESRCH)
            return r;
    }
    if (kill_after_ms && !p->kill_timer)
        return loop_add_timer(p->loop, (uint64_t)kill_after_ms * 1000, on_kill_timer, p,
                              &p->kill_timer);
    return 0;
}

static void orphan_reaped(struct loop_source *s, pid_t pid, const siginfo_t *si, void *data)
{
    struct orphan *o = data;
    char how[64];
    (void)s;
    hv_proc_describe_exit(si, how, sizeof(how));
    log_debug("%s (pid %d) reaped after its owner went: %s", o->name, (int)pid, how);
    LIST_REMOVE(o, link);
    free(o);
}

/* p's child runs on: SIGKILL it (group and pidfd) and hand its reaping to an orphan source
 * on the loop, which owns a duplicate of the pidfd. */
static void orphan_child(struct hv_proc *p)
{
    int pidfd = loop_child_pidfd(p->child), dup = -1;
    struct orphan *o = calloc(1, sizeof(*o));

    (void)kill(-p->pid, SIGKILL); /* its group: the pgid cannot be reused before we reap */
    (void)signal_child(p, SIGKILL);
    if (o && (dup = fcntl(pidfd, F_DUPFD_CLOEXEC, 3)) >= 0) {
        o->pid = p->pid;
        snprintf(o->name, sizeof(o->name), "%s", p->name);
        if (loop_add_child(p->loop, p->pid, dup, orphan_reaped, o, &o->src) == 0) { /* owns dup */
            LIST_INSERT_HEAD(&orphans, o, link);
            return;
        }
    }
    /* No memory or fd for a watch: the killed child stays a zombie until we exit. */
    log_warn("%s (pid %d): killed but not watched: left for init to reap", p->name, (int)p->pid);
    free(o);
}

void hv_proc_free(struct hv_proc *p)
{
    if (!p)
        return;
    if (p->child) {
        orphan_child(p);
        p->child = loop_source_free(p->child);
    }
    p->kill_timer = loop_source_free(p->kill_timer);
    p->err_src = loop_source_free(p->err_src);
    p->err_fd = safe_close(p->err_fd);
    p->out_fd = safe_close(p->out_fd);
    free(p);
}

size_t hv_proc_reap_orphans(struct loop *l, unsigned timeout_ms)
{
    uint64_t end = now_ns() + (uint64_t)timeout_ms * 1000000ull;
    struct orphan *o;
    size_t left = 0;

    while (!LIST_EMPTY(&orphans)) {
        uint64_t now = now_ns();
        if (now >= end)
            break;
        int r = loop_run_once(l, (int)((end - now) / 1000000ull) + 1);
        if (r < 0 && r != -EINTR)
            break;
    }
    while ((o = LIST_FIRST(&orphans))) {
        log_warn("%s (pid %d) not reaped in %u ms after SIGKILL: left for init", o->name,
                 (int)o->pid, timeout_ms);
        LIST_REMOVE(o, link);
        loop_source_free(o->src);
        free(o);
        left++;
    }
    return left;
}

pid_t hv_proc_pid(const struct hv_proc *p)
{
    return p ? p->pid : 0;
}

int hv_proc_pidfd(const struct hv_proc *p)
{
    return p && p->child ? loop_child_pidfd(p->child) : -1;
}

bool hv_proc_running(const struct hv_proc *p)
{
    return p && p->pid > 0;
}

int hv_proc_stdout_fd(const struct hv_proc *p)
{
    return p ? p->out_fd : -1;
}

void hv_proc_close_stdout(struct hv_proc *p)
{
    p->out_fd = safe_close(p->out_fd);
}

const char *hv_proc_stderr_tail(const struct hv_proc *p)
{
    return p->tail;
}

void hv_proc_describe_exit(const siginfo_t *si, char *buf, size_t n)
{
    if (si->si_code == CLD_EXITED)
        snprintf(buf, n, "exited with status %d", si->si_status);
    else
        snprintf(buf, n, "killed by signal %d (SIG%s)%s", si->si_status,
                 sigabbrev_np(si->si_status) ? sigabbrev_np(si->si_status) : "?",
                 si->si_code == CLD_DUMPED ? ", core dumped" : "");
}
