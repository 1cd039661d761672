/* linux.devices (the nodes a container gets: device plugins, CDI, ctr --device) and
 * linux.resources.devices (its cgroup device rules), parsed as runc reads them. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "oci_internal.h"
#include "oci_json.h"

#define P(buf, base, key) oj_path(buf, sizeof(buf), base, key)

static int parse_type(const json_t *v, const char *path, const char *allowed, char *out,
                      struct cvm_err *err)
{
    const char *t = json_is_string(v) ? json_string_value(v) : NULL;
    if (!t || strlen(t) != 1 || !strchr(allowed, t[0]))
        return cvm_err_set(err, -EINVAL, "%s: want one of \"%s\"", path, allowed);
    *out = t[0];
    return 0;
}

/* major/minor of a device node: what makedev can carry. */
static int parse_num(const json_t *v, const char *path, uint32_t *out, struct cvm_err *err)
{
    int64_t n;
    int r = oj_i64(v, path, 0, UINT32_MAX, &n, err);
    if (r < 0)
        return r;
    *out = (uint32_t)n;
    return 0;
}

int oci_parse_devices(const json_t *a, struct oci_spec *s, struct cvm_err *err)
{
    char p[64], q[96];
    int r = oj_arr(a, "linux.devices", OCI_MAX_DEVICES, err);
    if (r < 0)
        return r;
    s->devices = calloc(json_array_size(a) + 1, sizeof(*s->devices));
    if (!s->devices)
        return cvm_err_set(err, -ENOMEM, "out of memory");
    for (size_t i = 0; i < json_array_size(a); i++) {
        const json_t *e = json_array_get(a, i), *v;
        struct oci_device *d = &s->devices[s->n_devices];
        oj_path_idx(p, sizeof(p), "linux.devices", i);
        if ((r = oj_obj(e, p, err)) < 0)
            return r;
        if ((r = oj_str(json_object_get(e, "path"), P(q, p, "path"), OCI_MAX_STR, &d->path, err)) <
            0)
            return r;
        s->n_devices++;
        if (!d->path)
            return cvm_err_set(err, -EINVAL, "%s.path: required", p);
        if ((r = oci_check_abs_path(d->path, q, err)) < 0)
            return r;
        if (strcmp(d->path, "/") == 0 || d->path[strlen(d->path) - 1] == '/')
            return cvm_err_set(err, -EINVAL, "%s: \"%s\" names no file", q, d->path);
        if ((r = parse_type(json_object_get(e, "type"), P(q, p, "type"), "cubp", &d->type, err)) <
            0)
            return r;
        if (d->type == 'u')
            d->type = 'c'; /* unbuffered character device: mknod makes it as 'c' */
        if (d->type != 'p' &&
            ((r = parse_num(json_object_get(e, "major"), P(q, p, "major"), &d->major, err)) < 0 ||
             (r = parse_num(json_object_get(e, "minor"), P(q, p, "minor"), &d->minor, err)) < 0))
            return r;
        d->mode = 0666;
        if ((v = json_object_get(e, "fileMode")) && !json_is_null(v)) {
            if ((r = oj_u32(v, P(q, p, "fileMode"), &d->mode, err)) < 0)
                return r;
            d->mode &= 07777; /* runc keeps only the permission bits; the type comes from "type" */
        }
        if ((v = json_object_get(e, "uid")) && !json_is_null(v) &&
            (r = oj_u32(v, P(q, p, "uid"), &d->uid, err)) < 0)
            return r;
        if ((v = json_object_get(e, "gid")) && !json_is_null(v) &&
            (r = oj_u32(v, P(q, p, "gid"), &d->gid, err)) < 0)
            return r;
    }
    return 0;
}

static int parse_access(const json_t *v, const char *path, unsigned *out, struct cvm_err *err)
{
    const char *s = json_is_string(v) ? json_string_value(v) : NULL;
    if (!v || json_is_null(v)) {
        *out = OCI_DEV_ACC_R | OCI_DEV_ACC_W | OCI_DEV_ACC_M; /* runc: empty means "rwm" */
        return 0;
    }
    if (!s || strlen(s) > 3)
        return cvm_err_set(err, -EINVAL, "%s: want a subset of \"rwm\"", path);
    *out = 0;
    for (; *s; s++) {
        unsigned bit = *s == 'r'   ? OCI_DEV_ACC_R
                       : *s == 'w' ? OCI_DEV_ACC_W
                       : *s == 'm' ? OCI_DEV_ACC_M
                                   : 0;
        if (!bit)
            return cvm_err_set(err, -EINVAL, "%s: want a subset of \"rwm\"", path);
        *out |= bit;
    }
    if (!*out)
        *out = OCI_DEV_ACC_R | OCI_DEV_ACC_W | OCI_DEV_ACC_M;
    return 0;
}

int oci_parse_device_rules(const json_t *a, struct oci_spec *s, struct cvm_err *err)
{
    char p[64], q[96];
    int r = oj_arr(a, "linux.resources.devices", OCI_MAX_DEVICE_RULES, err);
    if (r < 0)
        return r;
    s->device_rules = calloc(json_array_size(a) + 1, sizeof(*s->device_rules));
    if (!s->device_rules)
        return cvm_err_set(err, -ENOMEM, "out of memory");
    for (size_t i = 0; i < json_array_size(a); i++) {
        const json_t *e = json_array_get(a, i), *v;
        struct oci_device_rule *d = &s->device_rules[i];
        oj_path_idx(p, sizeof(p), "linux.resources.devices", i);
        if ((r = oj_obj(e, p, err)) < 0)
            return r;
        if ((r = oj_bool(json_object_get(e, "allow"), P(q, p, "allow"), &d->allow, err)) < 0)
            return r;
        d->type = 'a';
        if ((v = json_object_get(e, "type")) && !json_is_null(v) &&
            (r = parse_type(v, P(q, p, "type"), "acb", &d->type, err)) < 0)
            return r;
        d->major = d->minor = -1;
        if ((v = json_object_get(e, "major")) && !json_is_null(v) &&
            (r = oj_i64(v, P(q, p, "major"), -1, UINT32_MAX, &d->major, err)) < 0)
            return r;
        if ((v = json_object_get(e, "minor")) && !json_is_null(v) &&
            (r = oj_i64(v, P(q, p, "minor"), -1, UINT32_MAX, &d->minor, err)) < 0)
            return r;
        if ((r = parse_access(json_object_get(e, "access"), P(q, p, "access"), &d->access, err)) <
            0)
            return r;
        s->n_device_rules++;
    }
    return 0;
}
