/* The process lifecycle as one state x event table (spec §3.4). PURE. */
#ifndef CVM_SHIM_TASK_STATE_H
#define CVM_SHIM_TASK_STATE_H

/* Values match containerd.v1.types.Status. */
enum proc_status {
    PROC_UNKNOWN = 0,
    PROC_CREATED = 1,
    PROC_RUNNING = 2,
    PROC_STOPPED = 3,
    PROC_PAUSED = 4,
    PROC_PAUSING = 5,
    _PROC_STATUS_MAX,
};

enum proc_event {
    PEV_START,   /* Start RPC */
    PEV_EXIT,    /* the process exited (agent) and its output drained */
    PEV_KILL,    /* Kill RPC */
    PEV_PAUSE,   /* Pause RPC */
    PEV_RESUME,  /* Resume RPC */
    PEV_DELETE,  /* Delete RPC */
    PEV_EXEC,    /* Exec RPC on the init process (init must run) */
    PEV_VM_DIED, /* QEMU or the agent connection died */
    _PEV_MAX,
};

struct proc_transition {
    int code;              /* 0: allowed; else the rpc code to answer (FAILED_PRECONDITION...) */
    enum proc_status next; /* state after the event (when allowed) */
    int noop;              /* allowed but nothing to do (e.g. exit of a stopped process) */
};

const struct proc_transition *proc_transition(enum proc_status s, enum proc_event e);
const char *proc_status_name(enum proc_status s);
const char *proc_event_name(enum proc_event e);

#endif
