/* OOM kills in the containers' cgroups (cgroup v2 memory.events oom_kill), for the host's
 * TaskOOM events: watched with one inotify fd on the agent's loop, queued per container,
 * taken by the WaitOOM long poll (agent.proto). */
#ifndef CVM_AGENT_CGROUP_OOM_H
#define CVM_AGENT_CGROUP_OOM_H

#include <stdint.h>

#include "agent.h"

struct ttrpc_call;

/* The inotify fd on the loop; without it (no inotify in the guest kernel) WaitOOM still
 * answers for kills noticed at exits and removals (oom_check). 0 or -errno. */
int oom_init(struct agent *a);
/* Start watching c's cgroup (after its creation): the current counter is the baseline. */
int oom_watch(struct agent *a, struct container *c);
/* Compare c's counter with the last one seen; queue c when it went up. The reaper calls it
 * before it reports an exit, container_free before the cgroup goes. */
void oom_check(struct agent *a, struct container *c);
/* Stop watching c (container_free): a last oom_check first. */
void oom_unwatch(struct agent *a, struct container *c);
/* WaitOOM: answer now if something is queued, else hold the call (cancel-safe). */
void oom_wait(struct agent *a, struct ttrpc_call *call);
/* Pure: the oom_kill counter of a memory.events text, or -ENOENT/-EINVAL. */
int oom_parse_events(const char *text, uint64_t *kills);

#endif
