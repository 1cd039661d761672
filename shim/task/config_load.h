/* The runtime config as Create finds it (create.c), for `start` and warm shims too: the pool
 * must boot and judge with the very config a cold sandbox's Create would read. */
#ifndef CVM_SHIM_TASK_CONFIG_LOAD_H
#define CVM_SHIM_TASK_CONFIG_LOAD_H

#include <stddef.h>

/* The runtime config path in Create/start options (runtimeoptions.v1.Options config_path;
 * "" for none or another type); -EINVAL when they cannot be decoded. */
struct Google__Protobuf__Any;
int task_config_path(const struct Google__Protobuf__Any *opts, char *path, size_t n);
/* The runtime config: path ("" = the default locations, else built-in defaults), bounds
 * resolved against this host. */
struct cfg;
struct cvm_err;
int task_config_load(const char *path, struct cfg *cfg, struct cvm_err *err);
#endif
