/* virtio-vsock packet header and credit accounting (virtio spec 1.2, 5.10.6). PURE. */
#ifndef CVM_VSOCKD_VSOCK_PKT_H
#define CVM_VSOCKD_VSOCK_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VSOCK_HDR_LEN 44
#define VSOCK_HOST_CID 2
#define VSOCK_TYPE_STREAM 1
#define VSOCK_MAX_PAYLOAD 65536u /* Linux's VIRTIO_VSOCK_MAX_PKT_BUF_SIZE */

enum vsock_op {
    VSOCK_OP_INVALID = 0,
    VSOCK_OP_REQUEST = 1,
    VSOCK_OP_RESPONSE = 2,
    VSOCK_OP_RST = 3,
    VSOCK_OP_SHUTDOWN = 4,
    VSOCK_OP_RW = 5,
    VSOCK_OP_CREDIT_UPDATE = 6,
    VSOCK_OP_CREDIT_REQUEST = 7,
};

#define VSOCK_SHUTDOWN_RCV 1u
#define VSOCK_SHUTDOWN_SEND 2u

struct vsock_hdr {
    uint64_t src_cid;
    uint64_t dst_cid;
    uint32_t src_port;
    uint32_t dst_port;
    uint32_t len;
    uint16_t type;
    uint16_t op;
    uint32_t flags;
    uint32_t buf_alloc;
    uint32_t fwd_cnt;
};

void vsock_hdr_decode(const uint8_t raw[VSOCK_HDR_LEN], struct vsock_hdr *h);
void vsock_hdr_encode(const struct vsock_hdr *h, uint8_t raw[VSOCK_HDR_LEN]);

/* Verdict on a packet the guest put on its tx queue. */
enum vsock_verdict {
    VSOCK_PKT_OK = 0,
    VSOCK_PKT_DROP, /* not addressed from this guest to the host, or an RST we must not answer */
    VSOCK_PKT_RST,  /* well addressed but malformed: answer with RST */
};

/* payload_avail: readable bytes in the chain after the header. */
enum vsock_verdict vsock_hdr_check(const struct vsock_hdr *h, uint64_t guest_cid,
                                   size_t payload_avail);

const char *vsock_op_name(uint16_t op);

/* Per-connection credit, both directions. "ours" = what the guest may send us. */
struct vsock_credit {
    uint32_t buf_alloc;      /* our receive buffer for guest→host bytes */
    uint32_t fwd_cnt;        /* guest→host bytes we have passed on to the unix socket */
    uint32_t fwd_cnt_adv;    /* fwd_cnt last told to the guest */
    uint32_t peer_buf_alloc; /* the guest's receive buffer */
    uint32_t peer_fwd_cnt;   /* bytes the guest says it has consumed */
    uint32_t tx_cnt;         /* host→guest bytes we have sent */
};

void vsock_credit_init(struct vsock_credit *c, uint32_t buf_alloc);
/* Record buf_alloc/fwd_cnt that came in a guest header. */
void vsock_credit_from_peer(struct vsock_credit *c, uint32_t buf_alloc, uint32_t fwd_cnt);
/* Bytes we may send to the guest now. A peer whose fwd_cnt runs ahead of what we sent, or
 * whose buf_alloc shrank below what is in flight, gets 0 (never a huge wrapped value). */
uint32_t vsock_credit_peer_free(const struct vsock_credit *c);
void vsock_credit_sent(struct vsock_credit *c, uint32_t n);
/* Whether len more bytes from the guest fit with `held` bytes still buffered. */
bool vsock_credit_rx_fits(const struct vsock_credit *c, size_t held, size_t len);
void vsock_credit_forwarded(struct vsock_credit *c, uint32_t n);
/* Fill buf_alloc/fwd_cnt of an outgoing header and remember fwd_cnt as advertised. */
void vsock_credit_stamp(struct vsock_credit *c, struct vsock_hdr *h);
/* Whether the guest should be told about freed space: enough was forwarded since the last
 * advertisement that a sender waiting on credit could be stalled. */
bool vsock_credit_update_due(const struct vsock_credit *c);

#endif
