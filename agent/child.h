/* The child side of a container process, between clone() and execve(): runs in the new
 * process only, reports failures on the setup socket and never returns. */
#ifndef CVM_AGENT_CHILD_H
#define CVM_AGENT_CHILD_H

#include "agent.h"
#include "oci_spec.h"

struct child_args {
    const struct oci_spec *spec;    /* container spec (mounts, seccomp, hostname, ...) */
    const struct oci_process *proc; /* the process to run */
    const char *rootfs;             /* init: absolute guest path */
    const char *share_dir;          /* for relative bind sources; may be NULL */
    bool is_init;
    bool terminal;
    int sync_fd;
    int stdio[3];  /* fds to put on 0,1,2 */
    int ns_fds[8]; /* exec: namespaces to join, -1 terminated */
    int ns_types[8];
    bool unshare_cgroup; /* after the parent placed us */
};

_Noreturn void child_main(struct child_args *a);

/* child_mounts.c: everything up to and including pivot_root, masks, read-only root. */
int child_setup_rootfs(const struct child_args *a, char *msg, size_t msgsz);

/* seccomp.c: build and load the filter from the spec. */
int seccomp_load_spec(const struct oci_seccomp *sc, char *msg, size_t msgsz);

#endif
