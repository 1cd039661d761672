/* The shape-fit decision of a claim (pool_fit.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pool/pool_fit.h"

#define MIB (1024ull * 1024ull)

/* The annotation's decimal value, or -1 when it is no plain number. */
static long long ann_number(const char *s)
{
    char *end;
    long long v;
    if (!s || !*s || strlen(s) > 12)
        return -1;
    for (const char *p = s; *p; p++)
        if (*p < '0' || *p > '9')
            return -1;
    v = strtoll(s, &end, 10);
    return *end ? -1 : v;
}

static int differs(const char *key, const char *val, unsigned pool, char *why, size_t n)
{
    long long v = ann_number(val);
    if (v == (long long)pool)
        return 0;
    snprintf(why, n, "annotation %s=%.40s differs from the pool's %u", key, val, pool);
    return -EXDEV;
}

const char *pool_spec_netns(json_t *spec)
{
    json_t *nss = json_object_get(json_object_get(spec, "linux"), "namespaces"), *ns;
    size_t i;
    json_array_foreach(nss, i, ns)
    {
        const char *t = json_string_value(json_object_get(ns, "type"));
        const char *p = json_string_value(json_object_get(ns, "path"));
        if (t && strcmp(t, "network") == 0 && p && *p)
            return p;
    }
    return NULL;
}

int pool_fit(const struct cfg *cfg, json_t *spec, int netns_links, char *why, size_t n)
{
    json_t *ann, *lx, *lim;

    if (!cfg->pool_size) {
        snprintf(why, n, "pool off (pool.size 0)");
        return -EXDEV;
    }
    if (!json_is_object(spec)) {
        snprintf(why, n, "config.json is not an object");
        return -EINVAL;
    }
    ann = json_object_get(spec, "annotations");
    const char *vc = json_string_value(json_object_get(ann, CFG_ANN_VCPUS));
    const char *mem = json_string_value(json_object_get(ann, CFG_ANN_MEMORY));
    const char *ka = json_string_value(json_object_get(ann, CFG_ANN_KARGS));
    if (vc && differs(CFG_ANN_VCPUS, vc, cfg->vcpus, why, n) < 0)
        return -EXDEV;
    if (mem && differs(CFG_ANN_MEMORY, mem, cfg->memory_mib, why, n) < 0)
        return -EXDEV;
    if (ka && *ka) {
        snprintf(why, n, "annotation %s asks for another kernel command line", CFG_ANN_KARGS);
        return -EXDEV;
    }
    lx = json_object_get(spec, "linux");
    lim = json_object_get(json_object_get(json_object_get(lx, "resources"), "memory"), "limit");
    if (json_is_integer(lim) && json_integer_value(lim) > 0) {
        unsigned long long want = ((unsigned long long)json_integer_value(lim) + MIB - 1) / MIB;
        if (want > cfg->memory_mib) {
            snprintf(why, n, "memory limit %llu MiB is above the pool's guest RAM %u MiB", want,
                     cfg->memory_mib);
            return -EXDEV;
        }
    }
    /* a CPU quota raises a cold VM's vCPUs (cfg_vcpus_for_quota): a pooled one cannot grow */
    json_t *cpu = json_object_get(json_object_get(lx, "resources"), "cpu");
    json_t *quota = json_object_get(cpu, "quota"), *period = json_object_get(cpu, "period");
    if (json_is_integer(quota)) {
        unsigned long long want = cfg_vcpus_for_quota(
            json_integer_value(quota), json_is_integer(period) && json_integer_value(period) > 0
                                           ? (uint64_t)json_integer_value(period)
                                           : 0);
        if (want > cfg->vcpus) {
            snprintf(why, n, "CPU quota asks for %llu vCPUs, the pool's VMs have %u", want,
                     cfg->vcpus);
            return -EXDEV;
        }
    }
    if (netns_links > (int)cfg->spare_nics) {
        snprintf(why, n,
                 "the sandbox netns has %d interface(s), a pooled VM %u NIC(s) (spare_nics)",
                 netns_links, cfg->spare_nics);
        return -EXDEV;
    }
    return 0;
}
