/* JSON runtime config: parse + validate (pure), annotation overrides (pure), file loading. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fd.h"
#include "uid_range.h"

#define _cleanup_json_ _cleanup_(json_decrefp) /* jansson's own helper: decref if non-NULL */

void cfg_defaults(struct cfg *c)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->qemu, sizeof(c->qemu), "%s", CFG_DEFAULT_QEMU);
    snprintf(c->virtiofsd, sizeof(c->virtiofsd), "%s", CFG_DEFAULT_VIRTIOFSD);
    c->vcpus = CFG_DEFAULT_VCPUS;
    c->memory_mib = CFG_DEFAULT_MEMORY_MIB;
    c->vsock_mode = HV_VSOCK_AUTO;
    c->boot_deadline_ms = CFG_DEFAULT_BOOT_DEADLINE_MS;
    c->accel = HV_ACCEL_AUTO;
    c->console_deadline_ms = 0;
    c->spare_nics = CFG_DEFAULT_SPARE_NICS;
    c->guest_timeout_ms = CFG_DEFAULT_GUEST_TIMEOUT_MS;
    c->tcg_idle_reset_s = CFG_TCG_IDLE_RESET_S_DEFAULT;
    c->kill_grace_ms = CFG_DEFAULT_KILL_GRACE_MS;
    c->host_overhead_mib = CFG_DEFAULT_HOST_OVERHEAD_MIB;
    c->host_overhead_tasks = CFG_DEFAULT_HOST_OVERHEAD_TASKS;
    c->uid_first = UID_RANGE_DEFAULT_FIRST;
    c->uid_last = UID_RANGE_DEFAULT_LAST;
    c->pool_tcg_cache_mib = CFG_POOL_TCG_CACHE_MIB_DEFAULT;
}

int cfg_check_kernel_args(const char *s)
{
    size_t n = strnlen(s, CFG_KARGS_MAX);
    if (n >= CFG_KARGS_MAX)
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch < 0x20 || ch > 0x7e || ch == '"' || ch == '\'' || ch == '\\')
            return -EINVAL;
    }
    return 0;
}

/* A path: "" (discover) or absolute, bounded, no control characters. */
static int set_path(char *dst, const char *key, json_t *v, struct cvm_err *err)
{
    const char *s;
    size_t n;

    if (!json_is_string(v))
        return cvm_err_set(err, -EINVAL, "config: \"%s\" must be a string", key);
    s = json_string_value(v);
    n = json_string_length(v);
    if (n >= CFG_PATH_MAX || strlen(s) != n)
        return cvm_err_set(err, -EINVAL, "config: \"%s\" is too long or contains NUL", key);
    if (n > 0 && s[0] != '/')
        return cvm_err_set(err, -EINVAL, "config: \"%s\" must be an absolute path", key);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20)
            return cvm_err_set(err, -EINVAL, "config: \"%s\" contains a control character", key);
    memcpy(dst, s, n + 1);
    return 0;
}

static int set_uint(unsigned *dst, const char *key, json_t *v, unsigned min, unsigned max,
                    struct cvm_err *err)
{
    json_int_t i;
    if (!json_is_integer(v))
        return cvm_err_set(err, -EINVAL, "config: \"%s\" must be an integer", key);
    i = json_integer_value(v);
    if (i < (json_int_t)min || i > (json_int_t)max)
        return cvm_err_set(err, -EINVAL, "config: \"%s\" = %lld out of range [%u, %u]", key,
                           (long long)i, min, max);
    *dst = (unsigned)i;
    return 0;
}

static int set_vsock(enum hv_vsock_mode *dst, json_t *v, struct cvm_err *err)
{
    const char *s = json_string_value(v);
    int m;
    if (!s)
        return cvm_err_set(err, -EINVAL, "config: \"vsock_mode\" must be a string");
    if ((m = hv_vsock_mode_from_string(s)) >= 0) {
        *dst = (enum hv_vsock_mode)m;
        return 0;
    }
    return cvm_err_set(err, -EINVAL, "config: \"vsock_mode\" must be auto, kernel or hybrid");
}

