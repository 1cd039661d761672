/* Host->guest vsock streams without blocking the loop.
 *
 * kernel: non-blocking AF_VSOCK connect(cid, port); completion on EPOLLOUT + SO_ERROR.
 * hybrid: connect to cvm-vsockd's unix socket (completes at once), write "CONNECT <port>\n"
 *         (a fresh socket's buffer always takes it whole), then read the "OK <n>\n" line with
 *         MSG_PEEK so that not one byte of the stream after it is consumed. The convention is
 *         Firecracker's / Cloud Hypervisor's; a closed connection means nobody listens. */
#define LOG_MODULE "hv"
#include <errno.h>
#include <linux/vm_sockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fd.h"
#include "cleanup.h"
#include "errmap.h"
#include "hv_internal.h"
#include "log.h"
#include "loop.h"

#define HANDSHAKE_MAX 32

struct hv_vsock_req {
    struct hv_vm *vm;
    int fd;
    uint32_t port;
    bool handshake; /* hybrid: waiting for "OK <n>\n" */
    char line[HANDSHAKE_MAX + 1];
    size_t line_len;
    struct loop_source *io, *timer;
    hv_vsock_cb cb;
    void *data;
    TAILQ_ENTRY(hv_vsock_req) link;
};

static void req_free(struct hv_vsock_req *q)
{
    TAILQ_REMOVE(&q->vm->vsock_reqs, q, link);
    q->io = loop_source_free(q->io);
    q->timer = loop_source_free(q->timer);
    q->fd = safe_close(q->fd);
    free(q);
}

/* Complete once: hand the fd on (r == 0) or close it; then forget the request. */
static void req_finish(struct hv_vsock_req *q, int r)
{
    struct hv_vm *vm = q->vm;
    hv_vsock_cb cb = q->cb;
    void *data = q->data;
    int fd = -1;
    q->io = loop_source_free(q->io);
    if (r == 0)
        fd = TAKE_FD(q->fd);
    req_free(q);
    vm->in_callback++;
    cb(vm, r, fd, data);
    vm->in_callback--;
}

/* PURE-ish: parse "OK <n>" (n = the host-side port the backend assigned). */
static int parse_ok(const char *line)
{
    long n;
    char *end;
    if (strncmp(line, "OK ", 3) != 0)
        return -ECONNREFUSED;
    n = strtol(line + 3, &end, 10);
    if (end == line + 3 || *end != '\0' || n < 0)
        return -EPROTO;
    return 0;
}

/* Bytes before the newline belong to the reply line and are consumed as they come (so a
 * dribbling reply does not keep the fd readable); the newline is peeked for first, and not
 * one byte after it is read. */
static int read_handshake(struct hv_vsock_req *q)
{
    size_t room = HANDSHAKE_MAX - q->line_len;
    char peek[HANDSHAKE_MAX];
    ssize_t n = recv(q->fd, peek, room, MSG_PEEK);
    char *nl;
    size_t take;
    if (n < 0)
        return errno == EAGAIN || errno == EINTR ? -EAGAIN : -errno;
    if (n == 0)
        return -ECONNRESET; /* the guest does not listen on that port */
    nl = memchr(peek, '\n', (size_t)n);
    take = nl ? (size_t)(nl - peek) + 1 : (size_t)n;
    if (recv(q->fd, q->line + q->line_len, take, 0) != (ssize_t)take)
        return -EIO;
    q->line_len += take;
    q->line[q->line_len] = '\0';
    if (!nl)
        return q->line_len == HANDSHAKE_MAX ? -EPROTO : -EAGAIN;
    q->line[--q->line_len] = '\0';
    if (q->line_len > 0 && q->line[q->line_len - 1] == '\r')
        q->line[--q->line_len] = '\0';
    return parse_ok(q->line);
}

static void on_io(struct loop_source *s, int fd, uint32_t revents, void *data)
{
    struct hv_vsock_req *q = data;
    int r, soerr = 0;
    socklen_t sl = sizeof(soerr);
    (void)s;
    if (!q->handshake) { /* kernel: connect finished */
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
            soerr = errno;
        if (!soerr && (revents & (EPOLLERR | EPOLLHUP)))
            soerr = ECONNRESET;
        req_finish(q, -soerr);
        return;
    }
    r = read_handshake(q);
    if (r != -EAGAIN)
        req_finish(q, r);
}

static void on_timeout(struct loop_source *s, void *data)
{
    struct hv_vsock_req *q = data;
    (void)s;
    q->timer = loop_source_free(q->timer);
    req_finish(q, -ETIMEDOUT);
}

static int open_kernel(struct hv_vsock_req *q)
{
    struct sockaddr_vm sa = {.svm_family = AF_VSOCK, .svm_cid = q->vm->cid, .svm_port = q->port};
    q->fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (q->fd < 0)
        return -errno;
    if (connect(q->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS)
        return -errno;
    return loop_add_io(q->vm->loop, q->fd, EPOLLOUT, on_io, q, &q->io);
}

static int open_hybrid(struct hv_vsock_req *q)
{
    char msg[32];
    int n = snprintf(msg, sizeof(msg), "CONNECT %u\n", q->port);
    int r = unix_connect(q->vm->vsock_uds, SOCK_NONBLOCK);
    if (r < 0)
        return r;
    q->fd = r;
    if (send(q->fd, msg, (size_t)n, MSG_NOSIGNAL) != n)
        return errno ? -errno : -EIO;
    q->handshake = true;
    return loop_add_io(q->vm->loop, q->fd, EPOLLIN, on_io, q, &q->io);
}

int hv_vsock_connect(struct hv_vm *vm, uint32_t port, unsigned timeout_ms, hv_vsock_cb cb,
                     void *data, struct hv_vsock_req **ret, struct cvm_err *err)
{
    struct hv_vsock_req *q;
    int r;
    if (vm->state != HV_ST_READY)
        return cvm_err_set(err, -ENOTCONN, "vsock connect to port %u: the VM is not running", port);
    q = calloc(1, sizeof(*q));
    if (!q)
        return cvm_err_set(err, -ENOMEM, "vsock connect");
    *q = (struct hv_vsock_req){.vm = vm, .fd = -1, .port = port, .cb = cb, .data = data};
    TAILQ_INSERT_TAIL(&vm->vsock_reqs, q, link);
    r = vm->mode == HV_VSOCK_KERNEL ? open_kernel(q) : open_hybrid(q);
    if (r >= 0)
        r = loop_add_timer(vm->loop, (uint64_t)(timeout_ms ? timeout_ms : 5000) * 1000, on_timeout,
                           q, &q->timer);
    if (r < 0) {
        req_free(q);
        return cvm_err_set(err, r, "vsock connect to port %u (%s)", port,
                           hv_vsock_mode_name(vm->mode));
    }
    if (ret)
        *ret = q;
    return 0;
}

void hv_vsock_cancel(struct hv_vsock_req *req)
{
    if (req)
        req_free(req);
}

/* r < 0: complete every request with r; r == 0: drop them silently (hv_free). */
void hv_vsock_cancel_all(struct hv_vm *vm, int r)
{
    struct hv_vsock_req *q;
    while ((q = TAILQ_FIRST(&vm->vsock_reqs))) {
        if (r < 0)
            req_finish(q, r);
        else
            req_free(q);
    }
}
