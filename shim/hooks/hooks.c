/* OCI hooks on the host: parsing (pure), the state JSON (pure), and running them on the
 * loop. See hooks.h. */
#define LOG_MODULE "hooks"
#include "hooks/hooks.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "errmap.h"
#include "fd.h"
#include "log.h"
#include "loop.h"

#define HOOK_STR_MAX 4096

static const char *const kind_names[_HOOK_KIND_MAX] = {"prestart", "createRuntime", "poststart",
                                                       "poststop"};

const char *hook_kind_name(enum hook_kind k)
{
    return (unsigned)k < _HOOK_KIND_MAX ? kind_names[k] : "?";
}

static void strv_free(char **v)
{
    for (char **p = v; p && *p; p++)
        free(*p);
    free(v);
}

static void hook_clear(struct oci_hook *h)
{
    free(h->path);
    strv_free(h->argv);
    strv_free(h->envp);
}

void hooks_free(struct oci_hooks *h)
{
    for (int k = 0; k < _HOOK_KIND_MAX; k++) {
        for (size_t i = 0; i < h->n[k]; i++)
            hook_clear(&h->h[k][i]);
        free(h->h[k]);
        h->h[k] = NULL;
        h->n[k] = 0;
    }
}

static int str_ok(const json_t *v)
{
    return json_is_string(v) && json_string_length(v) < HOOK_STR_MAX &&
           strlen(json_string_value(v)) == json_string_length(v);
}

/* A JSON array of strings -> NULL-terminated vector (prefix: optional first element). */
static int strv_from(const json_t *a, const char *prefix, const char *what, char ***ret,
                     struct cvm_err *err)
{
    size_t n = a ? json_array_size(a) : 0, i, k = 0;
    char **v;
    if (a && !json_is_array(a))
        return cvm_err_set(err, -EINVAL, "%s: not an array", what);
    if (n > HOOK_ARGS_MAX)
        return cvm_err_set(err, -E2BIG, "%s: more than %u entries", what, HOOK_ARGS_MAX);
    v = calloc(n + 2, sizeof(*v));
    if (!v)
        return cvm_err_set(err, -ENOMEM, "out of memory");
    if (prefix && !(v[k++] = strdup(prefix)))
        goto nomem;
    for (i = 0; i < n; i++) {
        const json_t *e = json_array_get(a, i);
        if (!str_ok(e)) {
            strv_free(v);
            return cvm_err_set(err, -EINVAL, "%s[%zu]: not a string (or too long)", what, i);
        }
        if (!(v[k++] = strdup(json_string_value(e))))
            goto nomem;
    }
    *ret = v;
    return 0;
nomem:
    strv_free(v);
    return cvm_err_set(err, -ENOMEM, "out of memory");
}

static int parse_one(const json_t *o, const char *what, struct oci_hook *h, struct cvm_err *err)
{
    const json_t *path = json_object_get(o, "path"), *args = json_object_get(o, "args"),
                 *t = json_object_get(o, "timeout");
    char w[96];
    int r;
    if (!json_is_object(o))
        return cvm_err_set(err, -EINVAL, "%s: not an object", what);
    if (!str_ok(path) || json_string_value(path)[0] != '/')
        return cvm_err_set(err, -EINVAL, "%s.path: must be an absolute path", what);
    if (!(h->path = strdup(json_string_value(path))))
        return cvm_err_set(err, -ENOMEM, "out of memory");
    snprintf(w, sizeof(w), "%s.args", what);
    /* args[0] is argv[0] (runtime-spec); without args, argv[0] is the path */
    r = strv_from(args, json_array_size(args) ? NULL : h->path, w, &h->argv, err);
    if (r < 0)
        return r;
    snprintf(w, sizeof(w), "%s.env", what);
    r = strv_from(json_object_get(o, "env"), NULL, w, &h->envp, err);
    if (r < 0)
        return r;
    if (t && !json_is_null(t)) {
        if (!json_is_integer(t) || json_integer_value(t) <= 0 || json_integer_value(t) > 86400)
            return cvm_err_set(err, -EINVAL, "%s.timeout: must be a positive number of seconds",
                               what);
        h->timeout_s = (unsigned)json_integer_value(t);
    }
    return 0;
}

