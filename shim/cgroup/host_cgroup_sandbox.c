/* Create/Update glue for the sandbox's host cgroup and runc's shim options. See
 * host_cgroup_sandbox.h; the sizing rules are in config/README.md "Host cgroups". */
#define LOG_MODULE "cgroup"
#include "cgroup/host_cgroup_sandbox.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "containerd/linux/runc/runctypes.pb-c.h"
#include "containerd/runc/v1/options.pb-c.h"
#include "cgroup/host_cgroup.h"
#include "log.h"

#define MIB (1024ull * 1024ull)

/* containerd 1.x clients send containerd.linux.runc.CreateOptions for a runtime not named
 * io.containerd.runc.* (WithShimCgroup: containerd's TestShimInCgroup): the same rules. */
static int runctypes_options_check(const Google__Protobuf__Any *opts, char *shim_cgroup, size_t n,
                                   struct cvm_err *err)
{
    Containerd__Linux__Runc__CreateOptions *o =
        containerd__linux__runc__create_options__unpack(NULL, opts->value.len, opts->value.data);
    if (!o)
        return cvm_err_setc(err, RPC_INVALID_ARGUMENT, -EINVAL,
                            "cannot decode %s: invalid argument", RUNCTYPES_CREATE_OPTIONS_URL);
    const char *bad = o->no_pivot_root                              ? "no_pivot_root"
                      : o->no_new_keyring                           ? "no_new_keyring"
                      : o->io_uid                                   ? "io_uid"
                      : o->io_gid                                   ? "io_gid"
                      : o->open_tcp                                 ? "open_tcp"
                      : o->external_unix_sockets                    ? "external_unix_sockets"
                      : o->file_locks                               ? "file_locks"
                      : o->n_empty_namespaces                       ? "empty_namespaces"
                      : (o->cgroups_mode && *o->cgroups_mode)       ? "cgroups_mode"
                      : (o->criu_work_path && *o->criu_work_path)   ? "criu_work_path"
                      : (o->criu_image_path && *o->criu_image_path) ? "criu_image_path"
                                                                    : NULL;
    int r = 0;
    if (bad)
        r = cvm_err_setc(err, RPC_INVALID_ARGUMENT, -EINVAL,
                         "%s.%s is set, but it has no meaning for containerd-shim-cvm-v1 (a VM "
                         "runtime; of these options only shim_cgroup applies): invalid argument",
                         RUNCTYPES_CREATE_OPTIONS_URL, bad);
    else if (o->shim_cgroup && strlen(o->shim_cgroup) >= n)
        r = cvm_err_setc(err, RPC_INVALID_ARGUMENT, -EINVAL,
                         "shim_cgroup too long: invalid argument");
    else if (o->shim_cgroup)
        snprintf(shim_cgroup, n, "%s", o->shim_cgroup);
    containerd__linux__runc__create_options__free_unpacked(o, NULL);
    return r;
}

int runc_options_check(const Google__Protobuf__Any *opts, char *shim_cgroup, size_t n,
                       struct cvm_err *err)
{
    shim_cgroup[0] = '\0';
    if (opts && opts->type_url && strcmp(opts->type_url, RUNCTYPES_CREATE_OPTIONS_URL) == 0)
        return runctypes_options_check(opts, shim_cgroup, n, err);
    if (!opts || !opts->type_url || strcmp(opts->type_url, RUNC_OPTIONS_URL) != 0)
        return 0;
    Containerd__Runc__V1__Options *o =
        containerd__runc__v1__options__unpack(NULL, opts->value.len, opts->value.data);
    if (!o)
        return cvm_err_setc(err, RPC_INVALID_ARGUMENT, -EINVAL,
                            "cannot decode %s: invalid argument", RUNC_OPTIONS_URL);
    /* runc-only knobs: a VM has no pivot_root, keyring, runc binary, runc root or CRIU, and
     * its stdio pipes are the shim's, not the container user's. */
    const char *bad = o->no_pivot_root                              ? "no_pivot_root"
                      : o->no_new_keyring                           ? "no_new_keyring"
                      : o->io_uid                                   ? "io_uid"
                      : o->io_gid                                   ? "io_gid"
                      : (o->binary_name && *o->binary_name)         ? "binary_name"
                      : (o->root && *o->root)                       ? "root"
                      : (o->criu_path && *o->criu_path)             ? "criu_path"
                      : (o->criu_image_path && *o->criu_image_path) ? "criu_image_path"
                      : (o->criu_work_path && *o->criu_work_path)   ? "criu_work_path"
                                                                    : NULL;
    int r = 0;
    if (bad)
        r = cvm_err_setc(err, RPC_INVALID_ARGUMENT, -EINVAL,
                         "%s.%s is set, but it has no meaning for containerd-shim-cvm-v1 (a VM "
                         "runtime; of runc's options only shim_cgroup and systemd_cgroup apply): "
                         "invalid argument",
                         RUNC_OPTIONS_URL, bad);
    else if (o->shim_cgroup && strlen(o->shim_cgroup) >= n)
        r = cvm_err_setc(err, RPC_INVALID_ARGUMENT, -EINVAL,
                         "shim_cgroup too long: invalid argument");
    else if (o->shim_cgroup)
        snprintf(shim_cgroup, n, "%s", o->shim_cgroup);
    containerd__runc__v1__options__free_unpacked(o, NULL);
    return r;
}

