/* A helper process of a VM (QEMU, virtiofsd, cvm-vsockd) on the loop: fork+exec with an
 * explicit fd map (everything else closed), own process group, optional netns, optional
 * privilege drop (another uid/gid, no capabilities at all, no_new_privs), stderr piped
 * into our log (and its tail kept for death reports), pidfd exit watch, stop with a signal
 * and SIGKILL after a deadline. Children get PR_SET_PDEATHSIG(SIGKILL): a dead shim leaves
 * no VM running. Note for a SIGCHLD catch-all reaper in the same process: reap only pids you
 * do not know (waitid(P_PID)), or hv reports an unknown exit status (255). */
#ifndef CVM_HV_PROC_H
#define CVM_HV_PROC_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct loop;
struct hv_proc;

#define HV_PROC_MAX_FDS 24   /* entries of hv_proc_opts.fds */
#define HV_PROC_MAX_GROUPS 4 /* supplementary groups of hv_proc_creds */

/* Who the child becomes before exec (see hv_proc_opts.creds). */
struct hv_proc_creds {
    bool set_ids; /* switch to uid/gid/groups (we must be root); false: keep our ids */
    uid_t uid;
    gid_t gid;
    gid_t groups[HV_PROC_MAX_GROUPS]; /* the only supplementary groups (e.g. kvm) */
    size_t n_groups;
};

struct hv_proc_fd {
    int src;    /* fd in the parent */
    int target; /* fd number in the child (>= 3) */
};

struct hv_proc_opts {
    const char *name;  /* log module and messages: "qemu", "virtiofsd", "vsockd" */
    char *const *argv; /* argv[0] is looked up in PATH when it has no '/' */
    const struct hv_proc_fd *fds;
    size_t n_fds;
    int netns_fd; /* >= 0: setns(CLONE_NEWNET) in the child before exec */
    /* Non-NULL: after setns and the fd map, in this order: empty the bounding and ambient
     * sets, setgroups/setresgid/setresuid (set_ids), empty the permitted, effective and
     * inheritable sets, PR_SET_NO_NEW_PRIVS, PR_SET_PDEATHSIG(SIGKILL) again (the kernel
     * clears it on a credential change). Any failure fails the spawn. */
    const struct hv_proc_creds *creds;
    bool capture_stdout; /* stdout to a pipe (hv_proc_stdout_fd); else /dev/null */
    /* cgroup.procs files (open for writing): the child writes "0" to each first thing after
     * fork, as root, so it and everything it later starts live in those cgroups. */
    const int *cgroup_fds;
    size_t n_cgroup_fds;
};

/* si: CLD_EXITED (si_status = code) or CLD_KILLED/CLD_DUMPED (si_status = signal). The
 * stderr pipe has been drained into the log before this fires. */
typedef void (*hv_proc_exit_cb)(struct hv_proc *p, const siginfo_t *si, void *data);

/* The exec is confirmed before returning (a CLOEXEC error pipe: a bounded wait until the
 * child has exec'd or failed), so a missing binary is reported here as -errno. */
int hv_proc_spawn(struct loop *l, const struct hv_proc_opts *o, hv_proc_exit_cb cb, void *data,
                  struct hv_proc **ret);

/* Send sig now (0: none) and SIGKILL after kill_after_ms (0: no timer). No-op once exited.
 * Signals go through the child's pidfd (and to its process group, whose id cannot be reused
 * while the unreaped leader holds it). */
int hv_proc_stop(struct hv_proc *p, int sig, unsigned kill_after_ms);
/* Free: a child still running is SIGKILLed (through its pidfd) and reaped later on the loop
 * when its pidfd says it exited (never a blocking wait; no callback). Accepts NULL. */
void hv_proc_free(struct hv_proc *p);
/* At exit, before loop_free: run the loop until every child hv_proc_free killed is reaped,
 * at most timeout_ms (a bounded wait: SIGKILL makes it short); those still not reaped are
 * left for init. Returns how many were left. */
size_t hv_proc_reap_orphans(struct loop *l, unsigned timeout_ms);

pid_t hv_proc_pid(const struct hv_proc *p); /* 0 after exit */
/* The child's pidfd (ours: do not close), -1 once it is reaped or when there is none. */
int hv_proc_pidfd(const struct hv_proc *p);
bool hv_proc_running(const struct hv_proc *p);
int hv_proc_stdout_fd(const struct hv_proc *p); /* -1 when not captured or closed */
void hv_proc_close_stdout(struct hv_proc *p);
/* The last bytes the child wrote to stderr (NUL-terminated, "" when none). */
const char *hv_proc_stderr_tail(const struct hv_proc *p);

/* "exited with status N" / "killed by signal N (SIGKILL)" into buf. */
void hv_proc_describe_exit(const siginfo_t *si, char *buf, size_t n);

#endif
