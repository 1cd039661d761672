/* Encode/decode of the pool's control messages (pool_wire.h). */
#include <errno.h>
#include <string.h>

#include "pool/pool_wire.h"

#define MAGIC "CVMP"
#define MAX_FIELDS 8

struct field {
    char *s;
    size_t cap;
};

/* The fields of m's type in wire order; the debug flag travels as "0"/"1" (dbg). */
static size_t fields_of(struct pool_msg *m, char *dbg, struct field *f)
{
    size_t n = 0;
#define F(x, c) (f[n].s = (x), f[n].cap = (c), n++)
    switch (m->type) {
    case POOL_MSG_HELLO: F(m->version, sizeof(m->version)); break;
    case POOL_MSG_CLAIM:
        F(m->version, sizeof(m->version));
        F(m->ns, sizeof(m->ns));
        F(m->id, sizeof(m->id));
        F(m->bundle, sizeof(m->bundle));
        F(m->address, sizeof(m->address));
        F(m->ttrpc_address, sizeof(m->ttrpc_address));
        F(m->publish_binary, sizeof(m->publish_binary));
        F(dbg, 2);
        break;
    case POOL_MSG_EXIT:
    case POOL_MSG_OK: break;
    case POOL_MSG_ERR: F(m->message, sizeof(m->message)); break;
    }
#undef F
    return n;
}

static bool known_type(unsigned t)
{
    return t >= POOL_MSG_HELLO && t <= POOL_MSG_ERR;
}

int pool_msg_encode(const struct pool_msg *m, uint8_t *buf, size_t n)
{
    struct pool_msg tmp = *m; /* fields_of hands out writable pointers */
    struct field f[MAX_FIELDS];
    char dbg[2] = {m->debug ? '1' : '0', 0};
    size_t nf, off = 5;

    if (!known_type(m->type))
        return -EINVAL;
    if (n < off)
        return -ENOBUFS;
    memcpy(buf, MAGIC, 4);
    buf[4] = (uint8_t)m->type;
    nf = fields_of(&tmp, dbg, f);
    for (size_t i = 0; i < nf; i++) {
        size_t len = strnlen(f[i].s, f[i].cap);
        if (len >= f[i].cap)
            return -EINVAL;
        if (n - off < 2 + len)
            return -ENOBUFS;
        buf[off] = (uint8_t)(len & 0xff);
        buf[off + 1] = (uint8_t)(len >> 8);
        memcpy(buf + off + 2, f[i].s, len);
        off += 2 + len;
    }
    return (int)off;
}

int pool_msg_decode(const uint8_t *buf, size_t n, struct pool_msg *m)
{
    struct field f[MAX_FIELDS];
    char dbg[2] = "";
    size_t nf, off = 5;

    memset(m, 0, sizeof(*m));
    if (!buf || n < 5 || n > POOL_MSG_MAX || memcmp(buf, MAGIC, 4) != 0 || !known_type(buf[4]))
        return -EBADMSG;
    m->type = (enum pool_msg_type)buf[4];
    nf = fields_of(m, dbg, f);
    for (size_t i = 0; i < nf; i++) {
        size_t len;
        if (n - off < 2)
            return -EBADMSG;
        len = (size_t)buf[off] | ((size_t)buf[off + 1] << 8);
        off += 2;
        if (len >= f[i].cap || n - off < len || memchr(buf + off, 0, len))
            return -EBADMSG;
        memcpy(f[i].s, buf + off, len);
        f[i].s[len] = 0;
        off += len;
    }
    if (off != n)
        return -EBADMSG;
    if (m->type == POOL_MSG_CLAIM) {
        if (strcmp(dbg, "0") != 0 && strcmp(dbg, "1") != 0)
            return -EBADMSG;
        m->debug = dbg[0] == '1';
    }
    return 0;
}
