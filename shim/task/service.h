/* The Task service: its method table (service.c) and one handler per RPC, each in the file
 * named after it (shim/README.md). */
#ifndef CVM_SHIM_TASK_SERVICE_H
#define CVM_SHIM_TASK_SERVICE_H

#include <stddef.h>
#include <stdint.h>

struct ttrpc_call;
struct shim;

struct ttrpc_method;
extern const struct ttrpc_method task_methods[];
extern const unsigned task_n_methods;
/* The names the Task service answers to (v2 for containerd 1.x, v3 for 2.x), and their
 * registration on a ttrpc server (the daemon's, the unit tests'). */
#define TASK_N_SERVICE_NAMES 2
extern const char *const task_service_names[TASK_N_SERVICE_NAMES];
struct ttrpc_server;
int task_service_register(struct ttrpc_server *srv, void *ud);
void task_create(struct ttrpc_call *call, const uint8_t *p, size_t n, void *ud);
void task_start(struct ttrpc_call *call, const uint8_t *p, size_t n, void *ud);
void task_exec(struct ttrpc_call *call, const uint8_t *p, size_t n, void *ud);
void task_kill(struct ttrpc_call *call, const uint8_t *p, size_t n, void *ud);
void task_delete(struct ttrpc_call *call, const uint8_t *p, size_t n, void *ud);
void task_pause(struct ttrpc_call *call, const uint8_t *p, size_t n, void *ud);
void task_resume(struct ttrpc_call *call, const uint8_t *p, size_t n, void *ud);
void task_resize_pty(struct ttrpc_call *call, const uint8_t *p, size_t n, void *ud);
void task_close_io(struct ttrpc_call *call, const uint8_t *p, size_t n, void *ud);
void task_update(struct ttrpc_call *call, const uint8_t *p, size_t n, void *ud);
void task_stats(struct ttrpc_call *call, const uint8_t *p, size_t n, void *ud);
void task_pids(struct ttrpc_call *call, const uint8_t *p, size_t n, void *ud);
void task_state(struct ttrpc_call *call, const uint8_t *p, size_t n, void *ud);
void task_wait(struct ttrpc_call *call, const uint8_t *p, size_t n, void *ud);
void task_connect(struct ttrpc_call *call, const uint8_t *p, size_t n, void *ud);
void task_shutdown(struct ttrpc_call *call, const uint8_t *p, size_t n, void *ud);
void task_checkpoint(struct ttrpc_call *call, const uint8_t *p, size_t n, void *ud);
/* The daemon exits: stop the VM, flush events, quit the loop. */
void shim_begin_exit(struct shim *s);

#endif
