/* Pid files that record identity ("<pid> <starttime> <exe>"), /proc/<pid>/stat parsing (pure),
 * and pidfd-based verification and signalling for `delete`. */
#include "sandbox/pidfile.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "fd.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

#define PF_EXITING_FLAG 0x00000004ul /* include/linux/sched.h PF_EXITING */
#define DELETED_SUFFIX " (deleted)"

/* Decimal digits only, at least one, no overflow past max. */
static int parse_dec(const char *s, size_t len, unsigned long long max, unsigned long long *ret)
{
    unsigned long long v = 0;
    if (len == 0 || len > 20)
        return -EINVAL;
    for (size_t i = 0; i < len; i++) {
        unsigned d;
        if (s[i] < '0' || s[i] > '9')
            return -EINVAL;
        d = (unsigned)(s[i] - '0');
        if (v > (max - d) / 10)
            return -EINVAL;
        v = v * 10 + d;
    }
    *ret = v;
    return 0;
}

int pidfile_parse(const char *text, size_t len, struct pid_ident *ret)
{
    const char *sp1, *sp2, *exe;
    unsigned long long pid, st;
    size_t exe_len;

    if (!text)
        return -EINVAL;
    if (len > 0 && text[len - 1] == '\n')
        len--;
    sp1 = memchr(text, ' ', len);
    if (!sp1)
        return -EINVAL;
    sp2 = memchr(sp1 + 1, ' ', len - (size_t)(sp1 + 1 - text));
    if (!sp2)
        return -EINVAL;
    exe = sp2 + 1;
    exe_len = len - (size_t)(exe - text);
    if (parse_dec(text, (size_t)(sp1 - text), INT_MAX, &pid) < 0 || pid == 0 ||
        parse_dec(sp1 + 1, (size_t)(sp2 - sp1 - 1), ~0ull, &st) < 0)
        return -EINVAL;
    if (exe_len == 0 || exe_len >= sizeof(ret->exe) || exe[0] != '/' ||
        memchr(exe, '\0', exe_len) || memchr(exe, '\n', exe_len))
        return -EINVAL;
    ret->pid = (pid_t)pid;
    ret->starttime = st;
    memcpy(ret->exe, exe, exe_len);
    ret->exe[exe_len] = '\0';
    return 0;
}

int pidfile_format(const struct pid_ident *id, char *out, size_t n)
{
    size_t el = strnlen(id->exe, sizeof(id->exe));
    int w;
    if (id->pid <= 0 || el == 0 || el >= sizeof(id->exe) || id->exe[0] != '/' ||
        memchr(id->exe, '\n', el))
        return -EINVAL;
    w = snprintf(out, n, "%d %llu %s\n", (int)id->pid, id->starttime, id->exe);
    if (w < 0 || (size_t)w >= n)
        return -E2BIG;
    return w;
}

/* Fields 1..upto of a stat line into ret; -EINVAL unless every field up to `upto` is there. */
static int stat_fields(const char *t, size_t len, int upto, struct proc_stat *ret)
{
    unsigned long long v;
    const char *rp = NULL, *p, *end;
    size_t i = 0;
    int field = 3;

    if (!t)
        return -EINVAL;
    while (i < len && t[i] >= '0' && t[i] <= '9')
        i++;
    if (parse_dec(t, i, INT_MAX, &v) < 0 || i + 1 >= len || t[i] != ' ' || t[i + 1] != '(')
        return -EINVAL;
    ret->pid = (pid_t)v;
    /* comm (at most 16 bytes, anything but NUL) may hold ") ": the LAST ')' closes it. */
    for (size_t j = len; j > i + 1; j--)
        if (t[j - 1] == ')') {
            rp = t + j - 1;
            break;
        }
    if (!rp || (size_t)(rp - t) + 1 >= len || rp[1] != ' ')
        return -EINVAL;
    p = rp + 2;
    end = t + len;
    while (field <= upto) {
        const char *q = p;
        size_t tl;
        while (q < end && *q != ' ' && *q != '\n')
            q++;
        tl = (size_t)(q - p);
        if (tl == 0)
            return -EINVAL;
        switch (field) {
        case 3:
            if (tl != 1)
                return -EINVAL;
            ret->state = *p;
            break;
        case 5:
            if (parse_dec(p, tl, INT_MAX, &v) < 0)
                return -EINVAL;
            ret->pgrp = (pid_t)v;
            break;
        case 9:
            if (parse_dec(p, tl, ~0ul, &v) < 0)
                return -EINVAL;
            ret->flags = (unsigned long)v;
            break;
        case 22:
            if (parse_dec(p, tl, ~0ull, &ret->starttime) < 0)
                return -EINVAL;
            break;
        case 31:
            if (parse_dec(p, tl, ~0ull, &ret->sigpending) < 0)
                return -EINVAL;
            break;
        default: break;
        }
        if (field == upto)
            break;
        if (q >= end || *q != ' ')
            return -EINVAL; /* truncated: the line ended before field `upto` */
        p = q + 1;
        field++;
    }
    return 0;
}

