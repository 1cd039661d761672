/* Pure parts of the sandbox uid range. See uid_range.h. */
#include "uid_range.h"

#include <errno.h>
#include <string.h>

/* Decimal without sign or redundant leading zero, < 2^32; *end after the last digit. */
static int parse_u32(const char *s, const char *end, const char **stop, uint32_t *ret)
{
    uint64_t v = 0;
    const char *p = s;
    for (; p < end && *p >= '0' && *p <= '9'; p++) {
        v = v * 10 + (uint64_t)(*p - '0');
        if (v > UINT32_MAX)
            return -EINVAL;
    }
    if (p == s || (p - s > 1 && *s == '0'))
        return -EINVAL;
    *stop = p;
    *ret = (uint32_t)v;
    return 0;
}

int uid_range_parse(const char *s, size_t len, struct uid_range *r)
{
    const char *end = s + len, *p;
    uint32_t a, b;
    if (!s || len == 0 || len >= UID_RANGE_MAX_LEN || memchr(s, '\0', len))
        return -EINVAL;
    if (parse_u32(s, end, &p, &a) < 0 || p == end || *p != '-' ||
        parse_u32(p + 1, end, &p, &b) < 0 || p != end)
        return -EINVAL;
    if (a == 0 || a > b || b == UINT32_MAX)
        return -EINVAL;
    r->first = a;
    r->last = b;
    return 0;
}

uint64_t uid_range_size(const struct uid_range *r)
{
    return (uint64_t)r->last - r->first + 1;
}

uint32_t uid_range_nth(const struct uid_range *r, uint32_t seed, uint64_t i)
{
    uint64_t n = uid_range_size(r);
    return r->first + (uint32_t)(((uint64_t)seed % n + i % n) % n);
}

uint32_t uid_range_seed(const char *id)
{
    uint32_t h = 2166136261u;
    for (; id && *id; id++)
        h = (h ^ (uint8_t)*id) * 16777619u;
    return h;
}

int uid_range_status_has_uid(const char *status, size_t n, uint32_t uid)
{
    const char *end = status + n, *p = status;
    /* The "Uid:" line: at the start or after a newline. */
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *eol = nl ? nl : end;
        if (eol - p > 4 && memcmp(p, "Uid:", 4) == 0) {
            int found = 0, count = 0;
            p += 4;
            while (p < eol) {
                uint32_t v;
                const char *q;
                while (p < eol && (*p == '\t' || *p == ' '))
                    p++;
                if (p == eol)
                    break;
                if (parse_u32(p, eol, &q, &v) < 0 || (q < eol && *q != '\t' && *q != ' '))
                    return -EINVAL;
                found |= v == uid;
                count++;
                p = q;
            }
            return count == 4 ? found : -EINVAL;
        }
        p = nl ? nl + 1 : end;
    }
    return -EINVAL;
}
