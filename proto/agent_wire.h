/* Wire constants of the shim <-> agent protocol (proto/agent.proto), defined once for both
 * peers and every host-side client of the agent (the shim, cvm-check, test drivers). */
#ifndef CVM_AGENT_WIRE_H
#define CVM_AGENT_WIRE_H

#define AGENT_PORT 1024u                   /* guest vsock port: the agent's ttrpc API */
#define AGENT_STDIO_PORT 1025u             /* guest vsock port: one connection per stdio stream */
#define AGENT_SERVICE "cvm.agent.v1.Agent" /* ttrpc service name */
#define AGENT_MAX_OOM_IDS 256u             /* container ids in one WaitOOM answer */
#define AGENT_MAX_LISTED_PROCS 4096u       /* processes in one ListProcesses answer */
#define AGENT_MAX_ID_LEN 64u               /* container and exec ids (agent.proto) */
#define AGENT_SHARE_TAG "cvmfs"            /* virtio-fs tag of the sandbox's shared dir */
/* Health's clock sync: the agent steps the guest's CLOCK_REALTIME to the host's when they are
 * at least this far apart (10 ms: above the call's own jitter under TCG, well inside the 50 ms
 * a container may be off by). */
#define AGENT_CLOCK_STEP_MIN_NS 10000000ll

/* Port forwarding (proto/portfwd_wire.h, config/README.md "Port forwarding"): one host->guest
 * vsock stream per forwarded TCP connection. The shim sends a request header, the agent dials
 * 127.0.0.1:<port> in the pod's network namespace and answers with a reply header; after it
 * the stream is the raw TCP payload both ways (half-close = vsock shutdown). */
#define AGENT_PORTFWD_PORT 1026u        /* guest vsock port: one connection per forward */
#define PORTFWD_REQ_MAGIC 0x43565046u   /* "CVPF", big-endian on the wire */
#define PORTFWD_REPLY_MAGIC 0x43565052u /* "CVPR" */
#define PORTFWD_VERSION 1u
#define PORTFWD_REQ_LEN 8u       /* magic(4) version(1) flags(1)=0 port(2), BE */
#define PORTFWD_REPLY_LEN 8u     /* magic(4) status(4): 0 or a positive errno, BE */
#define PORTFWD_STATUS_MAX 4095u /* a reply status above this is junk (errnos are small) */
#define PORTFWD_MAX_CONNS 64u    /* per sandbox, each side; more wait in the backlog */
#define PORTFWD_BUF 65536u       /* relay buffer per direction per connection */
#define PORTFWD_HEAD_TIMEOUT_MS                                                                    \
    10000u /* a peer's header (and the guest's dial) must come by then */

#endif