/* --- sandbox uids (hypervisor/uid_range.h) ----------------------------------------------- */

static int set_uid_range(struct cfg *c, json_t *v, struct cvm_err *err)
{
    struct uid_range r;
    const char *s = json_string_value(v);
    if (!s || uid_range_parse(s, json_string_length(v), &r) < 0)
        return cvm_err_set(err, -EINVAL,
                           "config: \"uid_range\" must be \"FIRST-LAST\" (decimal, "
                           "1 <= FIRST <= LAST <= 4294967294)");
    c->uid_first = r.first;
    c->uid_last = r.last;
    return 0;
}

/* qemu_user named one uid shared by every sandbox: refused, so no config can bring that back. */
static int refuse_qemu_user(struct cvm_err *err)
{
    return cvm_err_set(err, -EINVAL,
                       "config: \"qemu_user\" is gone: every sandbox gets a uid of "
                       "its own from \"uid_range\" (default " UID_RANGE_DEFAULT ")");
}

/* --- end of sandbox uids ----------------------------------------------------------------- */

/* The annotations that change the VM, each with the bit that allows it. */
static const struct {
    const char *key;
    unsigned bit;
} vm_annotations[] = {
    {CFG_ANN_VCPUS, CFG_ALLOW_VCPUS},
    {CFG_ANN_MEMORY, CFG_ALLOW_MEMORY},
    {CFG_ANN_KARGS, CFG_ALLOW_KARGS},
};

/* "allowed_annotations": an array of annotation keys; a key we do not know is a typo that
 * would silently allow nothing, so it fails naming it. The group key is always allowed and
 * may be listed. */
static int set_allowed(unsigned *dst, json_t *v, struct cvm_err *err)
{
    unsigned bits = 0;
    size_t i;
    json_t *e;

    if (!json_is_array(v) || json_array_size(v) > CFG_ALLOWED_MAX)
        return cvm_err_set(err, -EINVAL,
                           "config: \"allowed_annotations\" must be an array of at "
                           "most %u annotation keys",
                           CFG_ALLOWED_MAX);
    json_array_foreach(v, i, e)
    {
        const char *k = json_string_value(e);
        bool known = k && strlen(k) == json_string_length(e) && strcmp(k, CFG_ANN_GROUP) == 0;
        for (size_t j = 0; k && !known && j < ELEMENTSOF(vm_annotations); j++)
            if (strcmp(k, vm_annotations[j].key) == 0 && strlen(k) == json_string_length(e)) {
                bits |= vm_annotations[j].bit;
                known = true;
            }
        if (!known)
            return cvm_err_set(err, -EINVAL,
                               "config: \"allowed_annotations\": unknown annotation "
                               "\"%.80s\" (known: %s, %s, %s)",
                               k ? k : "(not a string)", CFG_ANN_VCPUS, CFG_ANN_MEMORY,
                               CFG_ANN_KARGS);
    }
    *dst = bits;
    return 0;
}

/* "pool": {"size": N, "rehearse": B}; an object so the pool can grow keys without a new
 * top-level name. Nothing changes unless the whole object is valid. */
static int set_pool(struct cfg *c, json_t *v, struct cvm_err *err)
{
    const char *k;
    json_t *e;
    unsigned size = 0, tcg_mib = CFG_POOL_TCG_CACHE_MIB_DEFAULT;
    bool rehearse = true;
    if (!json_is_object(v))
        return cvm_err_set(err, -EINVAL, "config: \"pool\" must be an object ({\"size\": N})");
    json_object_foreach(v, k, e)
    {
        if (strcmp(k, "size") == 0) {
            int r = set_uint(&size, "pool.size", e, 0, CFG_POOL_SIZE_MAX, err);
            if (r < 0)
                return r;
            continue;
        }
        if (strcmp(k, "rehearse") == 0) {
            if (!json_is_boolean(e))
                return cvm_err_set(err, -EINVAL, "config: \"pool.rehearse\" must be true or false");
            rehearse = json_is_true(e);
            continue;
        }
        if (strcmp(k, "tcg_cache_mib") == 0) {
            int r = set_uint(&tcg_mib, "pool.tcg_cache_mib", e, CFG_POOL_TCG_CACHE_MIB_MIN,
                             CFG_POOL_TCG_CACHE_MIB_MAX, err);
            if (r < 0)
                return r;
            continue;
        }
        return cvm_err_set(
            err, -EINVAL,
            "config: \"pool\": unknown key \"%.64s\" (known: size, rehearse, tcg_cache_mib)", k);
    }
    c->pool_size = size;
    c->pool_tcg_cache_mib = tcg_mib;
    c->pool_no_rehearsal = !rehearse;
    return 0;
}

