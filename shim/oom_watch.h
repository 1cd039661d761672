/* The guest's OOM kills as containerd's /tasks/oom (containerd.events.TaskOOM), which CRI
 * turns into reason OOMKilled: a WaitOOM long poll on the sandbox's agent, re-armed after
 * every answer, for as long as the sandbox is ready. */
#ifndef CVM_SHIM_OOM_WATCH_H
#define CVM_SHIM_OOM_WATCH_H

struct sandbox;

/* Once the agent is ready. An agent without WaitOOM (UNIMPLEMENTED) is logged once. */
void sandbox_oom_watch(struct sandbox *sb);

#endif
