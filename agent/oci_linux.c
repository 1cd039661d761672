/* The "linux" section of config.json: namespaces, resources, sysctls, masked and read-only
 * paths, rootfs propagation; and mount options (shared with "mounts"). */
#include <errno.h>
#include <jansson.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include "cleanup.h"
#include "oci_internal.h"
#include "oci_json.h"

#define P(buf, base, key) oj_path(buf, sizeof(buf), base, key)

static const struct {
    const char *name;
    bool clear;
    unsigned long flag;
} mount_flags[] = {
    {"ro", false, MS_RDONLY},
    {"rw", true, MS_RDONLY},
    {"nosuid", false, MS_NOSUID},
    {"suid", true, MS_NOSUID},
    {"nodev", false, MS_NODEV},
    {"dev", true, MS_NODEV},
    {"noexec", false, MS_NOEXEC},
    {"exec", true, MS_NOEXEC},
    {"sync", false, MS_SYNCHRONOUS},
    {"async", true, MS_SYNCHRONOUS},
    {"dirsync", false, MS_DIRSYNC},
    {"remount", false, MS_REMOUNT},
    {"mand", false, MS_MANDLOCK},
    {"nomand", true, MS_MANDLOCK},
    {"atime", true, MS_NOATIME},
    {"noatime", false, MS_NOATIME},
    {"diratime", true, MS_NODIRATIME},
    {"nodiratime", false, MS_NODIRATIME},
    {"relatime", false, MS_RELATIME},
    {"norelatime", true, MS_RELATIME},
    {"strictatime", false, MS_STRICTATIME},
    {"nostrictatime", true, MS_STRICTATIME},
};