static int set_one(struct cfg *c, const char *key, json_t *v, struct cvm_err *err)
{
    if (strcmp(key, "kernel") == 0)
        return set_path(c->kernel, key, v, err);
    if (strcmp(key, "initrd") == 0)
        return set_path(c->initrd, key, v, err);
    if (strcmp(key, "qemu") == 0)
        return set_path(c->qemu, key, v, err);
    if (strcmp(key, "virtiofsd") == 0)
        return set_path(c->virtiofsd, key, v, err);
    if (strcmp(key, "vsockd") == 0)
        return set_path(c->vsockd, key, v, err);
    if (strcmp(key, "vcpus") == 0)
        return set_uint(&c->vcpus, key, v, CFG_VCPUS_MIN, CFG_VCPUS_MAX, err);
    if (strcmp(key, "memory_mib") == 0)
        return set_uint(&c->memory_mib, key, v, CFG_MEMORY_MIN, CFG_MEMORY_MAX, err);
    if (strcmp(key, "boot_deadline_ms") == 0)
        return set_uint(&c->boot_deadline_ms, key, v, CFG_DEADLINE_MIN, CFG_DEADLINE_MAX, err);
    if (strcmp(key, "vsock_mode") == 0)
        return set_vsock(&c->vsock_mode, v, err);
    if (strcmp(key, "accel") == 0) {
        int a = hv_accel_from_string(json_string_value(v));
        if (a < 0)
            return cvm_err_set(err, -EINVAL, "config: \"accel\" must be auto, kvm or tcg");
        c->accel = (enum hv_accel)a;
        return 0;
    }
    if (strcmp(key, "guest_timeout_ms") == 0)
        return set_uint(&c->guest_timeout_ms, key, v, 1000, 600000, err);
    if (strcmp(key, "tcg_idle_reset_s") == 0)
        return set_uint(&c->tcg_idle_reset_s, key, v, 0, CFG_TCG_IDLE_RESET_S_MAX, err);
    if (strcmp(key, "kill_grace_ms") == 0)
        return set_uint(&c->kill_grace_ms, key, v, 100, 60000, err);
    if (strcmp(key, "uid_range") == 0)
        return set_uid_range(c, v, err);
    if (strcmp(key, "qemu_user") == 0)
        return refuse_qemu_user(err);
    if (strcmp(key, "host_overhead_mib") == 0)
        return set_uint(&c->host_overhead_mib, key, v, 0, CFG_HOST_OVERHEAD_MIB_MAX, err);
    if (strcmp(key, "host_overhead_tasks") == 0)
        return set_uint(&c->host_overhead_tasks, key, v, 0, CFG_HOST_OVERHEAD_TASKS_MAX, err);
    if (strcmp(key, "spare_nics") == 0)
        return set_uint(&c->spare_nics, key, v, 0, CFG_SPARE_NICS_MAX, err);
    if (strcmp(key, "console_deadline_ms") == 0)
        return set_uint(&c->console_deadline_ms, key, v, 0, CFG_CONSOLE_DEADLINE_MAX, err);
    if (strcmp(key, "debug") == 0) {
        if (!json_is_boolean(v))
            return cvm_err_set(err, -EINVAL, "config: \"debug\" must be true or false");
        c->debug = json_is_true(v);
        return 0;
    }
    if (strcmp(key, "host_namespaces") == 0) {
        const char *m = json_string_value(v);
        if (!m || (strcmp(m, "refuse") != 0 && strcmp(m, "vm") != 0))
            return cvm_err_set(err, -EINVAL,
                               "config: \"host_namespaces\" must be \"refuse\" or \"vm\"");
        c->host_namespaces_vm = strcmp(m, "vm") == 0;
        return 0;
    }
    if (strcmp(key, "tcg_icount") == 0) {
        if (!json_is_boolean(v))
            return cvm_err_set(err, -EINVAL, "config: \"tcg_icount\" must be true or false");
        c->tcg_icount = json_is_true(v);
        return 0;
    }
    if (strcmp(key, "kernel_args") == 0) {
        const char *s = json_string_value(v);
        if (!s || strlen(s) != json_string_length(v) || cfg_check_kernel_args(s) < 0)
            return cvm_err_set(
                err, -EINVAL,
                "config: \"kernel_args\" must be a string of printable ASCII without "
                "quotes or backslashes, shorter than %d bytes",
                CFG_KARGS_MAX);
        snprintf(c->kernel_args, sizeof(c->kernel_args), "%s", s);
        return 0;
    }
    if (strcmp(key, "allowed_annotations") == 0)
        return set_allowed(&c->allowed_annotations, v, err);
    if (strcmp(key, "max_vcpus") == 0)
        return set_uint(&c->max_vcpus, key, v, 0, CFG_VCPUS_MAX, err);
    if (strcmp(key, "max_memory_mib") == 0) {
        int r = set_uint(&c->max_memory_mib, key, v, 0, CFG_MEMORY_MAX, err);
        if (r == 0 && c->max_memory_mib && c->max_memory_mib < CFG_MEMORY_MIN)
            r = cvm_err_set(err, -EINVAL,
                            "config: \"max_memory_mib\" = %u: 0 (the host's memory) "
                            "or at least %u",
                            c->max_memory_mib, CFG_MEMORY_MIN);
        return r;
    }
    if (strcmp(key, "pool") == 0)
        return set_pool(c, v, err);
    if (strcmp(key, "_comment") == 0)
        return json_is_string(v)
                   ? 0
                   : cvm_err_set(err, -EINVAL, "config: \"_comment\" must be a string");
    return cvm_err_set(err, -EINVAL, "config: unknown key \"%.64s\"", key);
}

