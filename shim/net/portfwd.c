/* The host side of port forwarding (portfwd.h): a listener in the pod netns that the BPF
 * steering feeds, and per accepted connection: vsock connect to the agent's port-forward port,
 * request header out, reply header in, then a duplex relay. All on the shim's loop. */
#define LOG_MODULE "portfwd"
#include "net/portfwd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "duplex_relay.h"
#include "hv.h"
#include "log.h"
#include "loop.h"
#include "portfwd_wire.h"

struct pf_conn {
    LIST_ENTRY(pf_conn) link;
    struct portfwd *pf;
    int tcp_fd;               /* containerd's connection (ours until the relay takes it) */
    uint16_t port;            /* the destination containerd dialled */
    struct hv_vsock_req *req; /* vsock connect in flight */
    struct duplex_relay *relay;
    struct loop_source *head_timer; /* the agent's reply must come by then */
    int guest_status;               /* the agent's reply: 0 or a positive errno; -1 none yet */
};

struct portfwd {
    struct loop *l;
    char id[80];
    int listen_fd;
    int link_fd; /* the sk_lookup link: closing it detaches the steering */
    struct loop_source *accept_src;
    struct hv_vm *(*vm_of)(void *);
    void *data;
    LIST_HEAD(, pf_conn) conns;
    unsigned n_conns;
    uint64_t n_total;
};

static void accept_resume(struct portfwd *pf)
{
    if (pf->accept_src && pf->n_conns < PORTFWD_MAX_CONNS)
        (void)loop_io_set_events(pf->accept_src, EPOLLIN);
}

/* A forward that failed resets containerd's connection (as a refused dial would fail it),
 * so its port-forward reports an error rather than a clean, empty end. */
static void reset_tcp(struct pf_conn *c)
{
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    int fd = c->relay ? duplex_relay_fd(c->relay, 0) : c->tcp_fd;
    if (fd >= 0)
        (void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
}

static void conn_free(struct pf_conn *c)
{
    struct portfwd *pf = c->pf;
    LIST_REMOVE(c, link);
    pf->n_conns--;
    hv_vsock_cancel(c->req);
    c->head_timer = loop_source_free(c->head_timer);
    if (c->relay)
        duplex_relay_free(c->relay); /* closes both fds */
    else
        safe_close(c->tcp_fd);
    free(c);
    accept_resume(pf);
}

static void relay_done(struct duplex_relay *r, int status, void *data)
{
    struct pf_conn *c = data;
    if (status < 0 && c->guest_status > 0)
        log_info("sandbox %s: forward to guest 127.0.0.1:%u: the guest's dial failed: %s",
                 c->pf->id, c->port, strerror(c->guest_status));
    else if (status < 0)
        log_warn("sandbox %s: forward to guest 127.0.0.1:%u ended: %s", c->pf->id, c->port,
                 status == -EPROTO ? "bad or missing reply from the agent" : strerror(-status));
    if (status < 0)
        reset_tcp(c);
    else
        log_debug("sandbox %s: forward to guest 127.0.0.1:%u done: %llu bytes in, %llu out",
                  c->pf->id, c->port, (unsigned long long)duplex_relay_bytes(r, 0),
                  (unsigned long long)duplex_relay_bytes(r, 1));
    conn_free(c);
}

/* The agent's reply: 0 = it connected in the guest, else its errno (the relay ends). */
static int reply_head(const uint8_t *p, size_t n, void *data)
{
    struct pf_conn *c = data;
    int st = 0, r = portfwd_reply_parse(p, n, &st);
    c->head_timer = loop_source_free(c->head_timer);
    if (r < 0)
        return -EPROTO;
    c->guest_status = st;
    return st ? -st : 0;
}

static void head_timeout(struct loop_source *s, void *data)
{
    struct pf_conn *c = data;
    (void)s;
    log_warn("sandbox %s: forward to guest 127.0.0.1:%u: no reply from the agent in %u ms",
             c->pf->id, c->port, PORTFWD_HEAD_TIMEOUT_MS);
    reset_tcp(c);
    conn_free(c);
}

static void vsock_connected(struct hv_vm *vm, int r, int fd, void *data)
{
    struct pf_conn *c = data;
    uint8_t hdr[PORTFWD_REQ_LEN];
    (void)vm;
    c->req = NULL;
    if (r < 0) {
        log_warn("sandbox %s: forward to guest 127.0.0.1:%u: vsock connect: %s", c->pf->id, c->port,
                 strerror(-r));
        reset_tcp(c);
        conn_free(c);
        return;
    }
    portfwd_req_encode(c->port, hdr);
    r = duplex_relay_new(c->pf->l, c->tcp_fd, fd, PORTFWD_BUF, relay_done, c, &c->relay);
    if (r == 0) {
        c->tcp_fd = -EBADF; /* the relay's now */
        r = duplex_relay_send_b(c->relay, hdr, sizeof(hdr));
        if (r == 0)
            r = duplex_relay_expect_b(c->relay, PORTFWD_REPLY_LEN, reply_head);
        if (r == 0)
            r = loop_add_timer(c->pf->l, PORTFWD_HEAD_TIMEOUT_MS * 1000ull, head_timeout, c,
                               &c->head_timer);
    } else {
        safe_close(fd);
    }
    if (r < 0) {
        log_warn("sandbox %s: forward to guest 127.0.0.1:%u: %s", c->pf->id, c->port, strerror(-r));
        conn_free(c);
    }
}

static void on_accept(struct loop_source *s, int fd, uint32_t revents, void *data)
{
    struct portfwd *pf = data;
    (void)revents;
    while (pf->n_conns < PORTFWD_MAX_CONNS) {
        struct sockaddr_in la;
        socklen_t ll = sizeof(la);
        int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0) {
            if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
                log_warn("sandbox %s: port-forward accept: %m", pf->id);
            return;
        }
        /* sk_lookup keeps the destination: our socket's local address is what was dialled */
        if (getsockname(cfd, (struct sockaddr *)&la, &ll) < 0 || la.sin_family != AF_INET ||
            ntohs(la.sin_port) == 0) {
            safe_close(cfd);
            continue;
        }
        struct pf_conn *c = calloc(1, sizeof(*c));
        struct hv_vm *vm = pf->vm_of(pf->data);
        if (!c || !vm) {
            struct linger lg = {.l_onoff = 1, .l_linger = 0}; /* reset: the dial "fails" */
            if (!vm)
                log_warn("sandbox %s: port forward to %u: the VM is not running", pf->id,
                         ntohs(la.sin_port));
            (void)setsockopt(cfd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
            free(c);
            safe_close(cfd);
            continue;
        }
        *c = (struct pf_conn){
            .pf = pf, .tcp_fd = cfd, .port = ntohs(la.sin_port), .guest_status = -1};
        LIST_INSERT_HEAD(&pf->conns, c, link);
        pf->n_conns++;
        pf->n_total++;
        struct cvm_err err = {0};
        if (hv_vsock_connect(vm, AGENT_PORTFWD_PORT, PORTFWD_HEAD_TIMEOUT_MS, vsock_connected, c,
                             &c->req, &err) < 0) {
            log_warn("sandbox %s: forward to %u: %s", pf->id, c->port, err.msg);
            c->req = NULL;
            conn_free(c);
            continue;
        }
        log_debug("sandbox %s: forwarding a connection to guest 127.0.0.1:%u", pf->id, c->port);
    }
    /* at the cap: leave the rest in the backlog until a connection ends */
    (void)loop_io_set_events(s, 0);
}

/* A listening TCP socket made inside netns_fd (setns there and straight back). */
static int listen_in(int netns_fd, struct cvm_err *err)
{
    _cleanup_close_ int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd, r = 0;
    if (self < 0)
        return cvm_err_set(err, -errno, "open our network namespace: %m");
    if (setns(netns_fd, CLONE_NEWNET) < 0)
        return cvm_err_set(err, -errno, "enter the pod network namespace: %m");
    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        r = -errno;
    if (setns(self, CLONE_NEWNET) < 0) {
        log_error("cannot return to our network namespace: %m");
        abort(); /* carrying on in the pod's netns would put everything else of ours there */
    }
    if (r < 0)
        return cvm_err_set(err, r, "socket in the pod netns: %s", strerror(-r));
    /* port 0: the kernel picks one; nobody dials it (every 127.0.0.1 port lands here anyway) */
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 128) < 0) {
        r = -errno;
        safe_close(fd);
        return cvm_err_set(err, r, "listening in the pod netns: %s", strerror(-r));
    }
    return fd;
}