static const struct {
    const char *name;
    unsigned long flag;
} propagation_flags[] = {
    {"private", MS_PRIVATE},       {"rprivate", MS_PRIVATE | MS_REC},
    {"shared", MS_SHARED},         {"rshared", MS_SHARED | MS_REC},
    {"slave", MS_SLAVE},           {"rslave", MS_SLAVE | MS_REC},
    {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
};

static int propagation_from_name(const char *s, unsigned long *out)
{
    for (size_t k = 0; k < ELEMENTSOF(propagation_flags); k++)
        if (strcmp(s, propagation_flags[k].name) == 0) {
            *out = propagation_flags[k].flag;
            return 0;
        }
    return -EINVAL;
}

int oci_parse_mount_options(const json_t *opts, const char *path, struct oci_mount *m,
                            struct cvm_err *err)
{
    char p[160];
    char data[OCI_MAX_STR];
    size_t dlen = 0;
    int r = oj_arr(opts, path, 64, err);
    if (r < 0)
        return r;
    data[0] = '\0';
    for (size_t i = 0; i < json_array_size(opts); i++) {
        const json_t *e = json_array_get(opts, i);
        oj_path_idx(p, sizeof(p), path, i);
        if (!json_is_string(e))
            return cvm_err_set(err, -EINVAL, "%s: expected a string", p);
        const char *o = json_string_value(e);
        size_t olen = json_string_length(e);
        bool done = false;
        if (olen == 0 || memchr(o, '\0', olen) || olen > 1024)
            return cvm_err_set(err, -EINVAL, "%s: bad option", p);
        for (size_t k = 0; k < ELEMENTSOF(mount_flags) && !done; k++)
            if (strcmp(o, mount_flags[k].name) == 0) {
                if (mount_flags[k].clear)
                    m->flags &= ~mount_flags[k].flag;
                else
                    m->flags |= mount_flags[k].flag;
                done = true;
            }
        if (!done && (strcmp(o, "bind") == 0 || strcmp(o, "rbind") == 0)) {
            m->bind = true;
            m->recursive = o[0] == 'r';
            done = true;
        }
        if (!done && propagation_from_name(o, &m->propagation) == 0)
            done = true;
        if (!done && strcmp(o, "tmpcopyup") == 0)
            done = true; /* runc extension; a fresh tmpfs here */
        if (done)
            continue;
        if (strchr(o, ','))
            return cvm_err_set(err, -EINVAL, "%s: ',' inside an option", p);
        if (dlen + olen + 2 > sizeof(data))
            return cvm_err_set(err, -E2BIG, "%s: mount data too long", path);
        if (dlen)
            data[dlen++] = ',';
        memcpy(data + dlen, o, olen + 1);
        dlen += olen;
    }
    if (dlen) {
        free(m->data);
        m->data = strdup(data);
        if (!m->data)
            return cvm_err_set(err, -ENOMEM, "out of memory");
    }
    return 0;
}

static const struct {
    const char *name;
    int type;
} ns_types[] = {
    {"pid", CLONE_NEWPID},       {"mount", CLONE_NEWNS},
    {"ipc", CLONE_NEWIPC},       {"uts", CLONE_NEWUTS},
    {"cgroup", CLONE_NEWCGROUP}, {"network", CLONE_NEWNET},
    {"user", CLONE_NEWUSER},     {"time", 0x80 /* CLONE_NEWTIME */},
};

static int parse_namespaces(const json_t *a, struct oci_spec *s, struct cvm_err *err)
{
    char p[128], q[160];
    int r = oj_arr(a, "linux.namespaces", OCI_MAX_NAMESPACES, err);
    if (r < 0)
        return r;
    for (size_t i = 0; i < json_array_size(a); i++) {
        const json_t *e = json_array_get(a, i), *v;
        _cleanup_free_ char *type = NULL, *nspath = NULL;
        int t = 0;
        oj_path_idx(p, sizeof(p), "linux.namespaces", i);
        if ((r = oj_obj(e, p, err)) < 0 ||
            (r = oj_str(json_object_get(e, "type"), P(q, p, "type"), 32, &type, err)) < 0)
            return r;
        for (size_t k = 0; k < ELEMENTSOF(ns_types); k++)
            if (strcmp(type, ns_types[k].name) == 0)
                t = ns_types[k].type;
        if (!t)
            return cvm_err_set(err, -EINVAL, "%s.type: unknown namespace \"%s\"", p, type);
        if (t == CLONE_NEWUSER || t == 0x80)
            return cvm_err_setc(err, RPC_UNIMPLEMENTED, -EOPNOTSUPP,
                                "%s: %s namespaces are not supported", p, type);
        if ((v = json_object_get(e, "path")) && !json_is_null(v)) {
            if ((r = oj_str(v, P(q, p, "path"), OCI_MAX_STR, &nspath, err)) < 0)
                return r;
            if (nspath[0] && (r = oci_check_abs_path(nspath, q, err)) < 0)
                return r;
        }
        /* The sandbox VM is the network namespace: every container shares the guest's. */
        if (t == CLONE_NEWNET)
            continue;
        for (size_t k = 0; k < s->n_namespaces; k++)
            if (s->namespaces[k].type == t)
                return cvm_err_set(err, -EINVAL, "%s: duplicate %s namespace", p, type);
        s->namespaces[s->n_namespaces].type = t;
        s->namespaces[s->n_namespaces].path = nspath && nspath[0] ? TAKE_PTR(nspath) : NULL;
        s->n_namespaces++;
    }
    return 0;
}

static int parse_sysctls(const json_t *o, struct oci_spec *s, struct cvm_err *err)
{
    const char *key;
    const json_t *v;
    char p[160];
    int r = oj_obj(o, "linux.sysctl", err);
    if (r < 0)
        return r;
    if (json_object_size(o) > OCI_MAX_SYSCTLS)
        return cvm_err_set(err, -E2BIG, "linux.sysctl: more than %u entries", OCI_MAX_SYSCTLS);
    s->sysctls = calloc(json_object_size(o) + 1, sizeof(*s->sysctls));
    if (!s->sysctls)
        return cvm_err_set(err, -ENOMEM, "out of memory");
    json_object_foreach((json_t *)o, key, v)
    {
        struct oci_sysctl *sc = &s->sysctls[s->n_sysctls];
        snprintf(p, sizeof(p), "linux.sysctl.%.100s", key);
        size_t kl = strlen(key);
        if (kl == 0 || kl > 128 || strstr(key, "..") || key[0] == '.' || key[0] == '/')
            return cvm_err_set(err, -EINVAL, "%s: bad sysctl name", p);
        for (const char *c = key; *c; c++)
            if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                  (*c >= '0' && *c <= '9') || *c == '_' || *c == '.' || *c == '-' || *c == '/'))
                return cvm_err_set(err, -EINVAL, "%s: bad sysctl name", p);
        sc->key = strdup(key);
        if (!sc->key)
            return cvm_err_set(err, -ENOMEM, "out of memory");
        s->n_sysctls++;
        if ((r = oj_str(v, p, 1024, &sc->value, err)) < 0)
            return r;
    }
    return 0;
}