void runc_shim_cgroup_of_start_stdin(const uint8_t *buf, size_t len, char *shim_cgroup, size_t n)
{
    struct cvm_err e = {0};
    shim_cgroup[0] = '\0';
    if (!len)
        return;
    Google__Protobuf__Any *any = google__protobuf__any__unpack(NULL, len, buf);
    if (!any)
        return;
    if (runc_options_check(any, shim_cgroup, n, &e) < 0)
        shim_cgroup[0] = '\0';
    google__protobuf__any__free_unpacked(any, NULL);
}

static uint64_t file_size(const char *path)
{
    struct stat st;
    return path && *path && stat(path, &st) == 0 && st.st_size > 0 ? (uint64_t)st.st_size : 0;
}

int host_cgroup_for_sandbox(json_t *spec, struct cfg *cfg, struct host_cgroup **ret,
                            struct hcg_overhead *ov, struct cvm_err *err)
{
    json_t *lx = json_object_get(spec, "linux");
    const char *path = json_string_value(json_object_get(lx, "cgroupsPath"));
    struct hcg_resources g, h;
    struct host_cgroup *cg = NULL;
    int r;

    *ret = NULL;
    if (!path || !*path)
        return 0; /* runc without a cgroupsPath: nothing of ours either */
    r = hcg_resources_parse(json_object_get(lx, "resources"), &g, err);
    if (r < 0)
        return r;
    /* The guest must be able to hold what the container may use: memory_mib grows to the
     * limit (never shrinks: the guest's kernel and agent live there too), within the
     * operator's max_memory_mib: a pod author sets the limit. */
    if (g.has_memory && g.memory > 0) {
        uint64_t want = ((uint64_t)g.memory + MIB - 1) / MIB;
        if (want > CFG_MEMORY_MAX)
            return cvm_err_setc(err, RPC_INVALID_ARGUMENT, -EINVAL,
                                "linux.resources.memory.limit %lld: more than the largest guest "
                                "(%u MiB): invalid argument",
                                (long long)g.memory, CFG_MEMORY_MAX);
        r = want > cfg->memory_mib ? cfg_check_memory_raise(cfg, want, err) : 0;
        if (r < 0)
            return r;
        if (want > cfg->memory_mib) {
            log_info("guest memory %u MiB raised to the container's memory limit, %llu MiB",
                     cfg->memory_mib, (unsigned long long)want);
            cfg->memory_mib = (unsigned)want;
        }
    }
    /* The same for CPU: a quota of N CPUs (docker run --cpus N) is reachable only with N vCPUs;
     * above max_vcpus (by default the host's CPUs) it fails, as Docker refuses --cpus above
     * the host's CPUs. */
    unsigned long long want_cpus =
        g.has_quota ? cfg_vcpus_for_quota(g.quota, g.has_period ? g.period : 0) : 0;
    if (want_cpus > cfg->vcpus) {
        r = cfg_check_vcpus_raise(cfg, want_cpus, err);
        if (r < 0)
            return r;
        log_info("guest vCPUs %u raised to the container's CPU quota, %llu", cfg->vcpus, want_cpus);
        cfg->vcpus = (unsigned)want_cpus;
    }
    ov->guest_ram = (uint64_t)cfg->memory_mib * MIB;
    /* QEMU keeps its own copy of the kernel and initrd it loads (for reset) */
    ov->vmm_memory =
        (uint64_t)cfg->host_overhead_mib * MIB + file_size(cfg->kernel) + file_size(cfg->initrd);
    ov->vmm_tasks = cfg->host_overhead_tasks;
    r = host_cgroup_create(path, &cg, err);
    if (r < 0)
        return r;
    hcg_host_values(&g, ov, &h);
    r = host_cgroup_set(cg, &h, err);
    if (r < 0) {
        host_cgroup_remove(cg);
        return r;
    }
    log_info("host cgroup %s (cgroup %s): memory %s%lld, pids %s%lld (guest %u MiB + VMM %llu "
             "bytes)",
             host_cgroup_name(cg), host_cgroup_is_v2(cg) ? "v2" : "v1",
             h.has_memory ? "" : "unset ", (long long)(h.has_memory ? h.memory : 0),
             h.has_pids ? "" : "unset ", (long long)(h.has_pids ? h.pids : 0), cfg->memory_mib,
             (unsigned long long)ov->vmm_memory);
    *ret = cg;
    return 0;
}

int host_cgroup_update(struct host_cgroup *cg, const struct hcg_overhead *ov, const uint8_t *json,
                       size_t len, struct cvm_err *err)
{
    json_t *res = json_loadb((const char *)json, len, 0, NULL);
    struct hcg_resources g, h;
    int r;
    if (!res)
        return cvm_err_setc(err, RPC_INVALID_ARGUMENT, -EINVAL,
                            "resources: invalid JSON: invalid argument");
    r = hcg_resources_parse(res, &g, err);
    json_decref(res);
    if (r < 0)
        return r;
    if (g.has_memory && g.memory > 0 && (uint64_t)g.memory > ov->guest_ram)
        log_warn("update: memory limit %lld is above the guest's RAM (%llu): the guest cannot "
                 "grow; the container is bounded by the guest",
                 (long long)g.memory, (unsigned long long)ov->guest_ram);
    hcg_host_values(&g, ov, &h);
    return host_cgroup_set(cg, &h, err);
}
