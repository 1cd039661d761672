/* linux.resources -> host cgroup values and files. See host_cgroup_limits.h. */
#include "cgroup/host_cgroup_limits.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define SHARES_MAX 262144u
#define PERIOD_MIN 1000u /* the kernel's bounds for cfs_period_us: 1 ms .. 1 s */
#define PERIOD_MAX 1000000u
#define QUOTA_MAX (INT64_MAX / 1000) /* us the kernel accepts without overflow */

static int get_int(const json_t *obj, const char *key, const char *what, bool *has, json_int_t *v,
                   struct cvm_err *err)
{
    const json_t *j = json_object_get(obj, key);
    *has = false;
    if (!j || json_is_null(j))
        return 0;
    if (!json_is_integer(j))
        return cvm_err_set(err, -EINVAL, "linux.resources.%s: not an integer", what);
    *v = json_integer_value(j);
    *has = true;
    return 0;
}

int hcg_resources_parse(const json_t *res, struct hcg_resources *out, struct cvm_err *err)
{
    const json_t *mem, *cpu, *pids;
    json_int_t v = 0;
    bool has;
    int r;

    memset(out, 0, sizeof(*out));
    if (!res || !json_is_object(res))
        return 0;
    mem = json_object_get(res, "memory");
    cpu = json_object_get(res, "cpu");
    pids = json_object_get(res, "pids");
    if (json_is_object(mem)) {
        if ((r = get_int(mem, "limit", "memory.limit", &has, &v, err)) < 0)
            return r;
        if (has && v < -1)
            return cvm_err_set(err, -EINVAL, "linux.resources.memory.limit %lld: below -1",
                               (long long)v);
        if (has && v == 0)
            has = false; /* 0: not set (runc) */
        out->has_memory = has;
        out->memory = v;
    }
    if (json_is_object(cpu)) {
        if ((r = get_int(cpu, "shares", "cpu.shares", &has, &v, err)) < 0)
            return r;
        if (has && v != 0 && (v < 2 || v > SHARES_MAX))
            return cvm_err_set(err, -EINVAL, "linux.resources.cpu.shares %lld: not in 2..%u",
                               (long long)v, SHARES_MAX);
        out->has_shares = has && v != 0;
        out->shares = (uint64_t)v;
        if ((r = get_int(cpu, "quota", "cpu.quota", &has, &v, err)) < 0)
            return r;
        if (has && (v < -1 || v > QUOTA_MAX || (v > 0 && v < 1000)))
            return cvm_err_set(err, -EINVAL,
                               "linux.resources.cpu.quota %lld: not -1, 0 or 1000..%lld",
                               (long long)v, (long long)QUOTA_MAX);
        out->has_quota = has;
        out->quota = v;
        if ((r = get_int(cpu, "period", "cpu.period", &has, &v, err)) < 0)
            return r;
        if (has && v != 0 && (v < PERIOD_MIN || v > PERIOD_MAX))
            return cvm_err_set(err, -EINVAL, "linux.resources.cpu.period %lld: not in %u..%u",
                               (long long)v, PERIOD_MIN, PERIOD_MAX);
        out->has_period = has && v != 0;
        out->period = (uint64_t)v;
    }
    if (json_is_object(pids)) {
        if ((r = get_int(pids, "limit", "pids.limit", &has, &v, err)) < 0)
            return r;
        if (has && v < -1)
            return cvm_err_set(err, -EINVAL, "linux.resources.pids.limit %lld: below -1",
                               (long long)v);
        out->has_pids = has && v != 0;
        out->pids = v;
    }
    return 0;
}

void hcg_host_values(const struct hcg_resources *g, const struct hcg_overhead *o,
                     struct hcg_resources *h)
{
    *h = *g;
    if (g->has_memory && g->memory > 0)
        h->memory = (int64_t)(o->guest_ram + o->vmm_memory);
    if (g->has_pids && g->pids > 0)
        h->pids = g->pids > INT64_MAX - o->vmm_tasks ? -1 : g->pids + o->vmm_tasks;
}

uint64_t hcg_shares_to_weight(uint64_t shares)
{
    if (shares == 0)
        return 0;
    if (shares < 2)
        shares = 2;
    return 1 + ((shares - 2) * 9999) / 262142;
}

static void add(struct hcg_write *w, size_t *n, const char *ctrl, const char *file, int64_t v,
                bool max_if_nonpositive)
{
    w[*n].ctrl = ctrl;
    w[*n].file = file;
    if (max_if_nonpositive && v <= 0)
        snprintf(w[*n].value, sizeof(w[*n].value), "max");
    else
        snprintf(w[*n].value, sizeof(w[*n].value), "%" PRId64, v);
    (*n)++;
}

size_t hcg_writes(const struct hcg_resources *h, bool v2, struct hcg_write *w)
{
    size_t n = 0;
    if (h->has_memory) {
        if (v2)
            add(w, &n, "memory", "memory.max", h->memory, true);
        else
            add(w, &n, "memory", "memory.limit_in_bytes", h->memory, false); /* -1: unlimited */
    }
    if (v2) {
        if (h->has_shares)
            add(w, &n, "cpu", "cpu.weight", (int64_t)hcg_shares_to_weight(h->shares), false);
        if (h->has_quota || h->has_period) {
            /* cpu.max "QUOTA PERIOD": one write; an absent period keeps the kernel's 100 ms */
            w[n].ctrl = "cpu";
            w[n].file = "cpu.max";
            uint64_t period = h->has_period ? h->period : 100000u;
            if (h->has_quota && h->quota > 0)
                snprintf(w[n].value, sizeof(w[n].value), "%" PRId64 " %" PRIu64, h->quota, period);
            else
                snprintf(w[n].value, sizeof(w[n].value), "max %" PRIu64, period);
            n++;
        }
    } else {
        if (h->has_shares)
            add(w, &n, "cpu", "cpu.shares", (int64_t)h->shares, false);
        if (h->has_period)
            add(w, &n, "cpu", "cpu.cfs_period_us", (int64_t)h->period, false);
        if (h->has_quota)
            add(w, &n, "cpu", "cpu.cfs_quota_us", h->quota > 0 ? h->quota : -1, false);
    }
    if (h->has_pids)
        add(w, &n, "pids", "pids.max", h->pids, true);
    return n;
}
