/* e2e driver for 58-host-cgroup.sh: containerd.task.v2.Task/Create against a running shim with
 * runc's shim options (containerd.runc.v1.Options) in CreateTaskRequest.options, as a
 * containerd client configured for runc would send them; prints "OK" or
 * "STATUS <code> <CODE_NAME> <message>".
 *
 *   task_create_opts ADDRESS_FILE NAMESPACE ID BUNDLE FIELD=VALUE...
 * FIELD: no_pivot_root, no_new_keyring, systemd_cgroup (true/false), io_uid, io_gid (numbers),
 * shim_cgroup, binary_name, root, criu_path, criu_image_path, criu_work_path (strings).
 * Exit 0 when the call completed (whatever its status), 2 on local errors. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "containerd/runc/v1/options.pb-c.h"
#include "containerd/task/v2/shim.pb-c.h"
#include "shim_conn.h"

static int set_field(Containerd__Runc__V1__Options *o, const char *arg)
{
    const char *eq = strchr(arg, '=');
    if (!eq)
        return -EINVAL;
    size_t k = (size_t)(eq - arg);
    const char *v = eq + 1;
    bool b = strcmp(v, "true") == 0;
    struct { const char *name; char **s; } strs[] = {
        {"shim_cgroup", &o->shim_cgroup}, {"binary_name", &o->binary_name}, {"root", &o->root},
        {"criu_path", &o->criu_path}, {"criu_image_path", &o->criu_image_path},
        {"criu_work_path", &o->criu_work_path}};
    for (size_t i = 0; i < ELEMENTSOF(strs); i++)
        if (strlen(strs[i].name) == k && strncmp(arg, strs[i].name, k) == 0) {
            *strs[i].s = (char *)v;
            return 0;
        }
    if (k == 13 && strncmp(arg, "no_pivot_root", k) == 0)
        o->no_pivot_root = b;
    else if (k == 14 && strncmp(arg, "no_new_keyring", k) == 0)
        o->no_new_keyring = b;
    else if (k == 14 && strncmp(arg, "systemd_cgroup", k) == 0)
        o->systemd_cgroup = b;
    else if (k == 6 && strncmp(arg, "io_uid", k) == 0)
        o->io_uid = (uint32_t)strtoul(v, NULL, 10);
    else if (k == 6 && strncmp(arg, "io_gid", k) == 0)
        o->io_gid = (uint32_t)strtoul(v, NULL, 10);
    else
        return -EINVAL;
    return 0;
}

int main(int argc, char **argv)
{
    _cleanup_(freep) uint8_t *packed = NULL;

    if (argc < 5) {
        fprintf(stderr, "usage: %s ADDRESS_FILE NAMESPACE ID BUNDLE FIELD=VALUE...\n", argv[0]);
        return 2;
    }
    Containerd__Runc__V1__Options o = CONTAINERD__RUNC__V1__OPTIONS__INIT;
    for (int i = 5; i < argc; i++)
        if (set_field(&o, argv[i]) < 0) {
            fprintf(stderr, "unknown option %s\n", argv[i]);
            return 2;
        }
    packed = malloc(protobuf_c_message_get_packed_size(&o.base) + 1);
    if (!packed)
        return 2;
    Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
    any.type_url = "containerd.runc.v1.Options";
    any.value.data = packed;
    any.value.len = protobuf_c_message_pack(&o.base, packed);
    Containerd__Task__V2__CreateTaskRequest req = CONTAINERD__TASK__V2__CREATE_TASK_REQUEST__INIT;
    req.id = argv[3];
    req.bundle = argv[4];
    req.options = &any;
    return shim_conn_task_call(argv[1], argv[2], "Create", &req.base);
}
