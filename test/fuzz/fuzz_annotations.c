/* Fuzz annotation sets as a spec carries them, under a fuzzed policy: the first 3 bytes are
 * the config's allowed_annotations bits, the host's CPUs and the host's memory (in 64 MiB
 * steps) that max_vcpus / max_memory_mib resolve to; the rest is any number of keys and values
 * (NUL-separated "key=value" records), io.containerd.cvm.* or not, in any order. Invariants of
 * an accepted set: the values are in range and within the bounds, no annotation the policy
 * does not allow was present; a rejected set leaves the config untouched and says why. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned bit_of(const char *k)
{
    return strcmp(k, CFG_ANN_VCPUS) == 0 ? CFG_ALLOW_VCPUS : strcmp(k, CFG_ANN_MEMORY) == 0 ? CFG_ALLOW_MEMORY
         : strcmp(k, CFG_ANN_KARGS) == 0 ? CFG_ALLOW_KARGS : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cfg c, before;
    struct cvm_err err = {0};
    char *buf = NULL;
    const char **keys = NULL, **vals = NULL;
    unsigned present = 0;
    size_t n = 0;

    if (size < 3)
        return 0;
    cfg_defaults(&c);
    c.allowed_annotations = data[0] & 7u;
    c.memory_mib = CFG_MEMORY_MIN; /* fits any host the bytes describe */
    if (cfg_resolve_bounds(&c, data[1], (unsigned long long)data[2] * 64ull * 1024ull, &err) < 0)
        __builtin_trap();
    if (c.max_vcpus < CFG_VCPUS_MIN || c.max_vcpus > CFG_VCPUS_MAX || c.max_memory_mib < CFG_MEMORY_MIN ||
        c.max_memory_mib > CFG_MEMORY_MAX)
        __builtin_trap();
    data += 3, size -= 3;
    buf = malloc(size + 1);
    keys = calloc(size / 2 + 1, sizeof(*keys));
    vals = calloc(size / 2 + 1, sizeof(*vals));
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
            present |= bit_of(p);
        }
        p += len + 1;
    }
    before = c;
    if (cfg_apply_annotations(&c, keys, vals, n, &err) == 0) {
        if (c.vcpus < CFG_VCPUS_MIN || c.vcpus > c.max_vcpus || c.memory_mib < CFG_MEMORY_MIN ||
            c.memory_mib > c.max_memory_mib || cfg_check_kernel_args(c.kernel_args) < 0)
            __builtin_trap();
        if (present & ~before.allowed_annotations) /* a refused key got through */
            __builtin_trap();
        if (c.allowed_annotations != before.allowed_annotations || c.max_vcpus != before.max_vcpus ||
            c.max_memory_mib != before.max_memory_mib) /* annotations never change the policy */
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
