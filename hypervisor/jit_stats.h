/* PURE: QEMU's TCG translation-cache figures, read from the text of QMP x-query-jit (QEMU 7.2
 * prints "gen code size USED/CAPACITY" and "TB flush count N" among other lines). The text
 * comes from QEMU, which a guest that escaped into it controls: every number is bounded and
 * a text without both lines is refused. */
#ifndef CVM_JIT_STATS_H
#define CVM_JIT_STATS_H

#include <stddef.h>
#include <stdint.h>

struct jit_stats {
    uint64_t code_used;     /* bytes of generated host code in the cache now */
    uint64_t code_capacity; /* bytes the cache holds (tb-size less QEMU's reserve) */
    uint64_t flushes;       /* times the whole cache was dropped since QEMU started */
};

/* Parse text (len bytes, need not be NUL-terminated). 0 with *out filled; -EPROTO when either
 * line is missing or malformed, a number has more than 15 digits, or used > capacity. The
 * first occurrence of each line counts. */
int jit_stats_parse(const char *text, size_t len, struct jit_stats *out);

#endif
