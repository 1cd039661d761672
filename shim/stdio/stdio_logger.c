/* binary:// logger processes. */
#define LOG_MODULE "stdio"
#include "stdio/stdio_logger.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "errmap.h"
#include "fd.h"
#include "log.h"
#include "loop.h"
#include "task/model.h"

static int hexval(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

static char *decode(char *s)
{
    char *o = s, *r = s;
    for (; *s; s++) {
        if (*s == '%' && hexval(s[1]) >= 0 && hexval(s[2]) >= 0) {
            *o++ = (char)(hexval(s[1]) * 16 + hexval(s[2]));
            s += 2;
        } else
            *o++ = *s == '+' ? ' ' : *s;
    }
    *o = 0;
    return r;
}

int logger_parse_uri(const char *uri, char *buf, size_t buflen, char **argv, size_t max_argv)
{
    size_t n = 0;
    if (strncmp(uri, "binary://", 9) != 0 || strlen(uri + 9) >= buflen || max_argv < 2)
        return -EINVAL;
    strcpy(buf, uri + 9);
    char *q = strchr(buf, '?');
    if (q)
        *q++ = 0;
    if (buf[0] != '/')
        return -EINVAL;
    argv[n++] = decode(buf);
    for (char *save = NULL, *kv = q ? strtok_r(q, "&", &save) : NULL; kv;
         kv = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(kv, '=');
        if (eq)
            *eq++ = 0;
        if (n + 3 > max_argv)
            return -E2BIG;
        argv[n++] = decode(kv);
        if (eq && *eq)
            argv[n++] = decode(eq);
    }
    argv[n] = NULL;
    return (int)n - 1;
}

struct logger_reap {
    struct loop_source *child, *timer;
};

static void reap_cb(struct loop_source *s, pid_t pid, const siginfo_t *si, void *data)
{
    struct logger_reap *lr = data;
    (void)s;
    (void)si;
    log_debug("logger %d exited", (int)pid);
    loop_source_free(lr->timer);
    free(lr);
}

static void kill_cb(struct loop_source *s, void *data)
{
    struct logger_reap *lr = data;
    (void)s;
    int pidfd = loop_child_pidfd(lr->child);
    if (pidfd >= 0)
        (void)syscall(424 /* pidfd_send_signal */, pidfd, SIGKILL, NULL, 0);
}

int logger_start(struct loop *l, const char *uri, const char *id, const char *ns,
                 struct proc_io *io, struct cvm_err *err)
{
    char buf[4096], *argv[64], env_id[128], env_ns[128];
    int out[2] = {-1, -1}, errp[2] = {-1, -1}, ready[2] = {-1, -1};
    pid_t pid;
    int r;

    r = logger_parse_uri(uri, buf, sizeof(buf), argv, ELEMENTSOF(argv));
    if (r < 0)
        return cvm_err_set(err, -EINVAL, "bad logger URI \"%.200s\"", uri);
    if (pipe2(out, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0 || pipe2(ready, O_CLOEXEC) < 0) {
        r = -errno;
        goto fail;
    }
    snprintf(env_id, sizeof(env_id), "CONTAINER_ID=%s", id);
    snprintf(env_ns, sizeof(env_ns), "CONTAINER_NAMESPACE=%s", ns);
    char *envp[] = {env_id, env_ns, NULL};
    pid = fork();
    if (pid < 0) {
        r = -errno;
        goto fail;
    }
    if (pid == 0) {
        int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
        /* move the three ends above 5 first so dup2 cannot clobber them */
        int a = fcntl(out[0], F_DUPFD, 10), b = fcntl(errp[0], F_DUPFD, 10),
            c = fcntl(ready[1], F_DUPFD, 10);
        if (nul < 0 || a < 0 || b < 0 || c < 0 || dup2(nul, 0) < 0 || dup2(nul, 1) < 0 ||
            dup2(nul, 2) < 0 || dup2(a, 3) < 0 || dup2(b, 4) < 0 || dup2(c, 5) < 0)
            _exit(127);
        fd_close_all_except(6, NULL, 0);
        sigset_t all;
        sigemptyset(&all);
        sigprocmask(SIG_SETMASK, &all, NULL);
        signal(SIGPIPE, SIG_DFL);
        setsid();
        execve(argv[0], argv, envp);
        _exit(127);
    }
    close(out[0]);
    close(errp[0]);
    close(ready[1]);
    out[0] = errp[0] = ready[1] = -1;
    /* Readiness (fd 5 closed or a byte written) is awaited on the loop by proc_io_attach. */
    io->logger_ready_fd = ready[0];
    ready[0] = -1;
    io->logger_pid = pid;
    struct logger_reap *lr = calloc(1, sizeof(*lr));
    if (lr && loop_add_child(l, pid, -1, reap_cb, lr, &lr->child) == 0)
        io->logger_w = lr->child;
    else
        free(lr);
    fd_set_nonblock(out[1], 1);
    fd_set_nonblock(errp[1], 1);
    io->host_fd[STREAM_STDOUT] = out[1];
    io->host_fd[STREAM_STDERR] = errp[1];
    return 0;
fail:
    for (int i = 0; i < 2; i++) {
        safe_close(out[i]);
        safe_close(errp[i]);
        safe_close(ready[i]);
    }
    return cvm_err_set(err, r, "start logger: %s", strerror(-r));
}

void logger_stop(struct loop *l, struct proc_io *io)
{
    if (io->logger_pid <= 0)
        return;
    struct loop_source *child = io->logger_w;
    io->logger_pid = 0;
    io->logger_w = NULL;
    if (!child)
        return;
    struct logger_reap *lr = loop_source_data(child);
    int pidfd = loop_child_pidfd(child);
    if (pidfd >= 0)
        (void)syscall(424 /* pidfd_send_signal */, pidfd, SIGTERM, NULL, 0);
    if (lr && loop_add_timer(l, LOGGER_TERM_TIMEOUT_MS * 1000ull, kill_cb, lr, &lr->timer) < 0)
        lr->timer = NULL;
}