int proc_stat_parse(const char *stat_text, size_t len, struct proc_stat *ret)
{
    struct proc_stat st = {0};
    int r = stat_fields(stat_text, len, 31, &st);
    if (r == 0)
        *ret = st;
    return r;
}

int proc_stat_starttime(const char *stat_text, size_t len, unsigned long long *ret)
{
    struct proc_stat st = {0};
    int r = stat_fields(stat_text, len, 22, &st);
    if (r == 0)
        *ret = st.starttime;
    return r;
}

int pid_ident_check(const struct pid_ident *id, const struct proc_stat *st, const char *exe)
{
    size_t el = strlen(id->exe);
    if (st->pid != id->pid || st->starttime != id->starttime)
        return -ESTALE;
    if (st->state == 'Z' || st->state == 'X')
        return -ESRCH;
    if (!exe)
        return -ESTALE;
    if (strcmp(exe, id->exe) == 0)
        return 0;
    if (strncmp(exe, id->exe, el) == 0 && strcmp(exe + el, DELETED_SUFFIX) == 0)
        return 0;
    return -ESTALE;
}

bool proc_stat_exiting(const struct proc_stat *st)
{
    return st->state == 'Z' || st->state == 'X' || (st->flags & PF_EXITING_FLAG) ||
           (st->sigpending & (1ull << (SIGKILL - 1)));
}

/* /proc/<pid>/stat parsed, and exe (empty when unreadable). -ESRCH when the pid is gone. */
static int proc_read(pid_t pid, struct proc_stat *st, char *exe, size_t exe_n)
{
    char path[64], buf[1024];
    _cleanup_close_ int fd = -EBADF;
    ssize_t n;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? -ESRCH : -errno;
    n = read_all(fd, buf, sizeof(buf));
    if (n < 0)
        return (int)n;
    if (n == 0)
        return -ESRCH; /* reaped after the open */
    if (proc_stat_parse(buf, (size_t)n, st) < 0)
        return -EINVAL;
    snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
    n = readlink(path, exe, exe_n - 1);
    exe[n > 0 ? n : 0] = '\0';
    return 0;
}

int pid_ident_read(pid_t pid, struct pid_ident *ret, struct proc_stat *ret_st)
{
    struct proc_stat st;
    int r;

    if (pid <= 0)
        return -ESRCH;
    r = proc_read(pid, &st, ret->exe, sizeof(ret->exe));
    if (r < 0)
        return r;
    if (st.state == 'Z' || st.state == 'X' || !ret->exe[0])
        return -ESRCH;
    ret->pid = pid;
    ret->starttime = st.starttime;
    if (ret_st)
        *ret_st = st;
    return 0;
}

int pidfile_write(const char *dir, const char *name, pid_t pid)
{
    char path[PATH_MAX], tmp[PATH_MAX], buf[PATH_MAX + 64];
    _cleanup_close_ int fd = -EBADF;
    struct pid_ident id;
    int n, r;

    r = pid_ident_read(pid, &id, NULL);
    if (r < 0)
        return r;
    n = pidfile_format(&id, buf, sizeof(buf));
    if (n < 0)
        return n;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    snprintf(tmp, sizeof(tmp), "%s/.%s", dir, name);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    if (write_all(fd, buf, (size_t)n) < 0 || rename(tmp, path) < 0) {
        r = -errno;
        (void)unlink(tmp);
        return r;
    }
    return 0;
}

