/* Port-forward stream headers (portfwd_wire.h). */
#include "portfwd_wire.h"

#include <errno.h>

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8),
    p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void portfwd_req_encode(uint16_t port, uint8_t out[PORTFWD_REQ_LEN])
{
    put32(out, PORTFWD_REQ_MAGIC);
    out[4] = PORTFWD_VERSION;
    out[5] = 0;
    out[6] = (uint8_t)(port >> 8);
    out[7] = (uint8_t)port;
}

int portfwd_req_parse(const uint8_t *p, size_t n, uint16_t *port)
{
    if (n < PORTFWD_REQ_LEN)
        return -EAGAIN;
    if (get32(p) != PORTFWD_REQ_MAGIC)
        return -EINVAL;
    if (p[4] != PORTFWD_VERSION)
        return -EPROTONOSUPPORT;
    uint16_t v = (uint16_t)(p[6] << 8 | p[7]);
    if (p[5] != 0 || v == 0)
        return -EINVAL;
    *port = v;
    return 0;
}

void portfwd_reply_encode(int status, uint8_t out[PORTFWD_REPLY_LEN])
{
    if (status < 0)
        status = -status;
    if (status > (int)PORTFWD_STATUS_MAX)
        status = EIO;
    put32(out, PORTFWD_REPLY_MAGIC);
    put32(out + 4, (uint32_t)status);
}

int portfwd_reply_parse(const uint8_t *p, size_t n, int *status)
{
    if (n < PORTFWD_REPLY_LEN)
        return -EAGAIN;
    if (get32(p) != PORTFWD_REPLY_MAGIC)
        return -EINVAL;
    uint32_t v = get32(p + 4);
    if (v > PORTFWD_STATUS_MAX)
        return -EINVAL;
    *status = (int)v;
    return 0;
}
