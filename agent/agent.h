/* The agent's model: containers, their processes (init + execs), and the process-wide
 * state. One event loop; everything here is touched only from loop callbacks. */
#ifndef CVM_AGENT_AGENT_H
#define CVM_AGENT_AGENT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "errmap.h"
#include "oci_spec.h"

#define AGENT_ID_MAX 64
#define AGENT_MAX_CONTAINERS 256
#define AGENT_MAX_EXECS 256  /* per container */
#define AGENT_MAX_WAITERS 64 /* concurrent WaitProcess per process */
#define AGENT_STREAM_BUF (64u << 10)
#define AGENT_API_VERSION 1
#define RUN_FRESH_CODE_MAX_ROUNDS 512 /* per RunFreshCode call (rpc_fresh_code.c) */
#define AGENT_VERSION "0.1.0"

struct loop;
struct loop_source;
struct ttrpc_call;
struct stream;
struct spawn;

enum stdio_kind { STDIO_IN = 0, STDIO_OUT = 1, STDIO_ERR = 2 };

enum proc_state {
    PROC_SPAWNING, /* cloned, setup handshake on the loop (spawn.h); not yet answered */
    PROC_CREATED,  /* set up, blocked before execve until Start */
    PROC_RUNNING,
    PROC_EXITED, /* exited, output maybe still draining */
    PROC_DONE,   /* exited and drained: waiters answered */
};

struct process {
    struct container *c;
    char exec_id[AGENT_ID_MAX + 1]; /* "" = init */
    pid_t pid;
    /* set by process_new: a stream reached EOF (its exit may complete) / attached (Start may
     * release the process) */
    void (*stream_ended)(struct process *p);
    void (*stream_attached)(struct process *p);
    int sync_fd;                   /* parent end of the setup socket until started (non-blocking) */
    struct spawn *spawn;           /* handshake phase in progress (setup or release), or NULL */
    struct ttrpc_call *spawn_call; /* CreateContainer/ExecProcess answered when setup ends */
    enum proc_state state;
    int exit_status;
    uint64_t exited_at_ns;
    bool terminal;
    bool want[3];
    /* Parent-side ends: [IN] write end (or pty master dup), [OUT] read end (or pty master),
     * [ERR] read end. -1 when not used or handed to a stream. */
    int fds[3];
    struct stream *streams[3];
    bool stdin_close_requested;
    struct ttrpc_call *waiters[AGENT_MAX_WAITERS];
    size_t n_waiters;
    struct ttrpc_call *start_call; /* Start waiting for stdio, then for execve */
    struct loop_source *start_timer;
    struct loop_source *drain_timer;
    struct process *next; /* container's exec list */
};

struct container {
    char id[AGENT_ID_MAX + 1];
    struct oci_spec *spec;
    char *rootfs;    /* absolute guest path */
    char *share_dir; /* share mount or NULL */
    char *cgroup;    /* absolute cgroupfs dir, NULL if none */
    struct process *init;
    struct process *execs;
    size_t n_execs;
    bool paused;
    /* Pause/Resume under way (cgroup_async.h): the freeze and the call it answers */
    struct cgroup_op *freeze_op;
    struct ttrpc_call *freeze_call;
    bool freeze_pause;
    int oom_wd;         /* inotify watch of cgroup/memory.events, -1 = none */
    uint64_t oom_kills; /* its oom_kill counter when last read */
    struct container *next;
};

struct agent_config {
    bool pid1;
    const char *cgroup_root; /* parent dir for per-container groups; NULL = no cgroups */
    const char *share_root;  /* where virtio-fs tags get mounted */
};

struct agent {
    struct loop *loop;
    struct agent_config cfg;
    struct container *containers;
    size_t n_containers;
    struct loop_source *sigchld;
    /* OOM kills (cgroup_oom.c): inotify fd, the ids not yet taken by WaitOOM, its caller */
    int oom_fd;
    struct loop_source *oom_src;
    char (*oom_queue)[AGENT_ID_MAX + 1];
    size_t n_oom_queued;
    struct ttrpc_call *oom_waiter;
    bool shutting_down;
    uint64_t init_uptime_ns, ready_uptime_ns; /* CLOCK_BOOTTIME at main() and when serving */
};

/* CLOCK_BOOTTIME in ns: the guest's uptime, for the host's boot phases. */
uint64_t agent_uptime_ns(void);

extern struct agent *agent_global;

/* ---- ids, lookup (agent.c) ---- */
bool agent_id_valid(const char *id, bool allow_empty);
struct container *agent_find_container(struct agent *a, const char *id);
struct process *container_find_process(struct container *c, const char *exec_id);
/* Find by pid among every container's processes (reaper). */
struct process *agent_find_pid(struct agent *a, pid_t pid);
void container_free(struct agent *a, struct container *c);
/* container_free, and done(0 or -errno, data) once its cgroup is removed (a timer-driven
 * wait while the last members exit, bounded by CGROUP_REMOVE_TIMEOUT_MS). Returns false when
 * there was nothing to wait for or the removal could not start: done is not called then. */
bool container_free_then(struct agent *a, struct container *c, void (*done)(int r, void *data),
                         void *data);
/* SIGKILL every process of the container: its cgroup's members, then its init and execs by
 * pid (each not yet reaped, so each pid is still ours). */
void container_kill_all(struct container *c);
int process_new(struct container *c, const char *exec_id, struct process **ret);
void process_free(struct process *p);

/* ---- lifecycle (process.c) ---- */
/* The reaper saw p exit with a wait status. During a setup handshake that ends the setup
 * (spawn_child_exited) and p is freed by its owner's done(): nothing else happens. */
void process_on_exit(struct process *p, int wstatus);
/* Check exited + drained, then answer waiters. */
void process_maybe_done(struct process *p);
/* Start = attach check + release (spawn_release, on the loop). Replies to call later, or
 * now on an immediate failure. */
void process_start(struct process *p, struct ttrpc_call *call, uint32_t stdio_timeout_ms);
/* Keep the CreateContainer/ExecProcess call of a spawning process (cancel-safe), and take
 * it back (NULL if its connection went away meanwhile). */
void process_hold_spawn_call(struct process *p, struct ttrpc_call *call);
struct ttrpc_call *process_take_spawn_call(struct process *p);
/* All announced streams attached? */
bool process_stdio_ready(const struct process *p);
/* A stream attached (stdio.c calls this). */
void process_stream_attached(struct process *p);
int process_add_waiter(struct process *p, struct ttrpc_call *call);
/* Answer every pending call of p with code/msg and abort a handshake in progress (its
 * child is killed): process_free()'s first step. */
void process_fail_pending(struct process *p, int code, const char *msg);

/* ---- reaper (reaper.c) ---- */
int reaper_init(struct agent *a);

#endif
