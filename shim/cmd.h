/* The shim's subcommands (spec §2). Each returns the process exit status. */
#ifndef CVM_SHIM_CMD_H
#define CVM_SHIM_CMD_H

#include "flags.h"

#define SHIM_NAME "containerd-shim-cvm-v1"
#define SHIM_RUNTIME "io.containerd.cvm.v1"
#ifndef SHIM_VERSION_STR
#define SHIM_VERSION_STR "0.1.0"
#endif
#define SHIM_DEFAULT_ADDRESS "/run/containerd/containerd.sock"

int cmd_start(const struct shim_flags *f);
int cmd_delete(const struct shim_flags *f);
int cmd_serve(const struct shim_flags *f);

#endif
