#include "cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup_async.h"
#include "cleanup.h"
#include "fd.h"

static int cg_write(const char *cg, const char *file, const char *val)
{
    return file_write_str(cg, file, val);
}

int cgroup_root_init(const char *root)
{
    char have[256];
    int r = mkdir(root, 0755);
    if (r < 0 && errno != EEXIST)
        return -errno;
    /* The root's own parent must delegate too; errors there are not ours to fix. */
    if ((r = cgroup_read_file(root, "cgroup.controllers", have, sizeof(have))) < 0)
        return r;
    static const char *const want[] = {"cpu", "memory", "pids", "cpuset", "io"};
    for (size_t i = 0; i < ELEMENTSOF(want); i++) {
        char tok[16];
        if (!strstr(have, want[i]))
            continue;
        snprintf(tok, sizeof(tok), "+%s", want[i]);
        (void)cg_write(root, "cgroup.subtree_control", tok);
    }
    return 0;
}

int cgroup_create(const char *root, const char *id, char **ret, struct cvm_err *err)
{
    char *p = NULL;
    if (asprintf(&p, "%s/%s", root, id) < 0)
        return cvm_err_set(err, -ENOMEM, "out of memory");
    (void)cgroup_remove_abandon(p); /* a removed container's group, still draining: ours now */
    if (mkdir(p, 0755) < 0 && errno != EEXIST) {
        int r = -errno;
        free(p);
        return cvm_err_set(err, r, "cgroup %s/%s: %s", root, id, strerror(-r));
    }
    *ret = p;
    return 0;
}

static int apply_one(const char *cg, const char *file, const char *val, struct cvm_err *err)
{
    int r = cg_write(cg, file, val);
    if (r == -ENOENT)
        return cvm_err_setc(err, RPC_FAILED_PRECONDITION, r,
                            "cgroup %s: controller not enabled for %s", cg, file);
    if (r < 0)
        return cvm_err_set(err, r, "cgroup %s: writing %s to %s: %s", cg, val, file, strerror(-r));
    return 0;
}

int cgroup_apply(const char *cg, const struct oci_resources *res, struct cvm_err *err)
{
    char v[64];
    int r;
    if (res->memory_limit >= 0) {
        snprintf(v, sizeof(v), "%lld", (long long)res->memory_limit);
        if ((r = apply_one(cg, "memory.max", v, err)) < 0)
            return r;
    }
    if (res->memory_reservation >= 0) {
        snprintf(v, sizeof(v), "%lld", (long long)res->memory_reservation);
        if ((r = apply_one(cg, "memory.low", v, err)) < 0)
            return r;
    }
    if (res->memory_swap >= 0 && res->memory_limit >= 0) {
        snprintf(v, sizeof(v), "%lld", (long long)(res->memory_swap - res->memory_limit));
        r = cg_write(cg, "memory.swap.max", v);
        if (r < 0 && r != -ENOENT) /* no swap accounting in the guest kernel: nothing to limit */
            return cvm_err_set(err, r, "cgroup memory.swap.max: %s", strerror(-r));
    }
    if (res->cpu_shares) {
        /* runc's conversion: shares [2, 262144] -> weight [1, 10000] */
        unsigned long long w =
            1 + ((res->cpu_shares < 2 ? 2 : res->cpu_shares) - 2) * 9999 / 262142;
        snprintf(v, sizeof(v), "%llu", w);
        if ((r = apply_one(cg, "cpu.weight", v, err)) < 0)
            return r;
    }
    if (res->cpu_quota >= 0 || res->cpu_period) {
        unsigned long long period = res->cpu_period ? res->cpu_period : 100000;
        if (res->cpu_quota > 0)
            snprintf(v, sizeof(v), "%lld %llu", (long long)res->cpu_quota, period);
        else
            snprintf(v, sizeof(v), "max %llu", period);
        if ((r = apply_one(cg, "cpu.max", v, err)) < 0)
            return r;
    }
    if (res->pids_set) {
        if (res->pids_limit > 0)
            snprintf(v, sizeof(v), "%lld", (long long)res->pids_limit);
        else
            snprintf(v, sizeof(v), "max");
        if ((r = apply_one(cg, "pids.max", v, err)) < 0)
            return r;
    }
    if (res->cpuset_cpus && (r = apply_one(cg, "cpuset.cpus", res->cpuset_cpus, err)) < 0)
        return r;
    if (res->cpuset_mems && (r = apply_one(cg, "cpuset.mems", res->cpuset_mems, err)) < 0)
        return r;
    return 0;
}

int cgroup_add_pid(const char *cg, pid_t pid)
{
    char v[32];
    snprintf(v, sizeof(v), "%d", (int)pid);
    return cg_write(cg, "cgroup.procs", v);
}

int cgroup_pids(const char *cg, pid_t *pids, size_t max)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/cgroup.procs", cg);
    _cleanup_fclose_ FILE *f = fopen(path, "re");
    if (!f)
        return -errno;
    size_t n = 0;
    int pid;
    while (n < max && fscanf(f, "%d", &pid) == 1)
        pids[n++] = pid;
    return (int)n;
}

int cgroup_kill(const char *cg, int sig)
{
    if (sig == SIGKILL && cg_write(cg, "cgroup.kill", "1") == 0)
        return 0;
    pid_t pids[4096];
    int n = cgroup_pids(cg, pids, ELEMENTSOF(pids));
    if (n < 0)
        return n;
    for (int i = 0; i < n; i++)
        (void)kill(pids[i], sig);
    return 0;
}
