/* A process's stdio: containerd's side (FIFO / file:// / binary:// logger, spec §3.5) and the
 * agent's side (one vsock stream per direction, agent.proto "STREAM" handshake), joined by
 * relays with backpressure. */
#define LOG_MODULE "stdio"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fd.h"
#include "hv.h"
#include "log.h"
#include "loop.h"
#include "sandbox/mounts.h"
#include "stdio/stdio_logger.h"
#include "relay.h"
#include "task/model.h"

#define ATTACH_TIMEOUT_MS 10000u

static const char *const stream_names[_STREAM_MAX] = {"stdin", "stdout", "stderr"};

struct stream_attach {
    struct proc *p;
    int stream;
    struct hv_vsock_req *req;
    int fd;
    struct loop_source *w;
    char line[64];
    size_t got;
};

struct logger_wait {
    struct proc *p;
    struct loop_source *w, *timer;
};

void proc_io_init(struct proc_io *io, void (*drained)(struct proc *p))
{
    memset(io, 0, sizeof(*io));
    io->drained = drained;
    io->logger_ready_fd = -1;
    for (int i = 0; i < _STREAM_MAX; i++)
        io->host_fd[i] = -1;
}

static int open_fifo_or_file(const char *path, int stream, int *ret)
{
    struct stat st;
    int fd;

    if (stream == STREAM_STDIN) {
        /* §3.5: O_RDONLY|O_NONBLOCK + epoll HUP; never blocks, no spurious EOF. */
        fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    } else if (stat(path, &st) == 0 && S_ISFIFO(st.st_mode)) {
        /* O_RDWR never blocks and keeps a reader on the FIFO, so no EPIPE while containerd
         * (re)attaches; closing it after exit gives the client EOF. */
        fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    } else {
        fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOCTTY);
    }
    if (fd < 0)
        return -errno;
    *ret = fd;
    return 0;
}

static int open_file_uri(const char *path, int *ret)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", path);
    char *sl = strrchr(dir, '/');
    if (sl && sl != dir) {
        *sl = 0;
        int r = mkdir_p(dir, 0755, 0755);
        if (r < 0)
            return r;
    }
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
    if (fd < 0)
        return -errno;
    *ret = fd;
    return 0;
}

int proc_io_open(struct proc *p, struct cvm_err *err)
{
    struct proc_io *io = &p->io;
    struct shim *s = p->c->sb->shim;
    int r;

    for (int i = 0; i < _STREAM_MAX; i++)
        io->want[i] = io->path[i][0] && !(i == STREAM_STDERR && io->terminal);
    const char *out = io->path[STREAM_STDOUT];
    if (strncmp(out, "binary://", 9) == 0) {
        io->want[STREAM_STDERR] = !io->terminal;
        r = logger_start(s->loop, out, p->c->id, s->ns, io, err);
        if (r < 0)
            return r;
        io->host_shared_out_err = true;
    } else if (strncmp(out, "file://", 7) == 0) {
        io->want[STREAM_STDERR] = !io->terminal;
        r = open_file_uri(out + 7, &io->host_fd[STREAM_STDOUT]);
        if (r == 0 && io->want[STREAM_STDERR])
            r = open_file_uri(out + 7, &io->host_fd[STREAM_STDERR]);
        if (r < 0)
            return cvm_err_set(err, r, "open %s: %s", out, strerror(-r));
    }
    for (int i = 0; i < _STREAM_MAX; i++) {
        const char *path = io->path[i];
        if (!io->want[i] || io->host_fd[i] >= 0)
            continue;
        if (strncmp(path, "fifo://", 7) == 0)
            path += 7;
        if (path[0] != '/')
            return cvm_err_set(err, -EINVAL, "%s: unsupported stdio target \"%.200s\"",
                               stream_names[i], path);
        r = open_fifo_or_file(path, i, &io->host_fd[i]);
        if (r < 0)
            return cvm_err_set(err, r, "open %s %s: %s", stream_names[i], path, strerror(-r));
    }
    return 0;
}

bool proc_io_drained(const struct proc *p)
{
    for (int i = STREAM_STDOUT; i < _STREAM_MAX; i++) {
        if (p->io.attach[i])
            return false;
        if (p->io.relay[i] && !relay_status(p->io.relay[i]).done)
            return false;
    }
    return true;
}

