/* `-info` (spec §2.7): options Any on stdin (may be empty), protobuf containerd.types.RuntimeInfo
 * on stdout. containerd 2.2+ runs it before the first Create of a non-runc runtime. We echo the
 * options, describe the OCI features the guest agent implements and ask for no raw mount types
 * (no containerd.io/runtime-allow-mounts annotation). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "fd.h"
#include "cli/cmd.h"
#include "containerd/types/introspection.pb-c.h"
#include "google/protobuf/any.pb-c.h"

#define INFO_OPTIONS_MAX (1u << 20)
#define FEATURES_URL "types.containerd.io/opencontainers/runtime-spec/1/features/Features"
/* What the agent's OCI parser and container setup implement (agent/oci_*.c). */
#define FEATURES_JSON                                                                              \
    "{\"ociVersionMin\":\"1.0.0\",\"ociVersionMax\":\"1.1.0\","                                    \
    "\"linux\":{\"namespaces\":[\"cgroup\",\"ipc\",\"mount\",\"network\",\"pid\",\"uts\"],"        \
    "\"cgroup\":{\"v1\":false,\"v2\":true,\"systemd\":false,\"systemdUser\":false},"               \
    "\"seccomp\":{\"enabled\":true},"                                                              \
    "\"mountExtensions\":{\"idmap\":{\"enabled\":false}}}}"

int shim_info_build(const uint8_t *opts, size_t opts_len, uint8_t **ret, size_t *ret_len)
{
    Google__Protobuf__Any *in = NULL;
    Google__Protobuf__Any features = GOOGLE__PROTOBUF__ANY__INIT;
    Containerd__Types__RuntimeVersion ver = CONTAINERD__TYPES__RUNTIME_VERSION__INIT;
    Containerd__Types__RuntimeInfo info = CONTAINERD__TYPES__RUNTIME_INFO__INIT;

    if (opts_len > 0) {
        in = google__protobuf__any__unpack(NULL, opts_len, opts);
        if (!in)
            return -EBADMSG;
    }
    ver.version = SHIM_VERSION_STR;
    ver.revision = "";
    features.type_url = FEATURES_URL;
    features.value.data = (uint8_t *)FEATURES_JSON;
    features.value.len = sizeof(FEATURES_JSON) - 1;
    info.name = SHIM_RUNTIME;
    info.version = &ver;
    info.options = in;
    info.features = &features;

    size_t n = containerd__types__runtime_info__get_packed_size(&info);
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf) {
        if (in)
            google__protobuf__any__free_unpacked(in, NULL);
        return -ENOMEM;
    }
    *ret_len = containerd__types__runtime_info__pack(&info, buf);
    *ret = buf;
    if (in)
        google__protobuf__any__free_unpacked(in, NULL);
    return 0;
}

/* The options, whole: more than INFO_OPTIONS_MAX - 1 bytes is refused (-E2BIG). */
static int read_options(int fd, uint8_t **ret, size_t *ret_len)
{
    _cleanup_free_ uint8_t *buf = malloc(INFO_OPTIONS_MAX);
    ssize_t got;
    if (!buf)
        return -ENOMEM;
    got = read_all(fd, buf, INFO_OPTIONS_MAX);
    if (got < 0)
        return (int)got;
    if ((size_t)got == INFO_OPTIONS_MAX)
        return -E2BIG;
    *ret_len = (size_t)got;
    *ret = TAKE_PTR(buf);
    return 0;
}

int cmd_info(int in_fd, int out_fd)
{
    _cleanup_free_ uint8_t *opts = NULL, *out = NULL;
    size_t opts_len = 0, out_len = 0;
    int r = read_options(in_fd, &opts, &opts_len);
    if (r < 0) {
        fprintf(stderr, "%s: -info: reading options: %s\n", SHIM_NAME, strerror(-r));
        return 1;
    }
    r = shim_info_build(opts, opts_len, &out, &out_len);
    if (r < 0) {
        fprintf(stderr, "%s: -info: %s\n", SHIM_NAME,
                r == -EBADMSG ? "options are not a protobuf Any" : strerror(-r));
        return 1;
    }
    r = write_all(out_fd, out, out_len);
    if (r < 0) {
        fprintf(stderr, "%s: -info: writing: %s\n", SHIM_NAME, strerror(-r));
        return 1;
    }
    return 0;
}