bool pid_ref_exited(const struct pid_ref *ref)
{
    struct pollfd p = {.fd = ref->pidfd, .events = POLLIN};
    if (ref->pidfd < 0)
        return true;
    return poll(&p, 1, 0) > 0;
}

int pid_ref_check(struct pid_ref *ref)
{
    char exe[PATH_MAX];
    struct proc_stat st;
    int r;

    if (pid_ref_exited(ref))
        return -ESRCH;
    r = proc_read(ref->id.pid, &st, exe, sizeof(exe));
    if (r < 0)
        return r;
    r = pid_ident_check(&ref->id, &st, exe[0] ? exe : NULL);
    /* Our pid and starttime but no exe: the kernel drops the exe link early in exit (with
     * the mm), so an exiting process of ours reads like this; anything else is not ours. */
    if (r == -ESTALE && !exe[0] && st.pid == ref->id.pid && st.starttime == ref->id.starttime)
        r = proc_stat_exiting(&st) || pid_ref_exited(ref) ? -ESRCH : -ESTALE;
    else if (r == 0 && pid_ref_exited(ref))
        r = -ESRCH;
    if (r == 0)
        ref->st = st;
    return r;
}

int pidfile_open(const char *dir, const char *name, struct pid_ref *ret)
{
    char path[PATH_MAX], buf[PATH_MAX + 64];
    _cleanup_close_ int fd = -EBADF;
    ssize_t n;
    int r;

    ret->pidfd = -1;
    memset(&ret->id, 0, sizeof(ret->id));
    memset(&ret->st, 0, sizeof(ret->st));
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return -errno;
    n = read_all(fd, buf, sizeof(buf));
    if (n < 0)
        return (int)n;
    if ((size_t)n == sizeof(buf) || pidfile_parse(buf, (size_t)n, &ret->id) < 0)
        return -EINVAL;
    /* The pidfd first, the identity check second: if the check passes, the process holding
     * the pid now is ours, it held it when the pidfd was opened, so the pidfd is ours. */
    ret->pidfd = (int)syscall(SYS_pidfd_open, ret->id.pid, 0);
    if (ret->pidfd < 0) {
        ret->pidfd = -1;
        return errno == ESRCH ? -ESRCH : -errno;
    }
    r = pid_ref_check(ret);
    if (r < 0)
        pid_ref_close(ret);
    return r;
}

int pid_ref_kill(const struct pid_ref *ref, int sig)
{
    if (ref->pidfd < 0)
        return -EBADF;
    if (syscall(SYS_pidfd_send_signal, ref->pidfd, sig, NULL, 0) < 0)
        return -errno;
    return 0;
}

int pid_ref_kill_group(struct pid_ref *ref, int sig)
{
    int r = pid_ref_check(ref);
    if (r < 0)
        return r;
    if (ref->st.pgrp != ref->id.pid)
        return -EPERM;
    /* The leader was alive and ours an instant ago: its pgid cannot have been reused (a pid
     * stays allocated while any process still has it as its process group). */
    if (kill(-ref->id.pid, sig) < 0)
        return -errno;
    return 0;
}

int pid_refs_wait(struct pid_ref *const *refs, size_t n, int timeout_ms)
{
    struct timespec t0, t;
    int left;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        struct pollfd p[8];
        size_t np = 0;
        long el;
        for (size_t i = 0; i < n && np < ELEMENTSOF(p); i++)
            if (refs[i] && refs[i]->pidfd >= 0 && !pid_ref_exited(refs[i]))
                p[np++] = (struct pollfd){.fd = refs[i]->pidfd, .events = POLLIN};
        clock_gettime(CLOCK_MONOTONIC, &t);
        el = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
        left = timeout_ms - (int)el;
        if (np == 0 || left <= 0)
            return (int)np;
        (void)poll(p, np, left);
    }
}

void pid_ref_close(struct pid_ref *ref)
{
    ref->pidfd = safe_close(ref->pidfd);
    ref->pidfd = -1;
}
