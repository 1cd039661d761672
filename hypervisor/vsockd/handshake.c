/* "CONNECT <port>\n" parsing (see handshake.h). */
#include "handshake.h"

#include <errno.h>
#include <string.h>

int handshake_parse(const char *buf, size_t len, uint32_t *port)
{
    static const char verb[] = "CONNECT ";
    const char *nl = memchr(buf, '\n', len < HANDSHAKE_MAX_LINE ? len : HANDSHAKE_MAX_LINE);
    const char *p;
    uint64_t v = 0;
    size_t line;

    if (!nl)
        return len >= HANDSHAKE_MAX_LINE ? -EINVAL : 0;
    line = (size_t)(nl - buf) + 1;
    if (line < sizeof(verb) + 1 || memcmp(buf, verb, sizeof(verb) - 1) != 0)
        return -EINVAL;
    p = buf + sizeof(verb) - 1;
    if (*p == '\n' || *p == '\r')
        return -EINVAL;
    for (; p < nl; p++) {
        if (*p == '\r' && p + 1 == nl) /* tolerate "\r\n" from line-oriented clients */
            break;
        if (*p < '0' || *p > '9')
            return -EINVAL;
        v = v * 10 + (uint64_t)(*p - '0');
        if (v > UINT32_MAX)
            return -EINVAL;
    }
    *port = (uint32_t)v;
    return (int)line;
}
