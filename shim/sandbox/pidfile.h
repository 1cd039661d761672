/* Pid files in the sandbox run dir (shim.pid, qemu.pid, virtiofsd.pid, vsockd.pid) so `delete`
 * can clean up after a dead daemon. A pid file records an identity, not just a number:
 *     "<pid> <starttime> <exe>\n"
 * starttime being field 22 of /proc/<pid>/stat (clock ticks since boot) and exe
 * readlink(/proc/<pid>/exe). A pid is acted on only while that identity holds, through a pidfd
 * opened before the identity is (re)checked: a recycled pid, a forged file or a dead process
 * is never signalled. */
#ifndef CVM_SHIM_PIDFILE_H
#define CVM_SHIM_PIDFILE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct pid_ident {
    pid_t pid;
    unsigned long long starttime;
    char exe[PATH_MAX];
};

/* The fields of /proc/<pid>/stat that matter here (numbers as in proc(5)). */
struct proc_stat {
    pid_t pid;                     /* 1 */
    char state;                    /* 3: R S D Z X T t I ... */
    pid_t pgrp;                    /* 5 */
    unsigned long flags;           /* 9: PF_* */
    unsigned long long starttime;  /* 22 */
    unsigned long long sigpending; /* 31: pending signals (bit n-1 = signal n) */
};

/* --- PURE */
/* Parse a pid file's text (len bytes, need not be NUL-terminated): exactly
 * "<pid> <starttime> <exe>" plus at most one '\n'; pid in [1, INT_MAX], exe absolute, no NUL
 * or newline inside. 0 or -EINVAL. */
int pidfile_parse(const char *text, size_t len, struct pid_ident *ret);
/* The pid file text for id into out (n bytes). Length, or -EINVAL (bad exe) / -E2BIG. */
int pidfile_format(const struct pid_ident *id, char *out, size_t n);
/* Parse /proc/<pid>/stat text. The comm field may hold spaces and ')': fields are taken after
 * the LAST ')'. 0 or -EINVAL (garbage, truncated before field 31). */
int proc_stat_parse(const char *stat_text, size_t len, struct proc_stat *ret);
/* Only field 22; the text may be truncated after it. 0 or -EINVAL. */
int proc_stat_starttime(const char *stat_text, size_t len, unsigned long long *ret);
/* Is the process seen as (st, exe) the one id names? 0 yes; -ESRCH it is dead (zombie);
 * -ESTALE another process (pid, starttime or exe differ). exe matches also with the kernel's
 * " (deleted)" suffix (the binary was replaced while running). */
int pid_ident_check(const struct pid_ident *id, const struct proc_stat *st, const char *exe);
/* The process is on its way out: PF_EXITING set or SIGKILL pending (its fds may still be open
 * for a few ms, e.g. a listening socket that still accepts). */
bool proc_stat_exiting(const struct proc_stat *st);

/* --- /proc and pidfds */
/* Read a live process's identity (and its stat when ret_st). -ESRCH when gone or a zombie. */
int pid_ident_read(pid_t pid, struct pid_ident *ret, struct proc_stat *ret_st);
/* Write dir/name atomically with pid's identity. -ESRCH (pid <= 0 or gone) or -errno. */
int pidfile_write(const char *dir, const char *name, pid_t pid);

/* A verified process: its identity, its last stat, and a pidfd (owned). */
struct pid_ref {
    struct pid_ident id;
    struct proc_stat st;
    int pidfd;
};
#define PID_REF_INIT                                                                               \
    {                                                                                              \
        .pidfd = -1                                                                                \
    }

/* Open dir/name, a pidfd on the pid it names, then verify the identity (after opening the
 * pidfd, so the pidfd is known to refer to that very process). 0 with ret->pidfd >= 0;
 * -ENOENT no file; -EINVAL the file does not parse; -ESRCH the process is dead (or so far
 * into its exit that its exe is gone); -ESTALE the
 * pid belongs to another process; other -errno. ret->id is filled whenever the file parsed. */
int pidfile_open(const char *dir, const char *name, struct pid_ref *ret);
/* Re-read the stat and re-verify: 0 alive and the same; -ESRCH exited; -ESTALE. */
int pid_ref_check(struct pid_ref *ref);
/* pidfd_send_signal: no race with pid reuse. */
int pid_ref_kill(const struct pid_ref *ref, int sig);
/* Signal the whole process group ref leads: only when ref is verified alive right now and is
 * its group's leader (a live leader pins the pgid). -ESRCH/-ESTALE/-EPERM (not a leader). */
int pid_ref_kill_group(struct pid_ref *ref, int sig);
/* Has the process exited (pidfd readable)? */
bool pid_ref_exited(const struct pid_ref *ref);
/* Wait until every ref in refs (at most 8; those with pidfd >= 0) has exited or timeout_ms
 * passed. Returns how many are still running. */
int pid_refs_wait(struct pid_ref *const *refs, size_t n, int timeout_ms);
void pid_ref_close(struct pid_ref *ref);

#endif
