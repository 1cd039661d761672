/* runc's command line, parsed (pure): global flags, a subcommand, its flags, its operands.
 *
 * Callers (Docker's containerd-shim-runc-v2, podman's conmon, people) write flags the way
 * urfave/cli accepts them: "--name value", "--name=value", "-name value", single-letter
 * aliases ("-d"), booleans alone or as "--name=true|false". Every flag a subcommand of runc
 * knows is accepted; the ones a VM cannot honour are accepted and named in the README. An
 * unknown flag is an error, as in runc. For exec, parsing stops at the container id: what
 * follows is the command. */
#ifndef CVM_RT_ARGS_H
#define CVM_RT_ARGS_H

#include <stdbool.h>
#include <stddef.h>

#define RT_MAX_FLAGS 24
#define RT_MAX_OPERANDS 64

struct rt_flag_val {
    const char *name;  /* canonical long name (static) */
    const char *value; /* "true" for a boolean; points into argv otherwise */
};

struct rt_args {
    /* global flags */
    const char *root;
    const char *log;
    const char *log_format;
    const char *cvm_config;
    bool systemd_cgroup;
    bool debug;
    /* the subcommand, its flags (in order; a repeated flag appears each time) and operands */
    const char *cmd;
    struct rt_flag_val flags[RT_MAX_FLAGS];
    size_t n_flags;
    const char *operands[RT_MAX_OPERANDS];
    size_t n_operands;
    bool help, version;
};

/* 0, or -EINVAL with a message for the user in err (n bytes). argv[0] is the program. */
int rt_args_parse(int argc, char **argv, struct rt_args *ret, char *err, size_t n);
/* The last value of a flag of the subcommand (by canonical name), or NULL. */
const char *rt_flag(const struct rt_args *a, const char *name);
/* A boolean flag: set and not "false". */
bool rt_flag_bool(const struct rt_args *a, const char *name);

#endif
