/* State x event table. Rejections use FAILED_PRECONDITION, except Kill of a finished
 * process which is NOT_FOUND ("process already finished", what runc answers; tolerated by
 * every caller, spec §3.3 Kill). */
#include "task/proc_state.h"

#include "errmap.h"

#define OK(n)                                                                                      \
    {                                                                                              \
        0, n, 0                                                                                    \
    }
#define NOOP(n)                                                                                    \
    {                                                                                              \
        0, n, 1                                                                                    \
    }
#define NO(s)                                                                                      \
    {                                                                                              \
        RPC_FAILED_PRECONDITION, s, 0                                                              \
    }
#define GONE(s)                                                                                    \
    {                                                                                              \
        RPC_NOT_FOUND, s, 0                                                                        \
    }

static const struct proc_transition table[_PROC_STATUS_MAX][_PEV_MAX] = {
    [PROC_UNKNOWN] =
        {
            [PEV_START] = NO(PROC_UNKNOWN),
            [PEV_EXIT] = NO(PROC_UNKNOWN),
            [PEV_KILL] = NO(PROC_UNKNOWN),
            [PEV_PAUSE] = NO(PROC_UNKNOWN),
            [PEV_RESUME] = NO(PROC_UNKNOWN),
            [PEV_DELETE] = NO(PROC_UNKNOWN),
            [PEV_EXEC] = NO(PROC_UNKNOWN),
            [PEV_VM_DIED] = NO(PROC_UNKNOWN),
        },
    [PROC_CREATED] =
        {
            [PEV_START] = OK(PROC_RUNNING),
            [PEV_EXIT] = OK(PROC_STOPPED), /* Kill of a never-started process exits it */
            [PEV_KILL] = OK(PROC_CREATED), /* handler then synthesises exit 128+sig */
            [PEV_PAUSE] = NO(PROC_CREATED),
            [PEV_RESUME] = NO(PROC_CREATED),
            [PEV_DELETE] = OK(PROC_UNKNOWN),
            [PEV_EXEC] = NO(PROC_CREATED),
            [PEV_VM_DIED] = OK(PROC_STOPPED),
        },
    [PROC_RUNNING] =
        {
            [PEV_START] = NO(PROC_RUNNING),
            [PEV_EXIT] = OK(PROC_STOPPED),
            [PEV_KILL] = OK(PROC_RUNNING),
            [PEV_PAUSE] = OK(PROC_PAUSED),
            [PEV_RESUME] = NO(PROC_RUNNING),
            [PEV_DELETE] = NO(PROC_RUNNING),
            [PEV_EXEC] = OK(PROC_RUNNING),
            [PEV_VM_DIED] = OK(PROC_STOPPED),
        },
    [PROC_STOPPED] =
        {
            [PEV_START] = NO(PROC_STOPPED),
            [PEV_EXIT] = NOOP(PROC_STOPPED),
            [PEV_KILL] = GONE(PROC_STOPPED),
            [PEV_PAUSE] = NO(PROC_STOPPED),
            [PEV_RESUME] = NO(PROC_STOPPED),
            [PEV_DELETE] = OK(PROC_UNKNOWN),
            [PEV_EXEC] = NO(PROC_STOPPED),
            [PEV_VM_DIED] = NOOP(PROC_STOPPED),
        },
    [PROC_PAUSED] =
        {
            [PEV_START] = NO(PROC_PAUSED),
            [PEV_EXIT] = OK(PROC_STOPPED),
            [PEV_KILL] = OK(PROC_PAUSED),
            [PEV_PAUSE] = NOOP(PROC_PAUSED),
            [PEV_RESUME] = OK(PROC_RUNNING),
            [PEV_DELETE] = NO(PROC_PAUSED),
            [PEV_EXEC] = NO(PROC_PAUSED),
            [PEV_VM_DIED] = OK(PROC_STOPPED),
        },
    [PROC_PAUSING] =
        {
            [PEV_START] = NO(PROC_PAUSING),
            [PEV_EXIT] = OK(PROC_STOPPED),
            [PEV_KILL] = OK(PROC_PAUSING),
            [PEV_PAUSE] = NO(PROC_PAUSING),
            [PEV_RESUME] = NO(PROC_PAUSING),
            [PEV_DELETE] = NO(PROC_PAUSING),
            [PEV_EXEC] = NO(PROC_PAUSING),
            [PEV_VM_DIED] = OK(PROC_STOPPED),
        },
};

const struct proc_transition *proc_transition(enum proc_status s, enum proc_event e)
{
    if ((unsigned)s >= _PROC_STATUS_MAX || (unsigned)e >= _PEV_MAX)
        return &table[PROC_UNKNOWN][PEV_START];
    return &table[s][e];
}

const char *proc_status_name(enum proc_status s)
{
    static const char *const n[_PROC_STATUS_MAX] = {"unknown", "created", "running",
                                                    "stopped", "paused",  "pausing"};
    return (unsigned)s < _PROC_STATUS_MAX ? n[s] : "invalid";
}

const char *proc_event_name(enum proc_event e)
{
    static const char *const n[_PEV_MAX] = {"start",  "exit",   "kill", "pause",
                                            "resume", "delete", "exec", "vm-died"};
    return (unsigned)e < _PEV_MAX ? n[e] : "invalid";
}