int hooks_parse(const json_t *spec, struct oci_hooks *out, struct cvm_err *err)
{
    const json_t *hooks = json_object_get(spec, "hooks");
    const char *key;
    json_t *v;
    int r;

    memset(out, 0, sizeof(*out));
    if (!hooks || json_is_null(hooks))
        return 0;
    if (!json_is_object(hooks))
        return cvm_err_set(err, -EINVAL, "hooks: not an object");
    json_object_foreach((json_t *)hooks, key, v)
    {
        int k = -1;
        for (int i = 0; i < _HOOK_KIND_MAX; i++)
            if (strcmp(key, kind_names[i]) == 0)
                k = i;
        if (json_is_null(v) || (json_is_array(v) && json_array_size(v) == 0))
            continue;
        if (strcmp(key, "createContainer") == 0 || strcmp(key, "startContainer") == 0) {
            hooks_free(out);
            return cvm_err_setc(err, RPC_UNIMPLEMENTED, -ENOTSUP,
                                "hooks.%s: not supported: these hooks run inside the container's "
                                "namespaces, which live in the guest VM (prestart, createRuntime, "
                                "poststart and poststop run on the host)",
                                key);
        }
        if (k < 0) {
            hooks_free(out);
            return cvm_err_set(err, -EINVAL, "hooks.%.40s: unknown hook kind", key);
        }
        if (!json_is_array(v) || json_array_size(v) > HOOKS_MAX) {
            hooks_free(out);
            return cvm_err_set(err, -EINVAL, "hooks.%s: an array of at most %u hooks", key,
                               HOOKS_MAX);
        }
        out->h[k] = calloc(json_array_size(v), sizeof(struct oci_hook));
        if (!out->h[k]) {
            hooks_free(out);
            return cvm_err_set(err, -ENOMEM, "out of memory");
        }
        for (size_t i = 0; i < json_array_size(v); i++) {
            char what[64];
            snprintf(what, sizeof(what), "hooks.%s[%zu]", key, i);
            out->n[k]++;
            r = parse_one(json_array_get(v, i), what, &out->h[k][i], err);
            if (r < 0) {
                hooks_free(out);
                return r;
            }
        }
    }
    return 0;
}

char *hooks_state_json(const char *id, const char *status, pid_t pid, const char *bundle,
                       const json_t *annotations)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:i, s:s}", "ociVersion", "1.0.2", "id", id, "status",
                          status, "pid", (int)pid, "bundle", bundle);
    char *s;
    if (!o)
        return NULL;
    if (json_is_object(annotations) && json_object_size(annotations))
        json_object_set(o, "annotations", (json_t *)annotations);
    s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

/* ---- running ---- */

struct out_buf {
    int fd;
    struct loop_source *src;
    char data[HOOK_OUTPUT_MAX + 1];
    size_t len;
};

struct hook_run {
    struct loop *loop;
    struct oci_hooks own; /* a copy of the hooks of this kind: the run outlives its container */
    const struct oci_hook *hooks;
    size_t n, i;
    enum hook_kind kind;
    char *state;
    size_t state_len, state_off;
    int in_fd;
    struct loop_source *in_src, *child, *timer;
    struct out_buf out, err;
    bool exited, timed_out;
    bool start_pending, cancelled; /* the deferred first start has not run yet */
    int status;                    /* wait status of the current hook */
    hooks_done_cb cb;
    void *data;
};

static void run_next(struct hook_run *h);

static void out_close(struct out_buf *b)
{
    b->src = loop_source_free(b->src);
    b->fd = safe_close(b->fd);
}

static void current_cleanup(struct hook_run *h)
{
    h->in_src = loop_source_free(h->in_src);
    h->in_fd = safe_close(h->in_fd);
    h->timer = loop_source_free(h->timer);
    out_close(&h->out);
    out_close(&h->err);
    if (h->child) {
        int pidfd = loop_child_pidfd(h->child);
        if (pidfd >= 0)
            (void)syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
        /* the source reaps it; we only stop listening */
        h->child = loop_source_free(h->child);
    }
}

static void run_free(struct hook_run *h)
{
    current_cleanup(h);
    hooks_free(&h->own);
    free(h->state);
    free(h);
}

static char **strv_dup(char *const *v)
{
    size_t n = 0;
    char **r;
    while (v && v[n])
        n++;
    r = calloc(n + 1, sizeof(*r));
    for (size_t i = 0; r && i < n; i++)
        if (!(r[i] = strdup(v[i]))) {
            strv_free(r);
            return NULL;
        }
    return r;
}

