/* Wire constants of the shim <-> agent protocol (proto/agent.proto), defined once for both
 * peers and every host-side client of the agent (the shim, cvm-check, test drivers). */
#ifndef CVM_AGENT_WIRE_H
#define CVM_AGENT_WIRE_H

#define AGENT_PORT 1024u                  /* guest vsock port: the agent's ttrpc API */
#define AGENT_STDIO_PORT 1025u            /* guest vsock port: one connection per stdio stream */
#define AGENT_SERVICE "cvm.agent.v1.Agent" /* ttrpc service name */
#define AGENT_MAX_OOM_IDS 256u          /* container ids in one WaitOOM answer */
#define AGENT_MAX_ID_LEN 64u            /* container and exec ids (agent.proto) */
#define AGENT_SHARE_TAG "cvmfs"           /* virtio-fs tag of the sandbox's shared dir */
/* Health's clock sync: the agent steps the guest's CLOCK_REALTIME to the host's when they are
 * at least this far apart (10 ms: above the call's own jitter under TCG, well inside the 50 ms
 * a container may be off by). */
#define AGENT_CLOCK_STEP_MIN_NS 10000000ll

#endif
