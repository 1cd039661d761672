/* See agent_limits.h. The one table of reply caps for the agent's methods. */
#include "sandbox/agent_limits.h"

#include <string.h>

#include "agent_wire.h"
#include "cleanup.h"
#include "pb_count.h"
#include "ttrpc.h"

/* Error statuses carry the agent's message (a path, an errno text): a few hundred bytes.
 * Every fixed-size answer and every status fits this; it is the cap of a method not listed. */
#define CAP_SMALL 4096u
/* Worst-case bytes of one ListProcesses entry: the entry's key and length (2), pid (1 + 5),
 * exec id (1 + 1 + AGENT_MAX_ID_LEN); rounded up. */
#define LISTED_PROC_MAX_BYTES 80u
/* Worst-case bytes of one WaitOOM id: key, length and the id. */
#define OOM_ID_MAX_BYTES (2u + AGENT_MAX_ID_LEN)

static const struct {
    const char *method;
    size_t cap;
} caps[] = {
    /* ~40 scalar counters plus one entry per block device, hugetlb size and rdma device:
     * well under 4 KiB for a real guest; 16 KiB leaves room for many devices. */
    {"StatsContainer", 16384u},
    /* At most AGENT_MAX_LISTED_PROCS entries (the agent's own limit): ~330 KiB. */
    {"ListProcesses", CAP_SMALL + AGENT_MAX_LISTED_PROCS *LISTED_PROC_MAX_BYTES},
    /* At most AGENT_MAX_OOM_IDS container ids: ~17 KiB. */
    {"WaitOOM", CAP_SMALL + AGENT_MAX_OOM_IDS *OOM_ID_MAX_BYTES},
    /* Everything else answers a fixed-size message (a pid, an exit status, Health's
     * counters, Empty) or a status: CreateContainer, StartProcess, ExecProcess,
     * SignalProcess, WaitProcess, ResizeTty, CloseStdin, Pause/ResumeContainer,
     * UpdateContainer, RemoveContainer, DeleteProcess, Health, ConfigureNetwork. */
};

size_t agent_reply_cap(const char *method)
{
    for (size_t i = 0; i < ELEMENTSOF(caps); i++)
        if (strcmp(caps[i].method, method) == 0)
            return caps[i].cap;
    return CAP_SMALL;
}

size_t agent_reply_cap_max(void)
{
    size_t m = CAP_SMALL;
    for (size_t i = 0; i < ELEMENTSOF(caps); i++)
        m = MAX(m, caps[i].cap);
    return m;
}

bool agent_reply_count_ok(const struct ttrpc_result *res, uint32_t field, size_t max)
{
    long n = pb_count_field(res->payload, res->len, field);
    return n >= 0 && (size_t)n <= max;
}
