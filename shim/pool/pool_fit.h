/* Whether a new sandbox may take a pooled VM (shim/pool). PURE. */
#ifndef CVM_SHIM_POOL_FIT_H
#define CVM_SHIM_POOL_FIT_H

#include <jansson.h>
#include <stddef.h>

#include "config.h"

/* 0 when the sandbox whose OCI spec is `spec` (its config.json) can run in a pooled VM of
 * cfg's shape; otherwise -EXDEV (the shape differs) or -EINVAL (spec not an object) with the
 * reason in why (n bytes), for the log and boot.log ("pool: cold boot: <why>"):
 *   - the pool is off (cfg->pool_size 0);
 *   - a vcpus or memory_mib annotation asks for another size than the pool's, or kernel_args
 *     asks for another command line (a pooled kernel has booted already);
 *   - linux.resources.memory.limit is above the guest RAM (a cold boot raises the RAM to it);
 *   - the network namespace the spec names by path (CRI's pod netns, CNI done) holds more
 *     interfaces (netns_links; -1: no path) than a pooled VM has NICs (its netns was empty
 *     at boot: spare_nics), which cannot be hot-plugged. */
int pool_fit(const struct cfg *cfg, json_t *spec, int netns_links, char *why, size_t n);
/* The network namespace path of the spec (linux.namespaces), or NULL. */
const char *pool_spec_netns(json_t *spec);

#endif
