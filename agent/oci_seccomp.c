/* linux.seccomp of config.json -> struct oci_seccomp (pure; syscall names are resolved by
 * agent/seccomp.c when the filter is built, so an unknown name on this arch is skipped
 * there the way runc does). */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "oci_internal.h"
#include "oci_json.h"

#define P(buf, base, key) oj_path(buf, sizeof(buf), base, key)

static const struct {
    const char *name;
    enum oci_seccomp_action act;
} actions[] = {
    {"SCMP_ACT_KILL", OCI_SCMP_KILL_THREAD},
    {"SCMP_ACT_KILL_THREAD", OCI_SCMP_KILL_THREAD},
    {"SCMP_ACT_KILL_PROCESS", OCI_SCMP_KILL_PROCESS},
    {"SCMP_ACT_TRAP", OCI_SCMP_TRAP},
    {"SCMP_ACT_ERRNO", OCI_SCMP_ERRNO},
    {"SCMP_ACT_TRACE", OCI_SCMP_TRACE},
    {"SCMP_ACT_ALLOW", OCI_SCMP_ALLOW},
    {"SCMP_ACT_LOG", OCI_SCMP_LOG},
};

static const struct {
    const char *name;
    enum oci_seccomp_op op;
} ops[] = {
    {"SCMP_CMP_NE", OCI_CMP_NE},
    {"SCMP_CMP_LT", OCI_CMP_LT},
    {"SCMP_CMP_LE", OCI_CMP_LE},
    {"SCMP_CMP_EQ", OCI_CMP_EQ},
    {"SCMP_CMP_GE", OCI_CMP_GE},
    {"SCMP_CMP_GT", OCI_CMP_GT},
    {"SCMP_CMP_MASKED_EQ", OCI_CMP_MASKED_EQ},
};

static int parse_action(const json_t *v, const char *path, enum oci_seccomp_action *out,
                        struct cvm_err *err)
{
    if (!json_is_string(v))
        return cvm_err_set(err, -EINVAL, "%s: expected a seccomp action", path);
    for (size_t k = 0; k < ELEMENTSOF(actions); k++)
        if (strcmp(json_string_value(v), actions[k].name) == 0) {
            *out = actions[k].act;
            return 0;
        }
    return cvm_err_setc(err, RPC_INVALID_ARGUMENT, -EINVAL,
                        "%s: unsupported seccomp action \"%.64s\"", path, json_string_value(v));
}

static int parse_errno_ret(const json_t *o, const char *key, const char *path, int *out,
                           struct cvm_err *err)
{
    const json_t *v = json_object_get(o, key);
    int64_t x = 0;
    int r;
    if (!v || json_is_null(v))
        return 0;
    if ((r = oj_i64(v, path, 0, 4095, &x, err)) < 0)
        return r;
    *out = (int)x;
    return 0;
}

static int parse_arch(const json_t *v, const char *path, char **out, struct cvm_err *err)
{
    if (!json_is_string(v))
        return cvm_err_set(err, -EINVAL, "%s: expected a string", path);
    const char *s = json_string_value(v);
    if (strncmp(s, "SCMP_ARCH_", 10) != 0 || strlen(s) > 40)
        return cvm_err_set(err, -EINVAL, "%s: unknown architecture \"%.40s\"", path, s);
    char *c = strdup(s + 10);
    if (!c)
        return cvm_err_set(err, -ENOMEM, "out of memory");
    for (char *p = c; *p; p++) {
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
        else if (!((*p >= '0' && *p <= '9') || *p == '_')) {
            free(c);
            return cvm_err_set(err, -EINVAL, "%s: unknown architecture", path);
        }
    }
    *out = c;
    return 0;
}

