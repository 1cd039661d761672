/* Fuzz annotation sets as a spec carries them: any number of keys and values (NUL-separated
 * "key=value" records), io.containerd.cvm.* or not, in any order. Invariants of an accepted
 * set: the values are in range; a rejected set leaves the config untouched. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cfg c, before;
    struct cvm_err err = {0};
    char *buf = malloc(size + 1);
    const char **keys = calloc(size / 2 + 1, sizeof(*keys));
    const char **vals = calloc(size / 2 + 1, sizeof(*vals));
    size_t n = 0;

    if (!buf || !keys || !vals)
        goto out;
    memcpy(buf, data, size);
    buf[size] = '\0';
    for (char *p = buf; p < buf + size;) {
        size_t len = strlen(p);
        char *eq = strchr(p, '=');
        if (eq) {
            *eq = '\0';
            keys[n] = p;
            vals[n++] = eq + 1;
        }
        p += len + 1;
    }
    cfg_defaults(&c);
    before = c;
    if (cfg_apply_annotations(&c, keys, vals, n, &err) == 0) {
        if (c.vcpus < CFG_VCPUS_MIN || c.vcpus > CFG_VCPUS_MAX || c.memory_mib < CFG_MEMORY_MIN ||
            c.memory_mib > CFG_MEMORY_MAX || cfg_check_kernel_args(c.kernel_args) < 0)
            __builtin_trap();
    } else if (memcmp(&c, &before, sizeof(c)) != 0 || !err.msg[0]) {
        __builtin_trap();
    }
out:
    free(buf);
    free(keys);
    free(vals);
    return 0;
}
