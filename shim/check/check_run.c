/* Bounded synchronous subprocess for cvm-check. See check_run.h. */
#include "check_run.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "fd.h"

/* In the child, after fork: async-signal-safe calls only; the exec errno goes up errpipe. */
static void __attribute__((noreturn))
child(char *const argv[], int out_w, int err_w, bool merge_stderr)
{
    int null = open("/dev/null", O_RDWR | O_CLOEXEC), e;
    (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
    (void)setpgid(0, 0); /* its own group: a kill reaches what it started, too */
    signal(SIGPIPE, SIG_DFL);
    if (null < 0 || dup2(null, 0) < 0 || dup2(out_w, 1) < 0 ||
        dup2(merge_stderr ? out_w : null, 2) < 0)
        goto fail;
    execvp(argv[0], argv);
fail:
    e = errno;
    (void)!write(err_w, &e, sizeof(e));
    _exit(127);
}

static int remaining_ms(unsigned long long deadline)
{
    unsigned long long now = now_ns();
    return now >= deadline ? 0 : (int)((deadline - now) / 1000000ull) + 1;
}

/* Reap pid; a child that closed its stdout but lingers is killed at the deadline. */
static int wait_bounded(pid_t pid, unsigned long long deadline, int *ret)
{
    int ws;
    for (;;) {
        pid_t w = waitpid(pid, &ws, WNOHANG);
        if (w == pid)
            return ws;
        if (w < 0 && errno != EINTR)
            return -1;
        if (w == 0 && remaining_ms(deadline) == 0) {
            kill(-pid, SIGKILL);
            if (*ret == 0)
                *ret = -ETIMEDOUT;
            while (waitpid(pid, &ws, 0) < 0)
                if (errno != EINTR)
                    return -1;
            return ws;
        }
        if (w == 0)
            (void)poll(NULL, 0, 10);
    }
}

int check_run(char *const argv[], unsigned timeout_ms, size_t max, bool merge_stderr,
              struct check_run_result *r)
{
    _cleanup_close_ int out_r = -EBADF, out_w = -EBADF, err_r = -EBADF, err_w = -EBADF;
    unsigned long long deadline = now_ns() + (unsigned long long)timeout_ms * 1000000ull;
    size_t cap = 0;
    int fds[2], e = 0, ret = 0, ws;
    ssize_t n;
    pid_t pid;

    *r = (struct check_run_result){.status = -1};
    if (pipe2(fds, O_CLOEXEC) < 0)
        return -errno;
    out_r = fds[0], out_w = fds[1];
    if (pipe2(fds, O_CLOEXEC) < 0)
        return -errno;
    err_r = fds[0], err_w = fds[1];

    pid = fork();
    if (pid < 0)
        return -errno;
    if (pid == 0)
        child(argv, out_w, err_w, merge_stderr);
    out_w = safe_close(out_w);
    err_w = safe_close(err_w);

    /* exec confirmation: EOF (exec'd) or an errno */
    n = read(err_r, &e, sizeof(e));
    if (n == (ssize_t)sizeof(e)) {
        (void)waitpid(pid, NULL, 0);
        return -e;
    }

    cap = 4096;
    r->out = malloc(cap);
    if (!r->out) {
        kill(-pid, SIGKILL);
        (void)waitpid(pid, NULL, 0);
        return -ENOMEM;
    }
    for (;;) {
        struct pollfd p = {.fd = out_r, .events = POLLIN};
        int t = remaining_ms(deadline), pr;
        if (t == 0) {
            ret = -ETIMEDOUT;
            break;
        }
        pr = poll(&p, 1, t);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr < 0) {
            ret = -errno;
            break;
        }
        if (pr == 0)
            continue; /* the deadline check above ends it */
        if (r->len + 1 >= cap && cap < max + 1) {
            size_t nc = MIN(cap * 2, max + 1);
            char *nb = realloc(r->out, nc);
            if (!nb) {
                ret = -ENOMEM;
                break;
            }
            r->out = nb, cap = nc;
        }
        if (r->len >= max) {
            r->truncated = true;
            break;
        }
        n = read(out_r, r->out + r->len, MIN(cap - 1, max) - r->len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break; /* EOF (or an error: what we have is all we get) */
        r->len += (size_t)n;
    }
    r->out[r->len] = '\0';
    if (ret < 0 || r->truncated)
        kill(-pid, SIGKILL);
    out_r = safe_close(out_r); /* a child still writing gets EPIPE */
    ws = wait_bounded(pid, deadline, &ret);
    if (ret == 0 && ws != -1 && WIFEXITED(ws) && !r->truncated)
        r->status = WEXITSTATUS(ws);
    if (ret < 0 && ret != -ETIMEDOUT) {
        free(r->out);
        r->out = NULL;
        r->len = 0;
    }
    return ret;
}