int cfg_parse(struct cfg *c, const char *json, size_t len, struct cvm_err *err)
{
    _cleanup_json_ json_t *root = NULL;
    json_error_t jerr;
    struct cfg tmp = *c;
    const char *key;
    json_t *v;
    int r;

    if (len > CFG_FILE_MAX)
        return cvm_err_set(err, -EFBIG, "config: larger than %u bytes", CFG_FILE_MAX);
    root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return cvm_err_set(err, -EINVAL, "config: invalid JSON at line %d column %d: %.120s",
                           jerr.line, jerr.column, jerr.text);
    if (!json_is_object(root))
        return cvm_err_set(err, -EINVAL, "config: top level must be a JSON object");
    json_object_foreach(root, key, v)
    {
        r = set_one(&tmp, key, v, err);
        if (r < 0)
            return r;
    }
    /* the operator's own bounds hold for the operator's own sizes (0: the host's, checked by
     * cfg_resolve_bounds) */
    if (tmp.max_vcpus && tmp.vcpus > tmp.max_vcpus)
        return cvm_err_set(err, -EINVAL, "config: \"vcpus\" = %u is above \"max_vcpus\" = %u",
                           tmp.vcpus, tmp.max_vcpus);
    if (tmp.max_memory_mib && tmp.memory_mib > tmp.max_memory_mib)
        return cvm_err_set(err, -EINVAL,
                           "config: \"memory_mib\" = %u is above \"max_memory_mib\" = %u",
                           tmp.memory_mib, tmp.max_memory_mib);
    *c = tmp;
    return 0;
}

