/* Fuzz the uid range parser and the /proc status Uid scan (hypervisor/uid_range.h). */
#include <stdint.h>
#include <string.h>

#include "uid_range.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct uid_range r = {0, 0};
    if (uid_range_parse((const char *)data, size, &r) == 0) {
        /* invariants of an accepted range, and of the order over it */
        if (r.first == 0 || r.first > r.last || r.last == UINT32_MAX)
            __builtin_trap();
        for (uint64_t i = 0; i < 4; i++) {
            uint32_t u = uid_range_nth(&r, (uint32_t)size * 2654435761u, i);
            if (u < r.first || u > r.last)
                __builtin_trap();
        }
    }
    int h = uid_range_status_has_uid((const char *)data, size, (uint32_t)size);
    if (h < -22 || h > 1)
        __builtin_trap();
    return 0;
}
