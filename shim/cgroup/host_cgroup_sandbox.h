/* The task service's side of the sandbox's host cgroup (host_cgroup.h): what Create and Update
 * do with linux.cgroupsPath, linux.resources and runc's shim options. */
#ifndef CVM_SHIM_HOST_CGROUP_SANDBOX_H
#define CVM_SHIM_HOST_CGROUP_SANDBOX_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "errmap.h"
#include "google/protobuf/any.pb-c.h"
#include "cgroup/host_cgroup_limits.h"

struct host_cgroup;
struct sandbox;
struct container;

#define RUNC_OPTIONS_URL "containerd.runc.v1.Options"
#define RUNCTYPES_CREATE_OPTIONS_URL "containerd.linux.runc.CreateOptions"

/* containerd.runc.v1.Options in CreateTaskRequest.options: fields that mean something for a VM
 * are accepted (shim_cgroup: copied out for the caller; systemd_cgroup: the cgroupsPath form
 * says the same), any other field set to a non-default value fails with
 * INVALID_ARGUMENT naming it. Not runc options: 0 and shim_cgroup "". */
int runc_options_check(const Google__Protobuf__Any *opts, char *shim_cgroup, size_t n,
                       struct cvm_err *err);

/* `start`: the bytes containerd writes to the shim's stdin (the task's Create options as a
 * serialized Any, as runc's shim reads them at start). shim_cgroup gets runc's shim_cgroup
 * (either options type above), "" when there is none: no bytes, not an Any, another type, or
 * options that Create will refuse (Create names the field then; start stays quiet). */
void runc_shim_cgroup_of_start_stdin(const uint8_t *buf, size_t len, char *shim_cgroup, size_t n);

/* Create of the sandbox's first container, cfg resolved (kernel, initrd): with
 * linux.cgroupsPath set, size the guest so the container's memory limit fits (memory_mib is
 * raised to it), make the host cgroup, apply the resources for the VM (guest RAM + overhead)
 * and return it (*ret NULL without a cgroupsPath). *ov gets the overhead used. */
int host_cgroup_for_sandbox(json_t *spec, struct cfg *cfg, struct host_cgroup **ret,
                            struct hcg_overhead *ov, struct cvm_err *err);

/* Update of the container that owns the host cgroup: resources JSON (LinuxResources) ->
 * the host values, written before the guest is updated. */
int host_cgroup_update(struct host_cgroup *cg, const struct hcg_overhead *ov, const uint8_t *json,
                       size_t len, struct cvm_err *err);

#endif