int cfg_resolve_bounds(struct cfg *c, unsigned host_cpus, unsigned long long host_kib,
                       struct cvm_err *err)
{
    unsigned mv = c->max_vcpus, mm = c->max_memory_mib;
    bool host_v = !mv, host_m = !mm;

    if (host_v)
        mv = host_cpus && host_cpus < CFG_VCPUS_MAX ? host_cpus : CFG_VCPUS_MAX;
    if (host_m) {
        unsigned long long mib = host_kib / 1024ull;
        mm = !host_kib || mib > CFG_MEMORY_MAX ? CFG_MEMORY_MAX
             : mib < CFG_MEMORY_MIN            ? CFG_MEMORY_MIN
                                               : (unsigned)mib;
    }
    if (c->vcpus > mv)
        return cvm_err_set(err, -EINVAL, "config: \"vcpus\" = %u is above max_vcpus %u%s", c->vcpus,
                           mv, host_v ? " (the host's CPUs; set \"max_vcpus\" to allow more)" : "");
    if (c->memory_mib > mm)
        return cvm_err_set(err, -EINVAL, "config: \"memory_mib\" = %u is above max_memory_mib %u%s",
                           c->memory_mib, mm, host_m ? " (the host's memory)" : "");
    c->max_vcpus = mv;
    c->max_memory_mib = mm;
    return 0;
}

int cfg_check_memory_raise(const struct cfg *c, unsigned long long want_mib, struct cvm_err *err)
{
    unsigned mm = c->max_memory_mib ? c->max_memory_mib : CFG_MEMORY_MAX;
    if (want_mib > mm)
        return cvm_err_set(err, -EINVAL,
                           "linux.resources.memory.limit (%llu MiB) would raise the "
                           "guest RAM above the runtime config's max_memory_mib (%u MiB)",
                           want_mib, mm);
    return 0;
}

unsigned long long cfg_vcpus_for_quota(int64_t quota_us, uint64_t period_us)
{
    if (quota_us <= 0)
        return 0;
    if (period_us == 0)
        period_us = 100000;
    return ((uint64_t)quota_us + period_us - 1) / period_us;
}

int cfg_check_vcpus_raise(const struct cfg *c, unsigned long long want, struct cvm_err *err)
{
    unsigned mv = c->max_vcpus ? c->max_vcpus : CFG_VCPUS_MAX;
    if (want > mv)
        return cvm_err_set(err, -EINVAL,
                           "linux.resources.cpu quota/period (%llu CPUs) would raise the guest's "
                           "vCPUs above the runtime config's max_vcpus (%u)",
                           want, mv);
    return 0;
}

/* An integer in [min, max], then within the operator's bound (0: not resolved, max only). */
static int ann_uint(const char *key, const char *val, unsigned min, unsigned max, unsigned bound,
                    const char *bound_key, unsigned *ret, struct cvm_err *err)
{
    long v;
    if (parse_long(val, min, max, &v) < 0)
        return cvm_err_set(err, -EINVAL, "annotation %s=\"%.32s\": want an integer in [%u, %u]",
                           key, val, min, max);
    if (bound && (unsigned long)v > bound)
        return cvm_err_set(err, -EINVAL, "annotation %s=%ld is above the runtime config's %s (%u)",
                           key, v, bound_key, bound);
    *ret = (unsigned)v;
    return 0;
}

static bool ann_allowed(const struct cfg *c, const char *key)
{
    for (size_t j = 0; j < ELEMENTSOF(vm_annotations); j++)
        if (strcmp(key, vm_annotations[j].key) == 0)
            return (c->allowed_annotations & vm_annotations[j].bit) != 0;
    return true; /* the group key */
}

