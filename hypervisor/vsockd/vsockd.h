/* cvm-vsockd internals shared by the connection table (conn.c), the virtio-vsock device
 * logic (dev.c) and main.c. One process serves one guest; everything runs on one loop. */
#ifndef CVM_VSOCKD_VSOCKD_H
#define CVM_VSOCKD_VSOCKD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/un.h>

#include "buf.h"
#include "loop.h"
#include "vsock_pkt.h"
#include "vu_dev.h"

#define VSOCKD_BUF_ALLOC (256u * 1024) /* per-connection guest→host buffer we advertise */
#define VSOCKD_MAX_CONNS 1024
#define VSOCKD_RST_QUEUE 256
#define VSOCKD_HASH 256
#define VSOCKD_CONNECT_TIMEOUT_NS (5ull * 1000000000)
#define VSOCKD_CLOSE_TIMEOUT_NS (3ull * 1000000000)
#define VSOCKD_FIRST_HOST_PORT (1u << 30)

enum conn_state {
    CONN_HANDSHAKE,  /* host client accepted, waiting for "CONNECT <port>\n" */
    CONN_CONNECTING, /* REQUEST queued or sent to the guest, waiting for RESPONSE */
    CONN_ESTABLISHED,
    CONN_CLOSING, /* host side gone, SHUTDOWN sent, waiting for the guest's RST */
};

/* Control packets a connection owes the guest, one bit per op (sent before data). */
#define PEND(op) (1u << (op))

struct vsockd;

struct conn {
    struct vsockd *d;
    enum conn_state state;
    uint32_t host_port, guest_port;
    int fd;
    struct loop_source *src; /* NULL once the unix peer hung up (HUP cannot be masked) */
    struct buf out;          /* guest→host bytes the unix socket has not taken yet */
    struct vsock_credit cr;
    unsigned pending;
    uint32_t shut_flags;             /* flags of the pending SHUTDOWN */
    bool readable;                   /* unix side may have bytes (or EOF) for the guest */
    bool rd_eof;                     /* read returned 0: host sends no more */
    bool hup;                        /* unix peer closed both directions */
    bool peer_no_send, peer_no_recv; /* guest's SHUTDOWN flags */
    bool wr_shut;                    /* shutdown(SHUT_WR) done on the unix socket */
    bool in_hash, in_ctrl, in_rx;
    uint64_t deadline_ns;
    TAILQ_ENTRY(conn) link_all, link_hash, link_ctrl, link_rx;
};

TAILQ_HEAD(conn_list, conn);

struct rst_entry {
    uint32_t host_port, guest_port;
};

struct vsockd {
    struct loop *loop;
    struct vu_dev *vu;
    uint64_t guest_cid;
    char uds_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    struct conn_list all, ctrl, rx;
    struct conn_list hash[VSOCKD_HASH];
    unsigned n_conns;
    struct rst_entry rst[VSOCKD_RST_QUEUE];
    unsigned rst_head, rst_n;
    uint32_t next_port;
    bool rx_scheduled, tx_scheduled;
    /* dev.c's vsockd_schedule_rx, given at vsockd_init: the connections (conn.c) ask the rx pump
     * for a look through it, never by calling up into dev.c */
    void (*schedule_rx)(struct vsockd *d);
    struct loop_source *timer;
    bool timer_armed;
    unsigned long long stat_rx_bytes, stat_tx_bytes, stat_rst_dropped;
};

/* conn.c: table and unix side. */
void vsockd_init(struct vsockd *d, struct loop *l, uint64_t guest_cid,
                 void (*schedule_rx)(struct vsockd *d));
int conn_accept_host(struct vsockd *d, int fd);
int conn_connect_guest(struct vsockd *d, const struct vsock_hdr *h);
struct conn *conn_lookup(struct vsockd *d, uint32_t host_port, uint32_t guest_port);
void conn_destroy(struct conn *c);
/* RST to the guest, then destroy. */
void conn_reset(struct conn *c);
void conn_queue(struct conn *c, enum vsock_op op);
void conn_update_rx(struct conn *c);
/* Host side fully gone: SHUTDOWN both ways to the guest and wait (bounded) for its RST. */
void conn_enter_closing(struct conn *c);
void conn_update_events(struct conn *c);
/* Push buffered guest bytes to the unix socket and run the close transitions that depend on
 * the buffer being empty. Returns false when the connection was destroyed. */
bool conn_flush(struct conn *c);
/* Connection established on the guest's RESPONSE: tell the host client. */
bool conn_established(struct conn *c);
/* Forward guest payload; false when the connection was destroyed. */
bool conn_write_guest_data(struct conn *c, const struct iovec *iov, unsigned n, size_t len);
void conn_shutdown_all(struct vsockd *d);
void vsockd_queue_rst(struct vsockd *d, uint32_t host_port, uint32_t guest_port);
void vsockd_arm_timer(struct vsockd *d);
int vsockd_timer_init(struct vsockd *d);

/* dev.c: rx/tx processing. */
void vsockd_schedule_rx(struct vsockd *d);
void vsockd_schedule_tx(struct vsockd *d);
extern const struct vu_dev_ops vsockd_vu_ops;

#endif
