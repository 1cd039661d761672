/* virtio-vsock header codec, packet checks and credit arithmetic (see vsock_pkt.h). */
#include "vsock_pkt.h"

#include <endian.h>
#include <string.h>

void vsock_hdr_decode(const uint8_t raw[VSOCK_HDR_LEN], struct vsock_hdr *h)
{
    uint64_t u64;
    uint32_t u32;
    uint16_t u16;
#define GET(field, type, conv, off)                                                                \
    do {                                                                                           \
        memcpy(&type, raw + (off), sizeof(type));                                                  \
        h->field = conv(type);                                                                     \
    } while (0)
    GET(src_cid, u64, le64toh, 0);
    GET(dst_cid, u64, le64toh, 8);
    GET(src_port, u32, le32toh, 16);
    GET(dst_port, u32, le32toh, 20);
    GET(len, u32, le32toh, 24);
    GET(type, u16, le16toh, 28);
    GET(op, u16, le16toh, 30);
    GET(flags, u32, le32toh, 32);
    GET(buf_alloc, u32, le32toh, 36);
    GET(fwd_cnt, u32, le32toh, 40);
#undef GET
}

void vsock_hdr_encode(const struct vsock_hdr *h, uint8_t raw[VSOCK_HDR_LEN])
{
    uint64_t u64;
    uint32_t u32;
    uint16_t u16;
#define PUT(field, type, conv, off)                                                                \
    do {                                                                                           \
        type = conv(h->field);                                                                     \
        memcpy(raw + (off), &type, sizeof(type));                                                  \
    } while (0)
    PUT(src_cid, u64, htole64, 0);
    PUT(dst_cid, u64, htole64, 8);
    PUT(src_port, u32, htole32, 16);
    PUT(dst_port, u32, htole32, 20);
    PUT(len, u32, htole32, 24);
    PUT(type, u16, htole16, 28);
    PUT(op, u16, htole16, 30);
    PUT(flags, u32, htole32, 32);
    PUT(buf_alloc, u32, htole32, 36);
    PUT(fwd_cnt, u32, htole32, 40);
#undef PUT
}

enum vsock_verdict vsock_hdr_check(const struct vsock_hdr *h, uint64_t guest_cid,
                                   size_t payload_avail)
{
    /* A guest spoofing another CID, or talking to anyone but the host, is ignored: answering
     * would let it aim our RSTs at connections it does not own. */
    if (h->src_cid != guest_cid || h->dst_cid != VSOCK_HOST_CID)
        return VSOCK_PKT_DROP;
    if (h->op == VSOCK_OP_RST)
        return h->type == VSOCK_TYPE_STREAM ? VSOCK_PKT_OK : VSOCK_PKT_DROP;
    if (h->type != VSOCK_TYPE_STREAM)
        return VSOCK_PKT_RST;
    switch (h->op) {
    case VSOCK_OP_RW:
        if (h->len == 0 || h->len > VSOCK_MAX_PAYLOAD || h->len > payload_avail)
            return VSOCK_PKT_RST;
        return VSOCK_PKT_OK;
    case VSOCK_OP_REQUEST:
    case VSOCK_OP_RESPONSE:
    case VSOCK_OP_CREDIT_UPDATE:
    case VSOCK_OP_CREDIT_REQUEST: return h->len == 0 ? VSOCK_PKT_OK : VSOCK_PKT_RST;
    case VSOCK_OP_SHUTDOWN:
        if (h->len != 0 || (h->flags & ~(VSOCK_SHUTDOWN_RCV | VSOCK_SHUTDOWN_SEND)))
            return VSOCK_PKT_RST;
        return VSOCK_PKT_OK;
    default: return VSOCK_PKT_RST;
    }
}

const char *vsock_op_name(uint16_t op)
{
    static const char *const names[] = {"INVALID",  "REQUEST", "RESPONSE",      "RST",
                                        "SHUTDOWN", "RW",      "CREDIT_UPDATE", "CREDIT_REQUEST"};
    return op < sizeof(names) / sizeof(names[0]) ? names[op] : "UNKNOWN";
}

void vsock_credit_init(struct vsock_credit *c, uint32_t buf_alloc)
{
    memset(c, 0, sizeof(*c));
    c->buf_alloc = buf_alloc;
}

void vsock_credit_from_peer(struct vsock_credit *c, uint32_t buf_alloc, uint32_t fwd_cnt)
{
    c->peer_buf_alloc = buf_alloc;
    c->peer_fwd_cnt = fwd_cnt;
}

uint32_t vsock_credit_peer_free(const struct vsock_credit *c)
{
    /* Counters wrap at 2^32 by design; their difference is the bytes in flight. */
    uint32_t in_flight = c->tx_cnt - c->peer_fwd_cnt;
    if (in_flight > c->peer_buf_alloc)
        return 0;
    return c->peer_buf_alloc - in_flight;
}

void vsock_credit_sent(struct vsock_credit *c, uint32_t n)
{
    c->tx_cnt += n;
}

bool vsock_credit_rx_fits(const struct vsock_credit *c, size_t held, size_t len)
{
    return held <= c->buf_alloc && len <= c->buf_alloc - held;
}

void vsock_credit_forwarded(struct vsock_credit *c, uint32_t n)
{
    c->fwd_cnt += n;
}

void vsock_credit_stamp(struct vsock_credit *c, struct vsock_hdr *h)
{
    h->buf_alloc = c->buf_alloc;
    h->fwd_cnt = c->fwd_cnt;
    c->fwd_cnt_adv = c->fwd_cnt;
}

bool vsock_credit_update_due(const struct vsock_credit *c)
{
    /* The guest stalls only when it has buf_alloc bytes unacknowledged; telling it after every
     * quarter keeps it streaming without a control packet per data packet. */
    return (uint32_t)(c->fwd_cnt - c->fwd_cnt_adv) >= c->buf_alloc / 4;
}
