/* Socket address = "unix:///run/containerd/s/" + hex(sha256(path.Join(address, ns, group))). */
#include "naming/address.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "fd.h"
#include "naming/sha256.h"

void shim_group_hash(const char *address, const char *ns, const char *group, char out[65])
{
    struct sha256 s;
    uint8_t d[32];
    static const char hex[] = "0123456789abcdef";

    /* Go's path.Join: address is an absolute clean path in practice, ns and group are
     * identifiers, so the join is "<address>/<ns>/<group>". */
    sha256_init(&s);
    sha256_update(&s, address, strlen(address));
    sha256_update(&s, "/", 1);
    sha256_update(&s, ns, strlen(ns));
    sha256_update(&s, "/", 1);
    sha256_update(&s, group, strlen(group));
    sha256_final(&s, d);
    for (int i = 0; i < 32; i++) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 15];
    }
    out[64] = 0;
}

int shim_socket_address(const char *address, const char *ns, const char *group, char *out, size_t n)
{
    char h[65];
    shim_group_hash(address, ns, group, h);
    if ((size_t)snprintf(out, n, "unix://%s/%s", SHIM_SOCKET_DIR, h) >= n)
        return -ENAMETOOLONG;
    return 0;
}

void shim_run_dir(const char *hash, char *out, size_t n)
{
    snprintf(out, n, "%s/%.16s", SHIM_RUN_ROOT, hash);
}

int shim_valid_identifier(const char *s)
{
    size_t n = strlen(s);
    int prev_sep = 1;
    if (n == 0 || n > SHIM_ID_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (alnum)
            prev_sep = 0;
        else if ((c == '.' || c == '_' || c == '-') && !prev_sep)
            prev_sep = 1;
        else
            return 0;
    }
    return !prev_sep;
}

int shim_group_from_spec(const char *json, size_t len, const char *id, char *out, size_t n)
{
    json_t *root = json_loadb(json, len, 0, NULL), *ann;
    const char *g = NULL;

    if (!root)
        return -EINVAL;
    ann = json_object_get(root, "annotations");
    if (json_is_object(ann)) {
        g = json_string_value(json_object_get(ann, SHIM_ANN_SANDBOX_ID));
        if (!g || !*g)
            g = json_string_value(json_object_get(ann, SHIM_ANN_GROUP));
    }
    if (!g || !*g || !shim_valid_identifier(g))
        g = id;
    snprintf(out, n, "%s", g);
    json_decref(root);
    return 0;
}

int shim_group_from_bundle(const char *bundle, const char *id, char *out, size_t n)
{
    char path[4096];
    _cleanup_close_ int fd = -EBADF;
    _cleanup_free_ char *buf = NULL;
    const size_t max = 4u << 20; /* OCI spec cap */
    ssize_t r;

    snprintf(path, sizeof(path), "%s/config.json", bundle);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(out, n, "%s", id);
        return 0;
    }
    buf = malloc(max);
    if (!buf)
        return -ENOMEM;
    r = read_all(fd, buf, max);
    if (r < 0)
        return (int)r;
    if (shim_group_from_spec(buf, (size_t)r, id, out, n) < 0)
        snprintf(out, n, "%s", id);
    return 0;
}
