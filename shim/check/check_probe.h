/* cvm-check's effectful half: look at this host and fill struct host_facts. */
#ifndef CVM_CHECK_PROBE_H
#define CVM_CHECK_PROBE_H

#include "check_report.h"

#define CHECK_KERNEL_HEAD (64u * 1024u)        /* bzImage header + kernel_version string */
#define CHECK_INITRD_MAX (64u * 1024u * 1024u) /* unpacked initrd bytes searched for modules */

/* Facts plus the texts they borrow. */
struct check_probe {
    struct host_facts facts;
    char *help[3]; /* -machine / -device / -object help; owned */
};

/* The runtime config: --config FILE (explicit_path) or assets_default_config(); cfg_defaults()
 * first, so cfg holds the defaults when there is no file or it does not parse. */
void check_probe_config(struct host_facts *f, struct cfg *cfg, const char *explicit_path);

/* Everything else. cfg is completed the way the shim does (assets_resolve: kernel, initrd,
 * cvm-vsockd), so --boot uses what a sandbox would. */
void check_probe_host(struct check_probe *p, struct cfg *cfg);
void check_probe_free(struct check_probe *p);

#endif
