/* Fuzz the /proc/PID/maps scans (hypervisor/proc_maps.h), file-backed and by name: every
 * stored range is non-empty, never more stored than room, and the count is the same with no
 * room. */
#include <stdint.h>

#include "proc_maps.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct proc_maps_range r[4];
    size_t n = proc_maps_file_backed((const char *)data, size, r, 4);
    for (size_t i = 0; i < (n < 4 ? n : 4); i++)
        if (r[i].end <= r[i].start)
            __builtin_trap();
    if (proc_maps_file_backed((const char *)data, size, NULL, 0) != n)
        __builtin_trap();
    struct proc_maps_mapping m[4];
    size_t k = proc_maps_named((const char *)data, size, "rw-s", "/memfd:tcg-jit (deleted)", m, 4);
    for (size_t i = 0; i < (k < 4 ? k : 4); i++)
        if (m[i].range.end <= m[i].range.start)
            __builtin_trap();
    if (proc_maps_named((const char *)data, size, "rw-s", "/memfd:tcg-jit (deleted)", NULL, 0) != k)
        __builtin_trap();
    return 0;
}