static int copy_kind(const struct oci_hooks *from, enum hook_kind k, struct oci_hooks *to)
{
    if (!from->n[k])
        return 0;
    to->h[k] = calloc(from->n[k], sizeof(struct oci_hook));
    if (!to->h[k])
        return -ENOMEM;
    for (size_t i = 0; i < from->n[k]; i++) {
        const struct oci_hook *s = &from->h[k][i];
        struct oci_hook *d = &to->h[k][i];
        to->n[k]++;
        d->timeout_s = s->timeout_s;
        if (!(d->path = strdup(s->path)) || !(d->argv = strv_dup(s->argv)) ||
            !(d->envp = strv_dup(s->envp)))
            return -ENOMEM;
    }
    return 0;
}

static void finish(struct hook_run *h, int r, const char *msg)
{
    hooks_done_cb cb = h->cb;
    void *data = h->data;
    run_free(h);
    cb(r, msg, data);
}

static void printable(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 && *s != '\n' && *s != '\t')
            *s = '?';
}

/* The current hook is over once it exited and both output pipes reached EOF. */
static void maybe_done(struct hook_run *h)
{
    char msg[HOOK_OUTPUT_MAX * 2 + 256], how[64];
    if (!h->exited || h->out.fd >= 0 || h->err.fd >= 0)
        return;
    current_cleanup(h);
    if (!h->timed_out && WIFEXITED(h->status) && WEXITSTATUS(h->status) == 0) {
        h->i++;
        run_next(h);
        return;
    }
    if (h->timed_out)
        snprintf(how, sizeof(how), "timeout after %u seconds", h->hooks[h->i].timeout_s);
    else if (WIFEXITED(h->status))
        snprintf(how, sizeof(how), "exit status %d", WEXITSTATUS(h->status));
    else
        snprintf(how, sizeof(how), "signal: %s", strsignal(WTERMSIG(h->status)));
    h->out.data[h->out.len] = h->err.data[h->err.len] = '\0';
    printable(h->out.data);
    printable(h->err.data);
    snprintf(msg, sizeof(msg), "error running %s hook #%zu (%s): %s, stdout: %s, stderr: %s",
             kind_names[h->kind], h->i, h->hooks[h->i].path, how, h->out.data, h->err.data);
    finish(h, h->timed_out ? -ETIMEDOUT : -EIO, msg);
}

static void on_out(struct loop_source *s, int fd, uint32_t ev, void *data)
{
    struct hook_run *h = data;
    struct out_buf *b = s == h->out.src ? &h->out : &h->err;
    char tmp[4096];
    (void)ev;
    for (;;) {
        ssize_t n = read(fd, tmp, sizeof(tmp));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n <= 0)
            break;
        /* keep the first HOOK_OUTPUT_MAX bytes, drain the rest so the hook never blocks */
        size_t room = HOOK_OUTPUT_MAX - b->len, take = (size_t)n < room ? (size_t)n : room;
        memcpy(b->data + b->len, tmp, take);
        b->len += take;
    }
    out_close(b);
    maybe_done(h);
}

static void on_stdin(struct loop_source *s, int fd, uint32_t ev, void *data)
{
    struct hook_run *h = data;
    (void)s, (void)ev;
    while (h->state_off < h->state_len) {
        ssize_t n = write(fd, h->state + h->state_off, h->state_len - h->state_off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n < 0)
            break; /* EPIPE: the hook does not read its state; that is its business */
        h->state_off += (size_t)n;
    }
    h->in_src = loop_source_free(h->in_src);
    h->in_fd = safe_close(h->in_fd);
}

static void on_exit_cb(struct loop_source *s, pid_t pid, const siginfo_t *si, void *data)
{
    struct hook_run *h = data;
    (void)s, (void)pid;
    h->child = NULL; /* the source is done */
    h->exited = true;
    h->status = si->si_code == CLD_EXITED ? W_EXITCODE(si->si_status, 0) : si->si_status & 0x7f;
    maybe_done(h);
}

static void on_timeout(struct loop_source *s, void *data)
{
    struct hook_run *h = data;
    (void)s;
    h->timer = loop_source_free(h->timer);
    h->timed_out = true;
    if (h->child) {
        int pidfd = loop_child_pidfd(h->child);
        if (pidfd >= 0)
            (void)syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
    }
}

