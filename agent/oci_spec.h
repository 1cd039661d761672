/* OCI runtime spec (config.json) -> struct: a pure, strict, bounded parser (jansson).
 *
 * Pure: no I/O, no syscalls; the same input gives the same struct or the same error. Strict:
 * a known key with the wrong type, an unknown capability/rlimit/seccomp action, or a value
 * out of range is an error naming its JSON path ("process.user.uid: ..."). Unknown keys are
 * ignored (the spec allows extensions). Bounded: sizes and counts below. */
#ifndef CVM_AGENT_OCI_SPEC_H
#define CVM_AGENT_OCI_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "errmap.h"

/* Documents are bounded by the ttrpc payload cap (4 MiB) less room for the request's other
 * fields; within them, arguments and environment as Linux bounds them: one string up to
 * MAX_ARG_STRLEN (32 pages, NUL included), their number by the document's size. */
#define OCI_MAX_JSON ((4u << 20) - (64u << 10))         /* config.json */
#define OCI_MAX_PROCESS_JSON ((4u << 20) - (64u << 10)) /* an exec's process */
#define OCI_MAX_STR 4096u                               /* one string (paths, names) */
#define OCI_MAX_ARG_STR (131072u - 1) /* one argument or environment entry (MAX_ARG_STRLEN) */
#define OCI_MAX_ARGS 65536u
#define OCI_MAX_ENV 65536u
#define OCI_MAX_MOUNTS 256u
#define OCI_MAX_PATHS 256u /* masked / readonly paths */
#define OCI_MAX_GIDS 64u
#define OCI_MAX_RLIMITS 32u
#define OCI_MAX_SYSCTLS 128u
#define OCI_MAX_NAMESPACES 16u
#define OCI_MAX_SECCOMP_RULES 1024u
#define OCI_MAX_SECCOMP_NAMES 1024u /* names in one rule */
#define OCI_MAX_SECCOMP_ARGS 6u
#define OCI_MAX_ARCHES 16u
#define OCI_MAX_DEVICES 256u       /* linux.devices */
#define OCI_MAX_DEVICE_RULES 1024u /* linux.resources.devices */

struct oci_user {
    uint32_t uid, gid;
    uint32_t gids[OCI_MAX_GIDS];
    size_t n_gids;
    bool has_umask;
    uint32_t umask;
};

struct oci_rlimit {
    int resource; /* RLIMIT_* */
    uint64_t soft, hard;
};

struct oci_caps {
    bool present; /* no "capabilities" object: keep nothing */
    uint64_t bounding, effective, inheritable, permitted, ambient; /* bit n = cap n */
};

struct oci_process {
    bool terminal;
    uint32_t console_width, console_height;
    struct oci_user user;
    char **args; /* NULL-terminated */
    size_t n_args;
    char **env; /* NULL-terminated */
    size_t n_env;
    char *cwd;
    struct oci_caps caps;
    struct oci_rlimit rlimits[OCI_MAX_RLIMITS];
    size_t n_rlimits;
    bool no_new_privileges;
    bool has_oom_score_adj;
    int oom_score_adj;
};

struct oci_mount {
    char *destination;
    char *type;                /* may be NULL (bind) */
    char *source;              /* may be NULL */
    unsigned long flags;       /* MS_* except propagation */
    unsigned long propagation; /* MS_PRIVATE/MS_SLAVE/... or 0 */
    bool bind, recursive;
    char *data; /* the options that are not flags, comma-joined; may be NULL */
};

/* A namespace the process gets: new (path NULL) or joined (path). */
struct oci_namespace {
    int type; /* CLONE_NEW* */
    char *path;
};

enum oci_seccomp_action {
    OCI_SCMP_KILL_THREAD,
    OCI_SCMP_KILL_PROCESS,
    OCI_SCMP_TRAP,
    OCI_SCMP_ERRNO,
    OCI_SCMP_TRACE,
    OCI_SCMP_ALLOW,
    OCI_SCMP_LOG,
};

enum oci_seccomp_op {
    OCI_CMP_NE,
    OCI_CMP_LT,
    OCI_CMP_LE,
    OCI_CMP_EQ,
    OCI_CMP_GE,
    OCI_CMP_GT,
    OCI_CMP_MASKED_EQ
};

