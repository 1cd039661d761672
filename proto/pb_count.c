/* See pb_count.h. */
#include "pb_count.h"

#include <errno.h>

/* Read a varint of at most 10 bytes at *pos; -EBADMSG when truncated or too long. */
static int read_varint(const uint8_t *buf, size_t len, size_t *pos, uint64_t *out)
{
    uint64_t v = 0;
    for (unsigned shift = 0, i = 0; i < 10; i++, shift += 7) {
        if (*pos >= len)
            return -EBADMSG;
        uint8_t b = buf[(*pos)++];
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return -EBADMSG;
}

long pb_count_field(const uint8_t *buf, size_t len, uint32_t field)
{
    size_t pos = 0;
    long n = 0;

    if (!buf && len)
        return -EBADMSG;
    while (pos < len) {
        uint64_t key, v;
        if (read_varint(buf, len, &pos, &key) < 0 || (key >> 3) == 0 || (key >> 3) > 0x1fffffff)
            return -EBADMSG;
        switch (key & 7) {
        case 0: /* varint */
            if (read_varint(buf, len, &pos, &v) < 0)
                return -EBADMSG;
            break;
        case 1: /* 64-bit */
            if (len - pos < 8)
                return -EBADMSG;
            pos += 8;
            break;
        case 2: /* length-delimited */
            if (read_varint(buf, len, &pos, &v) < 0 || v > len - pos)
                return -EBADMSG;
            pos += (size_t)v;
            break;
        case 5: /* 32-bit */
            if (len - pos < 4)
                return -EBADMSG;
            pos += 4;
            break;
        default: /* groups (3, 4) are not in proto3; 6, 7 do not exist */ return -EBADMSG;
        }
        if ((uint32_t)(key >> 3) == field)
            n++;
    }
    return n;
}