static void attach_free(struct stream_attach *a)
{
    if (!a)
        return;
    hv_vsock_cancel(a->req);
    loop_source_free(a->w);
    safe_close(a->fd);
    free(a);
}

static void logger_wait_free(struct proc_io *io)
{
    struct logger_wait *lw = io->logger_wait;
    io->logger_wait = NULL;
    if (lw) {
        loop_source_free(lw->w);
        loop_source_free(lw->timer);
        free(lw);
    }
    io->logger_ready_fd = safe_close(io->logger_ready_fd);
}

void proc_io_close(struct proc *p)
{
    struct proc_io *io = &p->io;
    logger_wait_free(io);
    for (int i = 0; i < _STREAM_MAX; i++) {
        attach_free(io->attach[i]);
        io->attach[i] = NULL;
        relay_free(io->relay[i]);
        io->relay[i] = NULL;
        io->host_fd[i] = safe_close(io->host_fd[i]);
    }
    logger_stop(p->c->sb->loop, io);
}

/* 64 KiB per direction, as a pipe holds: enough to keep a stream moving across the vsock. */
#define STDIO_RELAY_BUF (64u * 1024u)

static void out_done(struct relay *r, int status, void *data)
{
    struct proc *p = data;
    (void)r;
    (void)status;
    if (p->io.drained)
        p->io.drained(p);
}

static void stdin_done(struct relay *r, int status, void *data)
{
    (void)r;
    (void)status;
    (void)data;
}

/* One of the things Create/Exec waits for (a stream, the logger) is ready or failed. */
static void item_done(struct proc *p, int r, const char *what, const char *msg)
{
    if (r < 0 && !p->attach_err) {
        p->attach_err = r;
        snprintf(p->attach_msg, sizeof(p->attach_msg), "attach %s: %s", what,
                 msg ? msg : strerror(-r));
    }
    if (--p->attach_left == 0 && p->attach_done) {
        void (*cb)(struct proc *, int, const char *) = p->attach_done;
        p->attach_done = NULL;
        cb(p, p->attach_err, p->attach_err ? p->attach_msg : NULL);
    }
}

static void logger_ready_cb(struct loop_source *s, int fd, uint32_t revents, void *data)
{
    struct logger_wait *lw = data;
    struct proc *p = lw->p;
    (void)s;
    (void)fd;
    (void)revents;
    logger_wait_free(&p->io);
    item_done(p, 0, "logger", NULL);
}

static void logger_timeout_cb(struct loop_source *s, void *data)
{
    struct logger_wait *lw = data;
    struct proc *p = lw->p;
    (void)s;
    logger_wait_free(&p->io);
    item_done(p, -ETIMEDOUT, "logger", "binary:// logger did not become ready in 5 s");
}

static void attach_finish(struct stream_attach *a, int r, const char *msg)
{
    struct proc *p = a->p;
    int st = a->stream;
    struct proc_io *io = &p->io;

    if (r == 0) {
        int vfd = TAKE_FD(a->fd);
        a->w = loop_source_free(a->w); /* the relay registers vfd itself */
        if (st == STREAM_STDIN) {
            struct relay_cb cb = {.done = stdin_done, .data = p};
            r = relay_new(p->c->sb->loop, io->host_fd[st], vfd, STDIO_RELAY_BUF,
                          RELAY_OWN_SRC | RELAY_OWN_SINK | RELAY_SHUT_SINK | RELAY_FIFO_SRC, &cb,
                          &io->relay[st]);
            if (r == 0)
                io->host_fd[st] = -1; /* owned by the relay now */
        } else {
            struct relay_cb cb = {.done = out_done, .data = p};
            r = relay_new(p->c->sb->loop, vfd, io->host_fd[st], STDIO_RELAY_BUF, RELAY_OWN_SRC, &cb,
                          &io->relay[st]);
        }
        if (r < 0) {
            safe_close(vfd);
            msg = "relay setup failed";
        }
    }
    io->attach[st] = NULL;
    attach_free(a);
    item_done(p, r, stream_names[st], msg);
}

