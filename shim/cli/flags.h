/* Go-flag-style command line of the shim (spec §2.2, §2.3). PURE. */
#ifndef CVM_SHIM_FLAGS_H
#define CVM_SHIM_FLAGS_H

#include <stdbool.h>

enum shim_action { SHIM_SERVE, SHIM_START, SHIM_DELETE, SHIM_VERSION, SHIM_INFO };

struct shim_flags {
    const char *namespace_;
    const char *id;
    const char *address;
    const char *publish_binary;
    const char *bundle;
    const char *socket;
    const char *debug_socket;
    bool debug;
    bool version;
    bool info;
    enum shim_action action;
    const char *unknown; /* first unknown flag (ignored, reported for logging) */
};

/* Parses argv (argv[0] skipped). Strings point into argv. -EINVAL on a value flag without a
 * value, a bad boolean, or an unknown action word (message in errbuf). Unknown flags are
 * ignored for forward compatibility (a following non-flag word is treated as the action, as
 * Go would for a boolean). */
int shim_flags_parse(int argc, char *const *argv, struct shim_flags *ret, char *errbuf,
                     unsigned errlen);

#endif
