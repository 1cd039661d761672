/* The hostile agent's writing side: frames and Response envelopes, malformed payloads, and the
 * oversized answers made of empty repeated sub-messages. */
#include "hostile_agent.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static unsigned malformed_step;

void say(const char *fmt, ...)
{
    char b[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b, sizeof(b) - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n > sizeof(b) - 2)
        n = sizeof(b) - 2;
    b[n++] = '\n';
    (void)!write(2, b, (size_t)n);
}

uint64_t boottime_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_BOOTTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- output ---- */

static void conn_update(struct conn *c);

void conn_flush(struct conn *c)
{
    while (buf_avail(&c->out) > 0) {
        long n = buf_write_fd(&c->out, c->fd);
        if (n < 0)
            break; /* EAGAIN: EPOLLOUT; an error: the read side sees it */
    }
    if (c->flood && buf_avail(&c->out) < OUT_LOW) {
        for (size_t i = 0; i < FLOOD_CHUNK; i += 4) {
            uint32_t v = (uint32_t)random();
            memcpy(flood_chunk + i, &v, 4);
        }
        (void)buf_append(&c->out, flood_chunk, FLOOD_CHUNK);
    }
    conn_update(c);
}

static void conn_update(struct conn *c)
{
    uint32_t ev = c->hung ? 0 : EPOLLIN;
    if (!c->hung && buf_avail(&c->out) > 0)
        ev |= EPOLLOUT;
    (void)loop_io_set_events(c->src, ev);
}

void send_frame(struct conn *c, uint32_t id, uint8_t type, uint8_t flags, const void *p, size_t n)
{
    if (c->hung || c->flood)
        return;
    (void)ttrpc_frame_append(&c->out, id, type, flags, p, n);
}

/* A Response frame around a payload (code 0) or a status (code != 0). */
void send_response(struct conn *c, uint32_t id, int code, const char *msg, const void *pl, size_t n)
{
    Google__Rpc__Status st = GOOGLE__RPC__STATUS__INIT;
    Ttrpc__Response resp = TTRPC__RESPONSE__INIT;
    st.code = code;
    st.message = (char *)(msg ? msg : "");
    resp.status = &st;
    if (code == 0 && n) {
        resp.payload.data = (uint8_t *)pl;
        resp.payload.len = n;
    }
    size_t len = ttrpc__response__get_packed_size(&resp);
    uint8_t *out = malloc(len ? len : 1);
    if (!out)
        return;
    ttrpc__response__pack(&resp, out);
    send_frame(c, id, TTRPC_TYPE_RESPONSE, 0, out, len);
    free(out);
    if (id > c->last_answered && (id & 1u))
        c->last_answered = id;
}

/* Broken protobuf, one of several shapes in turn. */
size_t malformed_payload(uint8_t *b)
{
    static const struct { uint8_t len, bytes[8]; } shapes[] = {
        { 2, { 0x08, 0xff } },                          /* varint cut short */
        { 3, { 0x0a, 0x7f, 0x01 } },                    /* length past the end */
        { 2, { 0x0f, 0x01 } },                          /* wire type 7 */
        { 2, { 0x00, 0x01 } },                          /* field number 0 */
        { 5, { 0x0a, 0x03, 0x0a, 0x05, 0x00 } },        /* nested length past its parent */
        { 2, { 0x0d, 0x01 } },                          /* fixed32 cut short */
        { 4, { 0x0a, 0x02, 0x08, 0x80 } },              /* nested varint cut short */
        { 8, { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } }, /* overlong tag */
    };
    unsigned i = malformed_step++ % (sizeof(shapes) / sizeof(shapes[0]));
    memcpy(b, shapes[i].bytes, shapes[i].len);
    return shapes[i].len;
}

/* The answer to a call: malformed in that mode, else the message packed. */
void reply_msg(struct conn *c, uint32_t id, const ProtobufCMessage *m)
{
    uint8_t tmp[4096] = {0}; /* send_response reads none of it when n is 0 */
    if (mode == M_MALFORMED) {
        size_t n = malformed_payload(tmp);
        send_response(c, id, 0, NULL, tmp, n);
        return;
    }
    size_t n = m ? protobuf_c_message_get_packed_size(m) : 0;
    uint8_t *p = n > sizeof(tmp) ? malloc(n) : tmp;
    if (!p)
        return;
    if (m)
        protobuf_c_message_pack(m, p);
    send_response(c, id, 0, NULL, p, n);
    if (p != tmp)
        free(p);
}

void reply_empty(struct conn *c, uint32_t id)
{
    Cvm__Agent__V1__Empty e = CVM__AGENT__V1__EMPTY__INIT;
    reply_msg(c, id, &e.base);
}

/* ---- oversized answers: empty repeated sub-messages up to just under the frame cap ---- */

static size_t put_varint(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    do {
        p[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
    return n;
}

static size_t varint_len(uint64_t v)
{
    uint8_t t[10];
    return put_varint(t, v);
}

/* `tag 00` repeated to fill `room` bytes, written at p. Returns bytes written. */
static size_t fill_repeated(uint8_t *p, uint8_t tag, size_t room)
{
    size_t n = room / 2;
    for (size_t i = 0; i < n; i++)
        p[2 * i] = tag, p[2 * i + 1] = 0;
    return 2 * n;
}

/* A length-delimited field (tag) wrapping `inner` bytes that sit at the end of the room the
 * prefix needs; returns the start. */
static uint8_t *wrap(uint8_t *inner, size_t inner_len, uint8_t tag, size_t *ret_len)
{
    size_t hl = 1 + varint_len(inner_len);
    uint8_t *start = inner - hl;
    start[0] = tag;
    put_varint(start + 1, inner_len);
    *ret_len = hl + inner_len;
    return start;
}

void reply_big_list(struct conn *c, uint32_t id)      /* ListProcessesResponse */
{
    size_t n = fill_repeated(big, 0x0a, BIG_PAYLOAD);
    send_response(c, id, 0, NULL, big, n);
}

void reply_big_oom(struct conn *c, uint32_t id)       /* WaitOOMResponse */
{
    size_t n = fill_repeated(big, 0x0a, BIG_PAYLOAD);
    send_response(c, id, 0, NULL, big, n);
}

void reply_big_stats(struct conn *c, uint32_t id)     /* StatsResponse{metrics{io{usage...}}} */
{
    size_t head = 16, len;
    size_t n = fill_repeated(big + head, 0x0a, BIG_PAYLOAD - head); /* IOEntry x N */
    uint8_t *p = wrap(big + head, n, 0x32, &len);                   /* Metrics.io = 6 */
    p = wrap(p, len, 0x0a, &len);                                   /* StatsResponse.metrics = 1 */
    send_response(c, id, 0, NULL, p, len);
}

void reply_big_status(struct conn *c, uint32_t id)    /* Status{code, details: Any x N} */
{
    size_t head = 16, len;
    size_t n = fill_repeated(big + head, 0x1a, BIG_PAYLOAD - head);
    big[head - 2] = 0x08, big[head - 1] = 13; /* code INTERNAL first */
    uint8_t *p = wrap(big + head - 2, n + 2, 0x0a, &len); /* Response.status = 1 */
    send_frame(c, id, TTRPC_TYPE_RESPONSE, 0, p, len);
}