static int spawn(struct hook_run *h, const struct oci_hook *hk)
{
    int in[2] = {-1, -1}, out[2] = {-1, -1}, er[2] = {-1, -1}, r;
    pid_t pid;
    if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(er, O_CLOEXEC) < 0) {
        r = -errno;
        goto fail;
    }
    pid = fork();
    if (pid < 0) {
        r = -errno;
        goto fail;
    }
    if (pid == 0) {
        sigset_t all;
        /* fds 0-2 from the pipes (moved above 2 first so dup2 cannot clobber them) */
        int a = fcntl(in[0], F_DUPFD, 3), b = fcntl(out[1], F_DUPFD, 3),
            c = fcntl(er[1], F_DUPFD, 3);
        if (a < 0 || b < 0 || c < 0 || dup2(a, 0) < 0 || dup2(b, 1) < 0 || dup2(c, 2) < 0)
            _exit(127);
        fd_close_all_except(3, NULL, 0);
        sigemptyset(&all);
        sigprocmask(SIG_SETMASK, &all, NULL);
        for (int sig = 1; sig < NSIG; sig++)
            signal(sig, SIG_DFL);
        setsid();
        execve(hk->path, hk->argv, hk->envp);
        dprintf(2, "exec %s: %s", hk->path, strerror(errno));
        _exit(127);
    }
    close(in[0]), close(out[1]), close(er[1]);
    h->in_fd = in[1], h->out.fd = out[0], h->err.fd = er[0];
    (void)fd_set_nonblock(h->in_fd, 1);
    (void)fd_set_nonblock(h->out.fd, 1);
    (void)fd_set_nonblock(h->err.fd, 1);
    if ((r = loop_add_child(h->loop, pid, -1, on_exit_cb, h, &h->child)) < 0) {
        kill(pid, SIGKILL); /* ours, unreaped: the pid cannot be anyone else's */
        (void)waitpid(pid, NULL, 0);
        return r;
    }
    if ((r = loop_add_io(h->loop, h->out.fd, EPOLLIN, on_out, h, &h->out.src)) < 0 ||
        (r = loop_add_io(h->loop, h->err.fd, EPOLLIN, on_out, h, &h->err.src)) < 0 ||
        (r = loop_add_io(h->loop, h->in_fd, EPOLLOUT, on_stdin, h, &h->in_src)) < 0)
        return r;
    if (hk->timeout_s && (r = loop_add_timer(h->loop, (uint64_t)hk->timeout_s * 1000000ull,
                                             on_timeout, h, &h->timer)) < 0)
        return r;
    return 0;
fail:
    for (int i = 0; i < 2; i++)
        safe_close(in[i]), safe_close(out[i]), safe_close(er[i]);
    return r;
}

static void run_next(struct hook_run *h)
{
    char msg[512];
    int r;
    if (h->i >= h->n) {
        finish(h, 0, NULL);
        return;
    }
    h->exited = h->timed_out = false;
    h->state_off = 0;
    h->out.len = h->err.len = 0;
    log_info("running %s hook #%zu: %s", kind_names[h->kind], h->i, h->hooks[h->i].path);
    r = spawn(h, &h->hooks[h->i]);
    if (r < 0) {
        snprintf(msg, sizeof(msg), "error running %s hook #%zu (%s): %s", kind_names[h->kind], h->i,
                 h->hooks[h->i].path, strerror(-r));
        finish(h, r, msg);
    }
}

static void run_start(void *data)
{
    struct hook_run *h = data;
    h->start_pending = false;
    if (h->cancelled)
        run_free(h);
    else
        run_next(h);
}

int hooks_run(struct loop *l, const struct oci_hooks *hs, enum hook_kind kind, const char *state,
              hooks_done_cb cb, void *data, struct hook_run **ret)
{
    struct hook_run *h;
    if ((unsigned)kind >= _HOOK_KIND_MAX)
        return -EINVAL;
    h = calloc(1, sizeof(*h));
    if (!h)
        return -ENOMEM;
    h->in_fd = h->out.fd = h->err.fd = -1;
    if (!(h->state = strdup(state ? state : "{}")) || copy_kind(hs, kind, &h->own) < 0) {
        run_free(h);
        return -ENOMEM;
    }
    h->loop = l;
    h->hooks = h->own.h[kind];
    h->n = h->own.n[kind];
    h->kind = kind;
    h->state_len = strlen(h->state);
    h->cb = cb;
    h->data = data;
    if (loop_defer(l, run_start, h) < 0) {
        run_free(h);
        return -ENOMEM;
    }
    h->start_pending = true;
    if (ret)
        *ret = h;
    return 0;
}

void hooks_cancel(struct hook_run *run)
{
    if (!run)
        return;
    if (run->start_pending)
        run->cancelled = true; /* run_start frees it */
    else
        run_free(run); /* kills the running hook; the catch-all reaper reaps it */
}