void oci_resources_init(struct oci_resources *r)
{
    memset(r, 0, sizeof(*r));
    r->memory_limit = r->memory_reservation = r->memory_swap = -1;
    r->cpu_quota = -1;
    r->pids_limit = -1;
}

void oci_resources_done(struct oci_resources *r)
{
    if (!r)
        return;
    free(r->cpuset_cpus);
    free(r->cpuset_mems);
    oci_resources_init(r);
}

static int cpuset_str(const json_t *v, const char *path, char **out, struct cvm_err *err)
{
    int r = oj_str(v, path, 256, out, err);
    if (r < 0)
        return r;
    for (const char *c = *out; *c; c++)
        if (!((*c >= '0' && *c <= '9') || *c == ',' || *c == '-'))
            return cvm_err_set(err, -EINVAL, "%s: expected a CPU list like 0-3,5", path);
    return 0;
}

int oci_parse_resources_obj(const json_t *o, const char *path, struct oci_resources *res,
                            struct cvm_err *err)
{
    char p[128], q[160];
    const json_t *sec, *v;
    int r = oj_obj(o, path, err);
    if (r < 0)
        return r;
    if ((sec = json_object_get(o, "memory")) && !json_is_null(sec)) {
        P(p, path, "memory");
        if ((r = oj_obj(sec, p, err)) < 0)
            return r;
        if ((v = json_object_get(sec, "limit")) && !json_is_null(v) &&
            (r = oj_i64(v, P(q, p, "limit"), -1, INT64_MAX, &res->memory_limit, err)) < 0)
            return r;
        if ((v = json_object_get(sec, "reservation")) && !json_is_null(v) &&
            (r = oj_i64(v, P(q, p, "reservation"), -1, INT64_MAX, &res->memory_reservation, err)) <
                0)
            return r;
        if ((v = json_object_get(sec, "swap")) && !json_is_null(v) &&
            (r = oj_i64(v, P(q, p, "swap"), -1, INT64_MAX, &res->memory_swap, err)) < 0)
            return r;
        if (res->memory_limit >= 0 && res->memory_swap >= 0 && res->memory_swap < res->memory_limit)
            return cvm_err_set(err, -EINVAL, "%s: swap (memory+swap) below limit", p);
    }
    if ((sec = json_object_get(o, "cpu")) && !json_is_null(sec)) {
        P(p, path, "cpu");
        if ((r = oj_obj(sec, p, err)) < 0)
            return r;
        if ((v = json_object_get(sec, "shares")) && !json_is_null(v) &&
            (r = oj_u64(v, P(q, p, "shares"), &res->cpu_shares, err)) < 0)
            return r;
        if ((v = json_object_get(sec, "quota")) && !json_is_null(v) &&
            (r = oj_i64(v, P(q, p, "quota"), -1, INT64_MAX, &res->cpu_quota, err)) < 0)
            return r;
        if ((v = json_object_get(sec, "period")) && !json_is_null(v) &&
            (r = oj_u64(v, P(q, p, "period"), &res->cpu_period, err)) < 0)
            return r;
        if (res->cpu_period && (res->cpu_period < 1000 || res->cpu_period > 1000000))
            return cvm_err_set(err, -EINVAL, "%s.period: must be 1000..1000000 us", p);
        if (res->cpu_shares > 262144)
            return cvm_err_set(err, -EINVAL, "%s.shares: over 262144", p);
        if ((v = json_object_get(sec, "cpus")) && !json_is_null(v) &&
            (r = cpuset_str(v, P(q, p, "cpus"), &res->cpuset_cpus, err)) < 0)
            return r;
        if ((v = json_object_get(sec, "mems")) && !json_is_null(v) &&
            (r = cpuset_str(v, P(q, p, "mems"), &res->cpuset_mems, err)) < 0)
            return r;
    }
    if ((sec = json_object_get(o, "pids")) && !json_is_null(sec)) {
        int64_t lim = 0;
        P(p, path, "pids");
        if ((r = oj_obj(sec, p, err)) < 0 ||
            (r = oj_i64(json_object_get(sec, "limit"), P(q, p, "limit"), INT64_MIN, INT64_MAX, &lim,
                        err)) < 0)
            return r;
        res->pids_limit = lim > 0 ? lim : 0;
        res->pids_set = true;
    }
    return 0;
}

