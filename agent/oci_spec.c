#include "oci_spec.h"

#include <errno.h>
#include <jansson.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/resource.h>

#include "cleanup.h"
#include "oci_internal.h"
#include "oci_json.h"

#define P(buf, base, key) oj_path(buf, sizeof(buf), base, key)

static const struct {
    const char *name;
    int res;
} rlimit_names[] = {
    {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_CORE", RLIMIT_CORE},
    {"RLIMIT_CPU", RLIMIT_CPU},
    {"RLIMIT_DATA", RLIMIT_DATA},
    {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
    {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_NPROC", RLIMIT_NPROC},
    {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
    {"RLIMIT_RTTIME", RLIMIT_RTTIME},
    {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_STACK", RLIMIT_STACK},
};

static int parse_caps_set(const json_t *v, const char *path, uint64_t *out, struct cvm_err *err)
{
    char p[128];
    int r = oj_arr(v, path, 64, err);
    if (r < 0)
        return r;
    uint64_t set = 0;
    for (size_t i = 0; i < json_array_size(v); i++) {
        const json_t *e = json_array_get(v, i);
        cap_value_t cap;
        oj_path_idx(p, sizeof(p), path, i);
        if (!json_is_string(e))
            return cvm_err_set(err, -EINVAL, "%s: expected a capability name", p);
        const char *name = json_string_value(e);
        if (strlen(name) > 64 || cap_from_name(name, &cap) < 0 || cap < 0 || cap > 63)
            return cvm_err_set(err, -EINVAL, "%s: unknown capability \"%.64s\"", p, name);
        set |= 1ull << cap;
    }
    *out = set;
    return 0;
}

static int parse_caps(const json_t *o, const char *path, struct oci_caps *c, struct cvm_err *err)
{
    static const char *const keys[] = {"bounding", "effective", "inheritable", "permitted",
                                       "ambient"};
    uint64_t *dst[] = {&c->bounding, &c->effective, &c->inheritable, &c->permitted, &c->ambient};
    char p[128];
    int r = oj_obj(o, path, err);
    if (r < 0)
        return r;
    memset(c, 0, sizeof(*c));
    c->present = true;
    for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
        const json_t *v = json_object_get(o, keys[i]);
        if (v && !json_is_null(v) && (r = parse_caps_set(v, P(p, path, keys[i]), dst[i], err)) < 0)
            return r;
    }
    return 0;
}

static int parse_rlimits(const json_t *a, const char *path, struct oci_process *pr,
                         struct cvm_err *err)
{
    char p[128], q[160];
    int r = oj_arr(a, path, OCI_MAX_RLIMITS, err);
    if (r < 0)
        return r;
    for (size_t i = 0; i < json_array_size(a); i++) {
        const json_t *e = json_array_get(a, i);
        struct oci_rlimit *rl = &pr->rlimits[i];
        _cleanup_free_ char *type = NULL;
        oj_path_idx(p, sizeof(p), path, i);
        if ((r = oj_obj(e, p, err)) < 0 ||
            (r = oj_str(json_object_get(e, "type"), P(q, p, "type"), 64, &type, err)) < 0 ||
            (r = oj_u64(json_object_get(e, "soft"), P(q, p, "soft"), &rl->soft, err)) < 0 ||
            (r = oj_u64(json_object_get(e, "hard"), P(q, p, "hard"), &rl->hard, err)) < 0)
            return r;
        rl->resource = -1;
        for (size_t k = 0; k < ELEMENTSOF(rlimit_names); k++)
            if (strcmp(type, rlimit_names[k].name) == 0)
                rl->resource = rlimit_names[k].res;
        if (rl->resource < 0)
            return cvm_err_set(err, -EINVAL, "%s.type: unknown rlimit \"%s\"", p, type);
        if (rl->soft > rl->hard)
            return cvm_err_set(err, -EINVAL, "%s: soft limit above hard limit", p);
        for (size_t k = 0; k < i; k++)
            if (pr->rlimits[k].resource == rl->resource)
                return cvm_err_set(err, -EINVAL, "%s.type: duplicate rlimit \"%s\"", p, type);
        pr->n_rlimits = i + 1;
    }
    return 0;
}

static int parse_user(const json_t *o, const char *path, struct oci_user *u, struct cvm_err *err)
{
    char p[128], q[160];
    const json_t *v;
    int r = oj_obj(o, path, err);
    if (r < 0)
        return r;
    if ((v = json_object_get(o, "uid")) && (r = oj_u32(v, P(p, path, "uid"), &u->uid, err)) < 0)
        return r;
    if ((v = json_object_get(o, "gid")) && (r = oj_u32(v, P(p, path, "gid"), &u->gid, err)) < 0)
        return r;
    if ((v = json_object_get(o, "umask")) && !json_is_null(v)) {
        if ((r = oj_u32(v, P(p, path, "umask"), &u->umask, err)) < 0)
            return r;
        if (u->umask > 0777)
            return cvm_err_set(err, -EINVAL, "%s: umask over 0777", p);
        u->has_umask = true;
    }
    if ((v = json_object_get(o, "additionalGids")) && !json_is_null(v)) {
        P(p, path, "additionalGids");
        if ((r = oj_arr(v, p, OCI_MAX_GIDS, err)) < 0)
            return r;
        for (size_t i = 0; i < json_array_size(v); i++)
            if ((r = oj_u32(json_array_get(v, i), oj_path_idx(q, sizeof(q), p, i), &u->gids[i],
                            err)) < 0)
                return r;
        u->n_gids = json_array_size(v);
    }
    if (json_object_get(o, "username") && !json_is_string(json_object_get(o, "username")))
        return cvm_err_set(err, -EINVAL, "%s.username: expected a string", path);
    return 0;
}

static int parse_process_obj(const json_t *o, const char *path, struct oci_process *pr,
                             struct cvm_err *err)
{
    char p[128];
    const json_t *v;
    int r = oj_obj(o, path, err);
    if (r < 0)
        return r;
    if ((v = json_object_get(o, "terminal")) &&
        (r = oj_bool(v, P(p, path, "terminal"), &pr->terminal, err)) < 0)
        return r;
    if ((v = json_object_get(o, "consoleSize")) && !json_is_null(v)) {
        char q[160];
        P(p, path, "consoleSize");
        if ((r = oj_obj(v, p, err)) < 0 ||
            (r = oj_u32(json_object_get(v, "width"), P(q, p, "width"), &pr->console_width, err)) <
                0 ||
            (r = oj_u32(json_object_get(v, "height"), P(q, p, "height"), &pr->console_height,
                        err)) < 0)
            return r;
        if (pr->console_width > 65535 || pr->console_height > 65535)
            return cvm_err_set(err, -EINVAL, "%s: over 65535", p);
    }
    v = json_object_get(o, "user");
    if (!v)
        return cvm_err_set(err, -EINVAL, "%s.user: required", path);
    if ((r = parse_user(v, P(p, path, "user"), &pr->user, err)) < 0)
        return r;
    if ((r = oj_strv(json_object_get(o, "args"), P(p, path, "args"), OCI_MAX_ARGS, OCI_MAX_ARG_STR,
                     &pr->args, &pr->n_args, err)) < 0)
        return r;
    if (pr->n_args == 0 || pr->args[0][0] == '\0')
        return cvm_err_set(err, -EINVAL, "%s.args: at least one non-empty argument is required",
                           path);
    if ((v = json_object_get(o, "env")) && !json_is_null(v)) {
        if ((r = oj_strv(v, P(p, path, "env"), OCI_MAX_ENV, OCI_MAX_ARG_STR, &pr->env, &pr->n_env,
                         err)) < 0)
            return r;
        for (size_t i = 0; i < pr->n_env; i++)
            if (!strchr(pr->env[i], '=') || pr->env[i][0] == '=')
                return cvm_err_set(err, -EINVAL, "%s.env[%zu]: expected KEY=VALUE", path, i);
    } else {
        pr->env = calloc(1, sizeof(char *));
        if (!pr->env)
            return cvm_err_set(err, -ENOMEM, "out of memory");
    }
    if ((r = oj_str(json_object_get(o, "cwd"), P(p, path, "cwd"), OCI_MAX_STR, &pr->cwd, err)) <
            0 ||
        (r = oci_check_abs_path(pr->cwd, p, err)) < 0)
        return r;
    if ((v = json_object_get(o, "capabilities")) && !json_is_null(v) &&
        (r = parse_caps(v, P(p, path, "capabilities"), &pr->caps, err)) < 0)
        return r;
    if ((v = json_object_get(o, "rlimits")) && !json_is_null(v) &&
        (r = parse_rlimits(v, P(p, path, "rlimits"), pr, err)) < 0)
        return r;
    if ((v = json_object_get(o, "noNewPrivileges")) &&
        (r = oj_bool(v, P(p, path, "noNewPrivileges"), &pr->no_new_privileges, err)) < 0)
        return r;
    if ((v = json_object_get(o, "oomScoreAdj")) && !json_is_null(v)) {
        int64_t x = 0;
        if ((r = oj_i64(v, P(p, path, "oomScoreAdj"), -1000, 1000, &x, err)) < 0)
            return r;
        pr->oom_score_adj = (int)x;
        pr->has_oom_score_adj = true;
    }
    return 0;
}

void oci_process_done(struct oci_process *p)
{
    if (!p)
        return;
    oj_strv_free(p->args);
    oj_strv_free(p->env);
    free(p->cwd);
    memset(p, 0, sizeof(*p));
}

int oci_process_parse(const char *json, size_t len, struct oci_process *ret, struct cvm_err *err)
{
    json_t *root = NULL;
    struct oci_process pr = {0};
    int r = oj_load(json, len, OCI_MAX_PROCESS_JSON, &root, err);
    if (r < 0)
        return r;
    r = parse_process_obj(root, "process", &pr, err);
    json_decref(root);
    if (r < 0) {
        oci_process_done(&pr);
        return r;
    }
    *ret = pr;
    return 0;
}

static int parse_mounts(const json_t *a, struct oci_spec *s, struct cvm_err *err)
{
    char p[128], q[160];
    int r = oj_arr(a, "mounts", OCI_MAX_MOUNTS, err);
    if (r < 0)
        return r;
    size_t n = json_array_size(a);
    s->mounts = calloc(n ? n : 1, sizeof(*s->mounts));
    if (!s->mounts)
        return cvm_err_set(err, -ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(a, i), *v;
        struct oci_mount *m = &s->mounts[i];
        s->n_mounts = i + 1;
        oj_path_idx(p, sizeof(p), "mounts", i);
        if ((r = oj_obj(e, p, err)) < 0 ||
            (r = oj_str(json_object_get(e, "destination"), P(q, p, "destination"), OCI_MAX_STR,
                        &m->destination, err)) < 0 ||
            (r = oci_check_abs_path(m->destination, q, err)) < 0)
            return r;
        if ((v = json_object_get(e, "type")) && !json_is_null(v) &&
            (r = oj_str(v, P(q, p, "type"), 64, &m->type, err)) < 0)
            return r;
        if ((v = json_object_get(e, "source")) && !json_is_null(v) &&
            (r = oj_str(v, P(q, p, "source"), OCI_MAX_STR, &m->source, err)) < 0)
            return r;
        if ((v = json_object_get(e, "options")) && !json_is_null(v) &&
            (r = oci_parse_mount_options(v, P(q, p, "options"), m, err)) < 0)
            return r;
        if (m->type && strcmp(m->type, "bind") == 0)
            m->bind = true;
        if (m->bind && !m->source)
            return cvm_err_set(err, -EINVAL, "%s: a bind mount needs a source", p);
        if (!m->bind && !m->type)
            return cvm_err_set(err, -EINVAL, "%s: type required for a non-bind mount", p);
    }
    return 0;
}

static int parse_root(const json_t *o, struct oci_spec *s, struct cvm_err *err)
{
    const json_t *v;
    int r;
    if (!o)
        return cvm_err_set(err, -EINVAL, "root: required");
    if ((r = oj_obj(o, "root", err)) < 0 ||
        (r = oj_str(json_object_get(o, "path"), "root.path", OCI_MAX_STR, &s->root_path, err)) < 0)
        return r;
    if (s->root_path[0] == '\0')
        return cvm_err_set(err, -EINVAL, "root.path: empty");
    if ((v = json_object_get(o, "readonly")) &&
        (r = oj_bool(v, "root.readonly", &s->root_readonly, err)) < 0)
        return r;
    return 0;
}

int oci_spec_parse(const char *json, size_t len, struct oci_spec **ret, struct cvm_err *err)
{
    json_t *root = NULL;
    const json_t *v;
    int r = oj_load(json, len, OCI_MAX_JSON, &root, err);
    if (r < 0)
        return r;
    struct oci_spec *s = calloc(1, sizeof(*s));
    if (!s) {
        json_decref(root);
        return cvm_err_set(err, -ENOMEM, "out of memory");
    }
    oci_resources_init(&s->resources);
    if ((v = json_object_get(root, "ociVersion")) && !json_is_string(v))
        r = cvm_err_set(err, -EINVAL, "ociVersion: expected a string");
    if (r >= 0 && (v = json_object_get(root, "process")) && !json_is_null(v)) {
        s->has_process = true;
        r = parse_process_obj(v, "process", &s->process, err);
    }
    if (r >= 0)
        r = parse_root(json_object_get(root, "root"), s, err);
    if (r >= 0 && (v = json_object_get(root, "hostname")) && !json_is_null(v)) {
        r = oj_str(v, "hostname", 64, &s->hostname, err);
        if (r >= 0 && strchr(s->hostname, '/'))
            r = cvm_err_set(err, -EINVAL, "hostname: contains '/'");
    }
    if (r >= 0 && (v = json_object_get(root, "mounts")) && !json_is_null(v))
        r = parse_mounts(v, s, err);
    if (r >= 0 && (v = json_object_get(root, "linux")) && !json_is_null(v))
        r = oci_parse_linux(v, s, err);
    json_decref(root);
    if (r < 0) {
        oci_spec_free(s);
        return r;
    }
    *ret = s;
    return 0;
}

bool oci_spec_has_own_pidns(const struct oci_spec *s)
{
    for (size_t i = 0; i < s->n_namespaces; i++)
        if (s->namespaces[i].type == CLONE_NEWPID)
            return !s->namespaces[i].path;
    return false;
}

void oci_spec_free(struct oci_spec *s)
{
    if (!s)
        return;
    oci_process_done(&s->process);
    free(s->root_path);
    free(s->hostname);
    for (size_t i = 0; i < s->n_mounts; i++) {
        free(s->mounts[i].destination);
        free(s->mounts[i].type);
        free(s->mounts[i].source);
        free(s->mounts[i].data);
    }
    free(s->mounts);
    for (size_t i = 0; i < s->n_namespaces; i++)
        free(s->namespaces[i].path);
    oj_strv_free(s->masked_paths);
    oj_strv_free(s->readonly_paths);
    for (size_t i = 0; i < s->n_sysctls; i++) {
        free(s->sysctls[i].key);
        free(s->sysctls[i].value);
    }
    free(s->sysctls);
    oci_resources_done(&s->resources);
    oci_seccomp_free(s->seccomp);
    for (size_t i = 0; i < s->n_devices; i++)
        free(s->devices[i].path);
    free(s->devices);
    free(s->device_rules);
    free(s);
}
