/* The shim's subcommands (spec §2). Each returns the process exit status. */
#ifndef CVM_SHIM_CMD_H
#define CVM_SHIM_CMD_H

#include <stddef.h>
#include <stdint.h>

#include "cli/flags.h"

#define SHIM_NAME "containerd-shim-cvm-v1"
#define SHIM_RUNTIME "io.containerd.cvm.v1"
#ifndef SHIM_VERSION_STR
#define SHIM_VERSION_STR "0.1.0"
#endif
#define SHIM_DEFAULT_ADDRESS "/run/containerd/containerd.sock"

int cmd_start(const struct shim_flags *f);
int cmd_delete(const struct shim_flags *f);
int cmd_serve(const struct shim_flags *f);
/* Warm VM pool (daemon/warm.c): `pool-warm <slot> <config>` is a warm shim (started by start,
 * never by hand); `pool-drain` tells every warm shim to exit (make install). */
int cmd_pool_warm(int argc, char **argv);
int cmd_pool_drain(void);
/* -info: options Any read from in_fd, RuntimeInfo written to out_fd (spec §2.7). */
int cmd_info(int in_fd, int out_fd);
/* The RuntimeInfo bytes for these options (empty = none); -EBADMSG if they are no Any. */
int shim_info_build(const uint8_t *opts, size_t opts_len, uint8_t **ret, size_t *ret_len);

#endif
