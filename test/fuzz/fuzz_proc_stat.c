/* Fuzz the /proc/PID/stat CPU time parser (hypervisor/proc_stat.h): it answers the same for the
 * same bytes, and a refusal leaves the result untouched. */
#include <stdint.h>

#include "proc_stat.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t a = 7, b = 7;
    int r = proc_stat_cpu_ticks((const char *)data, size, &a);
    if (r != 0 && a != 7)
        __builtin_trap();
    if (proc_stat_cpu_ticks((const char *)data, size, &b) != r || a != b)
        __builtin_trap();
    return 0;
}
