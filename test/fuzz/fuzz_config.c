/* Fuzz the runtime config parser and the annotation overrides. */
#include <stdint.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cfg c;
    struct cvm_err err = { 0 };
    char val[256];
    const char *keys[] = { CFG_ANN_VCPUS, CFG_ANN_MEMORY, CFG_ANN_KARGS };
    const char *vals[] = { val, val, val };
    size_t n = size < sizeof(val) - 1 ? size : sizeof(val) - 1;

    cfg_defaults(&c);
    if (cfg_parse(&c, (const char *)data, size, &err) == 0) {
        /* invariants of an accepted config */
        if (c.vcpus < CFG_VCPUS_MIN || c.vcpus > CFG_VCPUS_MAX || c.memory_mib < CFG_MEMORY_MIN ||
            cfg_check_kernel_args(c.kernel_args) < 0 || (c.kernel[0] && c.kernel[0] != '/'))
            __builtin_trap();
        /* the operator's bounds hold for the operator's sizes; only known annotations allowed */
        if ((c.max_vcpus && c.vcpus > c.max_vcpus) || (c.max_memory_mib && c.memory_mib > c.max_memory_mib) ||
            (c.allowed_annotations & ~(CFG_ALLOW_VCPUS | CFG_ALLOW_MEMORY | CFG_ALLOW_KARGS)))
            __builtin_trap();
    }
    memcpy(val, data, n);
    val[n] = 0;
    memset(&err, 0, sizeof(err));
    (void)cfg_apply_annotations(&c, keys, vals, 3, &err);
    if (cfg_check_kernel_args(c.kernel_args) < 0)
        __builtin_trap();
    return 0;
}
