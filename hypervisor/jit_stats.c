/* QEMU's x-query-jit text -> struct jit_stats. See jit_stats.h. */
#include "jit_stats.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

/* 15 digits: far above any cache size or count, far below overflow. */
#define MAX_DIGITS 15

/* Digits at p (within end): the value and the first byte after them; NULL if none or too many. */
static const char *number(const char *p, const char *end, uint64_t *v)
{
    const char *start = p;
    *v = 0;
    while (p < end && *p >= '0' && *p <= '9') {
        if (p - start == MAX_DIGITS)
            return NULL;
        *v = *v * 10 + (uint64_t)(*p - '0');
        p++;
    }
    return p == start ? NULL : p;
}

/* The line starting at p (up to eol) is `label` then spaces then a value: the value's start,
 * or NULL when the line is another one. */
static const char *after_label(const char *p, const char *eol, const char *label)
{
    size_t n = strlen(label);
    if ((size_t)(eol - p) <= n || memcmp(p, label, n) != 0 || p[n] != ' ')
        return NULL;
    p += n;
    while (p < eol && *p == ' ')
        p++;
    return p;
}

int jit_stats_parse(const char *text, size_t len, struct jit_stats *out)
{
    const char *p = text, *end = text + len;
    bool have_size = false, have_flush = false;
    struct jit_stats st = {0};
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p)), *v;
        if (!eol)
            eol = end;
        if (!have_size && (v = after_label(p, eol, "gen code size"))) {
            if (!(v = number(v, eol, &st.code_used)) || v == eol || *v != '/' ||
                !(v = number(v + 1, eol, &st.code_capacity)) || v != eol)
                return -EPROTO;
            have_size = true;
        } else if (!have_flush && (v = after_label(p, eol, "TB flush count"))) {
            if (!(v = number(v, eol, &st.flushes)) || v != eol)
                return -EPROTO;
            have_flush = true;
        }
        if (eol == end)
            break;
        p = eol + 1;
    }
    if (!have_size || !have_flush || st.code_used > st.code_capacity)
        return -EPROTO;
    *out = st;
    return 0;
}
