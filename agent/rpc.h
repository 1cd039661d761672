/* The cvm.agent.v1.Agent ttrpc service: request decoding, validation, dispatch. */
#ifndef CVM_AGENT_RPC_H
#define CVM_AGENT_RPC_H

#include "agent.h"
#include "agent_wire.h"

struct ttrpc_server;
struct ttrpc_call;

int rpc_register(struct agent *a, struct ttrpc_server *srv);

/* Handlers (rpc_container.c, rpc_process.c, rpc_net.c); userdata is the struct agent. */
void rpc_create_container(struct ttrpc_call *call, const uint8_t *payload, size_t len, void *ud);
void rpc_start_process(struct ttrpc_call *call, const uint8_t *payload, size_t len, void *ud);
void rpc_exec_process(struct ttrpc_call *call, const uint8_t *payload, size_t len, void *ud);
void rpc_remove_container(struct ttrpc_call *call, const uint8_t *payload, size_t len, void *ud);
void rpc_update_container(struct ttrpc_call *call, const uint8_t *payload, size_t len, void *ud);
void rpc_stats_container(struct ttrpc_call *call, const uint8_t *payload, size_t len, void *ud);
void rpc_pause_container(struct ttrpc_call *call, const uint8_t *payload, size_t len, void *ud);
void rpc_resume_container(struct ttrpc_call *call, const uint8_t *payload, size_t len, void *ud);
void rpc_signal_process(struct ttrpc_call *call, const uint8_t *payload, size_t len, void *ud);
void rpc_wait_process(struct ttrpc_call *call, const uint8_t *payload, size_t len, void *ud);
void rpc_resize_tty(struct ttrpc_call *call, const uint8_t *payload, size_t len, void *ud);
void rpc_close_stdin(struct ttrpc_call *call, const uint8_t *payload, size_t len, void *ud);
void rpc_list_processes(struct ttrpc_call *call, const uint8_t *payload, size_t len, void *ud);
void rpc_delete_process(struct ttrpc_call *call, const uint8_t *payload, size_t len, void *ud);
void rpc_health(struct ttrpc_call *call, const uint8_t *payload, size_t len, void *ud);
void rpc_version(struct ttrpc_call *call, const uint8_t *payload, size_t len, void *ud);
void rpc_wait_oom(struct ttrpc_call *call, const uint8_t *payload, size_t len, void *ud);
void rpc_shutdown(struct ttrpc_call *call, const uint8_t *payload, size_t len, void *ud);
/* rpc_fresh_code.c */
void rpc_run_fresh_code(struct ttrpc_call *call, const uint8_t *payload, size_t len, void *ud);
/* rpc_net.c */
void rpc_configure_network(struct ttrpc_call *call, const uint8_t *payload, size_t len, void *ud);
void rpc_list_network(struct ttrpc_call *call, const uint8_t *payload, size_t len, void *ud);

/* Shared helpers. rpc_lookup.c: */
/* Look up container (and process when exec_id != NULL); replies NOT_FOUND/INVALID_ARGUMENT
 * itself and returns NULL on failure. */
struct container *rpc_container(struct agent *a, struct ttrpc_call *call, const char *cid);
struct process *rpc_process(struct agent *a, struct ttrpc_call *call, const char *cid,
                            const char *eid);
/* rpc_container() for operations on the container's cgroup: also replies FAILED_PRECONDITION
 * when it has none. */
struct container *rpc_container_cgroup(struct agent *a, struct ttrpc_call *call, const char *cid);
/* share_mount.c: mount a virtio-fs tag once under cfg.share_root; *ret is malloc'd. */
int share_mount(struct agent *a, const char *tag, char **ret, struct cvm_err *err);
/* shutdown.c: power off (PID 1) or leave the loop (host mode), after killing every container. */
void agent_shutdown(struct agent *a);

#endif