int oci_resources_parse(const char *json, size_t len, struct oci_resources *ret,
                        struct cvm_err *err)
{
    json_t *root = NULL;
    struct oci_resources res;
    int r = oj_load(json, len, 64u << 10, &root, err);
    if (r < 0)
        return r;
    oci_resources_init(&res);
    r = oci_parse_resources_obj(root, "resources", &res, err);
    json_decref(root);
    if (r < 0) {
        oci_resources_done(&res);
        return r;
    }
    *ret = res;
    return 0;
}

static int parse_paths(const json_t *a, const char *path, char ***out, size_t *n,
                       struct cvm_err *err)
{
    int r = oj_strv(a, path, OCI_MAX_PATHS, OCI_MAX_STR, out, n, err);
    if (r < 0)
        return r;
    for (size_t i = 0; i < *n; i++) {
        char p[160];
        if ((r = oci_check_abs_path((*out)[i], oj_path_idx(p, sizeof(p), path, i), err)) < 0)
            return r;
    }
    return 0;
}

int oci_parse_linux(const json_t *o, struct oci_spec *s, struct cvm_err *err)
{
    const json_t *v;
    int r = oj_obj(o, "linux", err);
    if (r < 0)
        return r;
    if ((v = json_object_get(o, "namespaces")) && !json_is_null(v) &&
        (r = parse_namespaces(v, s, err)) < 0)
        return r;
    if ((v = json_object_get(o, "maskedPaths")) && !json_is_null(v) &&
        (r = parse_paths(v, "linux.maskedPaths", &s->masked_paths, &s->n_masked, err)) < 0)
        return r;
    if ((v = json_object_get(o, "readonlyPaths")) && !json_is_null(v) &&
        (r = parse_paths(v, "linux.readonlyPaths", &s->readonly_paths, &s->n_readonly, err)) < 0)
        return r;
    if ((v = json_object_get(o, "sysctl")) && !json_is_null(v) &&
        (r = parse_sysctls(v, s, err)) < 0)
        return r;
    if ((v = json_object_get(o, "resources")) && !json_is_null(v)) {
        const json_t *d;
        if ((r = oci_parse_resources_obj(v, "linux.resources", &s->resources, err)) < 0)
            return r;
        if ((d = json_object_get(v, "devices")) && !json_is_null(d) &&
            (r = oci_parse_device_rules(d, s, err)) < 0)
            return r;
    }
    if ((v = json_object_get(o, "devices")) && !json_is_null(v) &&
        (r = oci_parse_devices(v, s, err)) < 0)
        return r;
    if ((v = json_object_get(o, "seccomp")) && !json_is_null(v) &&
        (r = oci_parse_seccomp(v, "linux.seccomp", &s->seccomp, err)) < 0)
        return r;
    if ((v = json_object_get(o, "rootfsPropagation")) && !json_is_null(v)) {
        if (!json_is_string(v) ||
            propagation_from_name(json_string_value(v), &s->rootfs_propagation) < 0)
            return cvm_err_set(err, -EINVAL, "linux.rootfsPropagation: unknown propagation");
    }
    if ((v = json_object_get(o, "uidMappings")) && json_is_array(v) && json_array_size(v) > 0)
        return cvm_err_setc(err, RPC_UNIMPLEMENTED, -EOPNOTSUPP,
                            "linux.uidMappings: user namespaces are not supported");
    return 0;
}