int cfg_apply_annotations(struct cfg *c, const char *const *keys, const char *const *values,
                          size_t n, struct cvm_err *err)
{
    struct cfg tmp = *c;
    int r;

    for (size_t i = 0; i < n; i++) {
        const char *k = keys[i], *v = values[i] ? values[i] : "";
        if (strncmp(k, CFG_ANN_PREFIX, strlen(CFG_ANN_PREFIX)) != 0)
            continue;
        bool known = strcmp(k, CFG_ANN_VCPUS) == 0 || strcmp(k, CFG_ANN_MEMORY) == 0 ||
                     strcmp(k, CFG_ANN_KARGS) == 0 || strcmp(k, CFG_ANN_GROUP) == 0;
        if (known && !ann_allowed(c, k))
            r = cvm_err_set(err, -EINVAL,
                            "annotation %s is not allowed by the runtime config "
                            "(allowed_annotations)",
                            k);
        else if (strcmp(k, CFG_ANN_VCPUS) == 0)
            r = ann_uint(k, v, CFG_VCPUS_MIN, CFG_VCPUS_MAX, c->max_vcpus, "max_vcpus", &tmp.vcpus,
                         err);
        else if (strcmp(k, CFG_ANN_MEMORY) == 0)
            r = ann_uint(k, v, CFG_MEMORY_MIN, CFG_MEMORY_MAX, c->max_memory_mib, "max_memory_mib",
                         &tmp.memory_mib, err);
        else if (strcmp(k, CFG_ANN_KARGS) == 0) {
            size_t have = strlen(tmp.kernel_args), add = strlen(v);
            if (cfg_check_kernel_args(v) < 0 || have + 1 + add >= sizeof(tmp.kernel_args))
                r = cvm_err_set(err, -EINVAL,
                                "annotation %s: printable ASCII without quotes, under %d bytes", k,
                                CFG_KARGS_MAX);
            else {
                if (have && add)
                    tmp.kernel_args[have++] = ' ';
                memcpy(tmp.kernel_args + have, v, add + 1);
                r = 0;
            }
        } else if (strcmp(k, CFG_ANN_GROUP) == 0)
            r = 0; /* used by `start` for grouping */
        else
            r = cvm_err_set(err, -EINVAL, "unknown annotation \"%.80s\" (known: %s, %s, %s, %s)", k,
                            CFG_ANN_VCPUS, CFG_ANN_MEMORY, CFG_ANN_KARGS, CFG_ANN_GROUP);
        if (r < 0)
            return r;
    }
    *c = tmp;
    return 0;
}

int cfg_check_host_memory(unsigned mem_mib, unsigned long long host_kib, struct cvm_err *err)
{
    if (host_kib && (unsigned long long)mem_mib * 1024ull > host_kib)
        return cvm_err_set(err, -EINVAL,
                           "guest memory %u MiB is more than this host has (%llu MiB)", mem_mib,
                           host_kib / 1024ull);
    return 0;
}

int cfg_load_file(struct cfg *c, const char *path, struct cvm_err *err)
{
    _cleanup_close_ int fd = -EBADF;
    _cleanup_free_ char *data = NULL;
    struct stat st;
    ssize_t n;

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        int r = -errno;
        return r == -ENOENT ? r : cvm_err_set(err, r, "config %s: %s", path, strerror(-r));
    }
    if (fstat(fd, &st) < 0)
        return cvm_err_set(err, -errno, "config %s: stat: %m", path);
    if (!S_ISREG(st.st_mode))
        return cvm_err_set(err, -EINVAL, "config %s: not a regular file", path);
    if (st.st_size > (off_t)CFG_FILE_MAX)
        return cvm_err_set(err, -EFBIG, "config %s: larger than %u bytes", path, CFG_FILE_MAX);
    data = malloc(CFG_FILE_MAX + 1);
    if (!data)
        return cvm_err_set(err, -ENOMEM, "config: out of memory");
    n = read_all(fd, data, CFG_FILE_MAX + 1);
    if (n < 0)
        return cvm_err_set(err, (int)n, "config %s: read failed", path);
    if ((size_t)n > CFG_FILE_MAX)
        return cvm_err_set(err, -EFBIG, "config %s: larger than %u bytes", path, CFG_FILE_MAX);
    int r = cfg_parse(c, data, (size_t)n, err);
    if (r < 0)
        cvm_err_prefix(err, "%s", path);
    return r;
}