static bool same_netns_as_us(int netns_fd)
{
    struct stat a, b;
    return fstat(netns_fd, &a) == 0 && stat("/proc/thread-self/ns/net", &b) == 0 &&
           a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

int portfwd_start(struct loop *l, int netns_fd, const char *id, struct hv_vm *(*vm_of)(void *),
                  void *data, struct portfwd **ret, struct cvm_err *err)
{
    struct portfwd *pf;
    int r;
    if (same_netns_as_us(netns_fd))
        return cvm_err_set(err, -EPERM,
                           "the sandbox netns is the shim's own: no port forwarding "
                           "(steering it would capture the host's 127.0.0.1)");
    pf = calloc(1, sizeof(*pf));
    if (!pf)
        return cvm_err_set(err, -ENOMEM, "out of memory");
    *pf = (struct portfwd){
        .l = l, .listen_fd = -EBADF, .link_fd = -EBADF, .vm_of = vm_of, .data = data};
    snprintf(pf->id, sizeof(pf->id), "%s", id);
    LIST_INIT(&pf->conns);
    r = pf->listen_fd = listen_in(netns_fd, err);
    if (r >= 0)
        r = pf->link_fd = portfwd_steer_attach(netns_fd, pf->listen_fd, err);
    if (r >= 0 && (r = loop_add_io(l, pf->listen_fd, EPOLLIN, on_accept, pf, &pf->accept_src)) < 0)
        cvm_err_set(err, r, "loop");
    if (r < 0) {
        portfwd_stop(pf);
        return r;
    }
    *ret = pf;
    return 0;
}

void portfwd_stop(struct portfwd *pf)
{
    if (!pf)
        return;
    pf->accept_src = loop_source_free(pf->accept_src);
    while (!LIST_EMPTY(&pf->conns))
        conn_free(LIST_FIRST(&pf->conns));
    pf->link_fd = safe_close(pf->link_fd);
    pf->listen_fd = safe_close(pf->listen_fd);
    if (pf->n_total)
        log_info("sandbox %s: port forwarding stopped after %llu connection(s)", pf->id,
                 (unsigned long long)pf->n_total);
    free(pf);
}