static void attach_read_cb(struct loop_source *s, int fd, uint32_t revents, void *data)
{
    struct stream_attach *a = data;
    (void)s;
    (void)revents;
    while (a->got < sizeof(a->line) - 1) {
        ssize_t n = read(fd, a->line + a->got, 1); /* byte-wise: never eat stream data */
        if (n < 0 && errno == EAGAIN)
            return;
        if (n <= 0) {
            attach_finish(a, n < 0 ? -errno : -ECONNRESET, "agent closed the stream");
            return;
        }
        a->got++;
        if (a->line[a->got - 1] == '\n') {
            a->line[a->got - 1] = 0;
            if (strcmp(a->line, "OK") == 0)
                attach_finish(a, 0, NULL);
            else
                attach_finish(a, -EPROTO, a->line);
            return;
        }
    }
    attach_finish(a, -EPROTO, "agent reply too long");
}

static void attach_connected(struct hv_vm *vm, int r, int fd, void *data)
{
    struct stream_attach *a = data;
    struct proc *p = a->p;
    char line[256];
    (void)vm;

    a->req = NULL;
    if (r < 0) {
        attach_finish(a, r, "vsock connect failed");
        return;
    }
    a->fd = fd;
    int n = snprintf(line, sizeof(line), "STREAM %s %s %s\n", p->c->id,
                     p->exec_id[0] ? p->exec_id : "-", stream_names[a->stream]);
    /* A fresh socket has room for one short line. */
    if (write(fd, line, (size_t)n) != n) {
        attach_finish(a, -EIO, "handshake write failed");
        return;
    }
    r = loop_add_io(p->c->sb->loop, fd, EPOLLIN, attach_read_cb, a, &a->w);
    if (r < 0)
        attach_finish(a, r, NULL);
}

int proc_io_attach(struct proc *p, void (*cb)(struct proc *p, int r, const char *msg))
{
    struct hv_vm *vm = sandbox_vm(p->c->sb);
    int n = 0;

    p->attach_err = 0;
    p->attach_left = 1; /* held until every request is issued */
    p->attach_done = cb;
    if (p->io.logger_ready_fd >= 0 && !p->io.logger_wait) {
        struct logger_wait *lw = calloc(1, sizeof(*lw));
        struct loop *l = p->c->sb->loop;
        if (!lw ||
            loop_add_io(l, p->io.logger_ready_fd, EPOLLIN, logger_ready_cb, lw, &lw->w) < 0 ||
            loop_add_timer(l, LOGGER_READY_TIMEOUT_MS * 1000ull, logger_timeout_cb, lw,
                           &lw->timer) < 0) {
            if (lw) {
                loop_source_free(lw->w);
                free(lw);
            }
            p->attach_err = -ENOMEM;
            snprintf(p->attach_msg, sizeof(p->attach_msg), "attach logger: cannot wait for it");
        } else {
            lw->p = p;
            p->io.logger_wait = lw;
            p->attach_left++;
        }
    }
    for (int i = 0; i < _STREAM_MAX; i++) {
        struct stream_attach *a;
        if (!p->io.want[i])
            continue;
        a = calloc(1, sizeof(*a));
        if (!a) {
            p->attach_err = -ENOMEM;
            break;
        }
        a->p = p;
        a->stream = i;
        a->fd = -1;
        p->io.attach[i] = a;
        p->attach_left++;
        n++;
        if (!vm || hv_vsock_connect(vm, AGENT_STDIO_PORT, ATTACH_TIMEOUT_MS, attach_connected, a,
                                    &a->req, NULL) < 0) {
            p->attach_left--;
            p->io.attach[i] = NULL;
            free(a);
            p->attach_err = -ENOTCONN;
            snprintf(p->attach_msg, sizeof(p->attach_msg), "attach %s: VM not reachable",
                     stream_names[i]);
            break;
        }
    }
    (void)n;
    item_done(p, 0, "", NULL);
    return 0;
}

void proc_io_close_stdin(struct proc *p)
{
    struct proc_io *io = &p->io;
    if (io->relay[STREAM_STDIN])
        relay_close_src(io->relay[STREAM_STDIN]);
    else
        io->host_fd[STREAM_STDIN] = safe_close(io->host_fd[STREAM_STDIN]);
}
