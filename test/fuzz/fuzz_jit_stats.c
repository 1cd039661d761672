/* Fuzz QEMU's x-query-jit text parser (hypervisor/jit_stats.h): a parsed result never has
 * more in use than the capacity, and parsing the same bytes twice gives the same answer. */
#include <stdint.h>
#include <string.h>

#include "jit_stats.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct jit_stats a, b;
    int r = jit_stats_parse((const char *)data, size, &a);
    if (r == 0 && a.code_used > a.code_capacity)
        __builtin_trap();
    if (jit_stats_parse((const char *)data, size, &b) != r || (r == 0 && memcmp(&a, &b, sizeof(a))))
        __builtin_trap();
    return 0;
}