static int parse_rule(const json_t *e, const char *path, struct oci_seccomp_rule *rule,
                      struct cvm_err *err)
{
    char p[160], q[192];
    const json_t *v;
    int r = oj_obj(e, path, err);
    if (r < 0)
        return r;
    if ((v = json_object_get(e, "names")) && !json_is_null(v)) {
        r = oj_strv(v, P(p, path, "names"), OCI_MAX_SECCOMP_NAMES, 64, &rule->names, &rule->n_names,
                    err);
    } else if ((v = json_object_get(e, "name"))) {
        rule->names = calloc(2, sizeof(char *));
        if (!rule->names)
            return cvm_err_set(err, -ENOMEM, "out of memory");
        rule->n_names = 1;
        r = oj_str(v, P(p, path, "name"), 64, &rule->names[0], err);
    } else {
        return cvm_err_set(err, -EINVAL, "%s.names: required", path);
    }
    if (r < 0)
        return r;
    if ((r = parse_action(json_object_get(e, "action"), P(p, path, "action"), &rule->action, err)) <
        0)
        return r;
    rule->errno_ret = 1; /* EPERM */
    if ((r = parse_errno_ret(e, "errnoRet", P(p, path, "errnoRet"), &rule->errno_ret, err)) < 0)
        return r;
    if ((v = json_object_get(e, "args")) && !json_is_null(v)) {
        P(p, path, "args");
        if ((r = oj_arr(v, p, OCI_MAX_SECCOMP_ARGS, err)) < 0)
            return r;
        for (size_t i = 0; i < json_array_size(v); i++) {
            const json_t *a = json_array_get(v, i), *x;
            struct oci_seccomp_arg *arg = &rule->args[i];
            char ap[192];
            uint32_t idx;
            oj_path_idx(ap, sizeof(ap), p, i);
            if ((r = oj_obj(a, ap, err)) < 0 ||
                (r = oj_u32(json_object_get(a, "index"), P(q, ap, "index"), &idx, err)) < 0)
                return r;
            if (idx > 5)
                return cvm_err_set(err, -EINVAL, "%s: index over 5", q);
            arg->index = idx;
            if ((r = oj_u64(json_object_get(a, "value"), P(q, ap, "value"), &arg->value, err)) < 0)
                return r;
            if ((x = json_object_get(a, "valueTwo")) && !json_is_null(x) &&
                (r = oj_u64(x, P(q, ap, "valueTwo"), &arg->value_two, err)) < 0)
                return r;
            x = json_object_get(a, "op");
            bool found = false;
            for (size_t k = 0; x && json_is_string(x) && k < ELEMENTSOF(ops); k++)
                if (strcmp(json_string_value(x), ops[k].name) == 0) {
                    arg->op = ops[k].op;
                    found = true;
                }
            if (!found)
                return cvm_err_set(err, -EINVAL, "%s.op: unknown comparison", ap);
            rule->n_args = i + 1;
        }
    }
    return 0;
}

void oci_seccomp_free(struct oci_seccomp *sc)
{
    if (!sc)
        return;
    for (size_t i = 0; i < sc->n_arches; i++)
        free(sc->arches[i]);
    for (size_t i = 0; i < sc->n_rules; i++)
        oj_strv_free(sc->rules[i].names);
    free(sc->rules);
    free(sc);
}

int oci_parse_seccomp(const json_t *o, const char *path, struct oci_seccomp **ret,
                      struct cvm_err *err)
{
    char p[128], q[160];
    const json_t *v;
    int r = oj_obj(o, path, err);
    if (r < 0)
        return r;
    struct oci_seccomp *sc = calloc(1, sizeof(*sc));
    if (!sc)
        return cvm_err_set(err, -ENOMEM, "out of memory");
    sc->default_errno = 1;
    r = parse_action(json_object_get(o, "defaultAction"), P(p, path, "defaultAction"),
                     &sc->default_action, err);
    if (r >= 0)
        r = parse_errno_ret(o, "defaultErrnoRet", P(p, path, "defaultErrnoRet"), &sc->default_errno,
                            err);
    if (r >= 0 && (v = json_object_get(o, "architectures")) && !json_is_null(v)) {
        P(p, path, "architectures");
        r = oj_arr(v, p, OCI_MAX_ARCHES, err);
        for (size_t i = 0; r >= 0 && i < json_array_size(v); i++) {
            r = parse_arch(json_array_get(v, i), oj_path_idx(q, sizeof(q), p, i), &sc->arches[i],
                           err);
            if (r >= 0)
                sc->n_arches = i + 1;
        }
    }
    if (r >= 0 && (v = json_object_get(o, "syscalls")) && !json_is_null(v)) {
        P(p, path, "syscalls");
        r = oj_arr(v, p, OCI_MAX_SECCOMP_RULES, err);
        if (r >= 0) {
            sc->rules = calloc(json_array_size(v) + 1, sizeof(*sc->rules));
            if (!sc->rules)
                r = cvm_err_set(err, -ENOMEM, "out of memory");
        }
        for (size_t i = 0; r >= 0 && i < json_array_size(v); i++) {
            sc->n_rules = i + 1;
            r = parse_rule(json_array_get(v, i), oj_path_idx(q, sizeof(q), p, i), &sc->rules[i],
                           err);
        }
    }
    if (r >= 0 && (v = json_object_get(o, "listenerPath")) && json_is_string(v) &&
        json_string_length(v) > 0)
        r = cvm_err_setc(err, RPC_UNIMPLEMENTED, -EOPNOTSUPP,
                         "%s.listenerPath: seccomp notify is not supported", path);
    if (r < 0) {
        oci_seccomp_free(sc);
        return r;
    }
    *ret = sc;
    return 0;
}
