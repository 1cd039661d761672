/* The guest's OOM kills as containerd's /tasks/oom (containerd.events.TaskOOM), which CRI
 * turns into reason OOMKilled: a WaitOOM long poll on the sandbox's agent, re-armed after
 * every answer, for as long as the sandbox is ready. Rate-limited against a flooding guest:
 * at most one TaskOOM per container and one WaitOOM per OOM_MIN_INTERVAL_NS. */
#ifndef CVM_SHIM_OOM_WATCH_H
#define CVM_SHIM_OOM_WATCH_H

#define OOM_MIN_INTERVAL_NS 1000000000ull

struct sandbox;

/* Once the agent is ready. An agent without WaitOOM (UNIMPLEMENTED) is logged once. */
void sandbox_oom_watch(struct sandbox *sb);
/* At sandbox_free: the timer goes. */
void sandbox_oom_unwatch(struct sandbox *sb);

#endif
