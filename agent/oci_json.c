#include "oci_json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "errmap.h"
#include "oci_internal.h"

const char *oj_path(char *buf, size_t sz, const char *base, const char *key)
{
    snprintf(buf, sz, "%s%s%s", base ? base : "", base && *base ? "." : "", key);
    return buf;
}

const char *oj_path_idx(char *buf, size_t sz, const char *base, size_t idx)
{
    snprintf(buf, sz, "%s[%zu]", base, idx);
    return buf;
}

int oj_obj(const json_t *v, const char *path, struct cvm_err *err)
{
    if (!json_is_object(v))
        return cvm_err_set(err, -EINVAL, "%s: expected an object", path);
    return 0;
}

int oj_arr(const json_t *v, const char *path, size_t max_n, struct cvm_err *err)
{
    if (!json_is_array(v))
        return cvm_err_set(err, -EINVAL, "%s: expected an array", path);
    if (json_array_size(v) > max_n)
        return cvm_err_set(err, -E2BIG, "%s: more than %zu entries", path, max_n);
    return 0;
}

int oj_str(const json_t *v, const char *path, size_t max, char **out, struct cvm_err *err)
{
    if (!json_is_string(v))
        return cvm_err_set(err, -EINVAL, "%s: expected a string", path);
    size_t len = json_string_length(v);
    const char *s = json_string_value(v);
    if (len > max)
        return cvm_err_set(err, -E2BIG, "%s: longer than %zu bytes", path, max);
    if (memchr(s, '\0', len))
        return cvm_err_set(err, -EINVAL, "%s: contains a NUL byte", path);
    char *c = strndup(s, len);
    if (!c)
        return cvm_err_set(err, -ENOMEM, "%s: out of memory", path);
    free(*out);
    *out = c;
    return 0;
}

int oj_bool(const json_t *v, const char *path, bool *out, struct cvm_err *err)
{
    if (!json_is_boolean(v))
        return cvm_err_set(err, -EINVAL, "%s: expected true or false", path);
    *out = json_is_true(v);
    return 0;
}

int oj_i64(const json_t *v, const char *path, int64_t min, int64_t max, int64_t *out,
           struct cvm_err *err)
{
    if (!json_is_integer(v))
        return cvm_err_set(err, -EINVAL, "%s: expected an integer", path);
    json_int_t x = json_integer_value(v);
    if (x < min || x > max)
        return cvm_err_set(err, -EINVAL, "%s: %lld out of range [%lld, %lld]", path, (long long)x,
                           (long long)min, (long long)max);
    *out = x;
    return 0;
}

int oj_u64(const json_t *v, const char *path, uint64_t *out, struct cvm_err *err)
{
    /* jansson integers are signed 64-bit: values above INT64_MAX do not parse at all. */
    int64_t x = 0;
    int r = oj_i64(v, path, 0, INT64_MAX, &x, err);
    if (r < 0)
        return r;
    *out = (uint64_t)x;
    return 0;
}

int oj_u32(const json_t *v, const char *path, uint32_t *out, struct cvm_err *err)
{
    int64_t x = 0;
    int r = oj_i64(v, path, 0, UINT32_MAX, &x, err);
    if (r < 0)
        return r;
    *out = (uint32_t)x;
    return 0;
}

void oj_strv_free(char **v)
{
    if (!v)
        return;
    for (char **p = v; *p; p++)
        free(*p);
    free(v);
}

int oj_strv(const json_t *v, const char *path, size_t max_n, size_t max_len, char ***out,
            size_t *n_out, struct cvm_err *err)
{
    char p[256];
    int r = oj_arr(v, path, max_n, err);
    if (r < 0)
        return r;
    size_t n = json_array_size(v);
    char **vec = calloc(n + 1, sizeof(char *));
    if (!vec)
        return cvm_err_set(err, -ENOMEM, "%s: out of memory", path);
    for (size_t i = 0; i < n; i++) {
        r = oj_str(json_array_get(v, i), oj_path_idx(p, sizeof(p), path, i), max_len, &vec[i], err);
        if (r < 0) {
            oj_strv_free(vec);
            return r;
        }
    }
    oj_strv_free(*out);
    *out = vec;
    *n_out = n;
    return 0;
}

int oj_load(const char *json, size_t len, size_t max, json_t **ret, struct cvm_err *err)
{
    json_error_t jerr;
    if (len > max)
        return cvm_err_set(err, -E2BIG, "JSON document of %zu bytes is over the %zu-byte limit",
                           len, max);
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return cvm_err_set(err, -EINVAL, "invalid JSON at line %d column %d: %s", jerr.line,
                           jerr.column, jerr.text);
    if (!json_is_object(root)) {
        json_decref(root);
        return cvm_err_set(err, -EINVAL, "JSON document: expected an object");
    }
    *ret = root;
    return 0;
}

/* An absolute path without a ".." component (cwd, mount destinations, namespace paths): what
 * every part of the spec parser checks. */
int oci_check_abs_path(const char *p, const char *path, struct cvm_err *err)
{
    if (p[0] != '/')
        return cvm_err_set(err, -EINVAL, "%s: \"%s\" is not an absolute path", path, p);
    for (const char *c = p; (c = strstr(c, "..")); c += 2) {
        bool start = c == p || c[-1] == '/';
        bool end = c[2] == '\0' || c[2] == '/';
        if (start && end)
            return cvm_err_set(err, -EINVAL, "%s: \"..\" is not allowed", path);
    }
    return 0;
}