struct oci_seccomp_arg {
    unsigned index; /* 0..5 */
    uint64_t value, value_two;
    enum oci_seccomp_op op;
};

struct oci_seccomp_rule {
    char **names;
    size_t n_names;
    enum oci_seccomp_action action;
    int errno_ret; /* for ERRNO (default EPERM) / TRACE */
    struct oci_seccomp_arg args[OCI_MAX_SECCOMP_ARGS];
    size_t n_args;
};

struct oci_seccomp {
    enum oci_seccomp_action default_action;
    int default_errno;
    char *arches[OCI_MAX_ARCHES]; /* libseccomp names: "x86_64", "x86", "x32" ... */
    size_t n_arches;
    struct oci_seccomp_rule *rules;
    size_t n_rules;
};

/* LinuxResources: -1 / 0 mean "not set" as noted. */
struct oci_resources {
    int64_t memory_limit;       /* bytes, -1 = not set (also "max") */
    int64_t memory_reservation; /* -1 = not set */
    int64_t memory_swap;        /* memory+swap, -1 = not set */
    uint64_t cpu_shares;        /* 0 = not set */
    int64_t cpu_quota;          /* -1 = not set */
    uint64_t cpu_period;        /* 0 = not set */
    int64_t pids_limit;         /* -1 = not set; 0 or negative in JSON = unlimited (stored as 0) */
    bool pids_set;
    char *cpuset_cpus, *cpuset_mems;
};

/* linux.devices: a node the container gets. type 'c' ('u' is read as 'c'), 'b' or 'p'. */
struct oci_device {
    char *path;
    char type;
    uint32_t major, minor;
    uint32_t mode;     /* permission bits; 0666 when the spec has no fileMode (as runc) */
    uint32_t uid, gid; /* 0 when absent */
};

/* linux.resources.devices: one cgroup device rule. Later rules win (v1 semantics). */
#define OCI_DEV_ACC_M 1u /* the kernel's BPF_DEVCG_ACC_* bits */
#define OCI_DEV_ACC_R 2u
#define OCI_DEV_ACC_W 4u
struct oci_device_rule {
    bool allow;
    char type;            /* 'a', 'c' or 'b' */
    int64_t major, minor; /* -1 = any */
    unsigned access;      /* OCI_DEV_ACC_* */
};

struct oci_sysctl {
    char *key, *value;
};

struct oci_spec {
    struct oci_process process;
    bool has_process;
    char *root_path;
    bool root_readonly;
    char *hostname;
    struct oci_mount *mounts;
    size_t n_mounts;
    struct oci_namespace namespaces[OCI_MAX_NAMESPACES];
    size_t n_namespaces;
    char **masked_paths;
    size_t n_masked;
    char **readonly_paths;
    size_t n_readonly;
    struct oci_sysctl *sysctls;
    size_t n_sysctls;
    struct oci_resources resources;
    struct oci_seccomp *seccomp;      /* NULL = none */
    unsigned long rootfs_propagation; /* MS_* or 0 */
    struct oci_device *devices;
    size_t n_devices;
    struct oci_device_rule *device_rules;
    size_t n_device_rules;
};

/* Parse a config.json. On failure returns -EINVAL (or -ENOMEM/-E2BIG) and err says where. */
int oci_spec_parse(const char *json, size_t len, struct oci_spec **ret, struct cvm_err *err);
void oci_spec_free(struct oci_spec *s);
/* The spec asks for a pid namespace of its own (a "pid" entry without a path). False when it
 * shares one: the agent's (no entry) or another's (a path). Pure. */
bool oci_spec_has_own_pidns(const struct oci_spec *s);

/* Parse a bare OCI "process" object (exec). */
int oci_process_parse(const char *json, size_t len, struct oci_process *ret, struct cvm_err *err);
void oci_process_done(struct oci_process *p);

/* Parse a bare LinuxResources object (update). */
int oci_resources_parse(const char *json, size_t len, struct oci_resources *ret,
                        struct cvm_err *err);
void oci_resources_done(struct oci_resources *r);
void oci_resources_init(struct oci_resources *r);

#endif
