/* The harness of the shim task-service unit tests (test_shim_task*.c): the shim's task service
 * end to end without a VM. hv is replaced by a link-seam fake (hv_* in harness.c; libhv's
 * objects are then never pulled in) whose vsock connections are socketpairs to an in-process
 * fake agent (ttrpc server + stdio stream handshakes); containerd is a ttrpc client plus an
 * Events/Forward server. Linked only into those tests (test/module.mk). Needs root (the
 * sandbox makes mounts and a netns), as the shim does. */
#ifndef CVM_TEST_SHIM_TASK_HARNESS_H
#define CVM_TEST_SHIM_TASK_HARNESS_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

#include "../../../shim/task/model.h"
#include "hv.h"

/* the fake VM (the_vm: the last one started) */
struct hv_vm {
    struct hv_callbacks cb;
    struct loop_source *t;
    int stopped;
    unsigned long long spawn_ns;
};
extern struct hv_vm *the_vm;

/* one containerd -> shim call's outcome */
struct res {
    int done, code;
    char msg[256];
    uint8_t buf[4096];
    size_t len;
};

/* knobs of the fake guest, set by a case before Create */
extern int never_ready;    /* the VM never becomes ready */
extern int silent_console; /* the fake guest prints nothing and its agent never answers */
extern int agent_hung;     /* the fake agent stops answering Health and SignalProcess */
extern char last_signal[96];  /* the last SignalProcess: "<cid>/<exec>:<sig>" */
extern char deleted_exec[80]; /* the last DeleteProcess: "<cid>/<exec>" */
extern const char *oom_flood_ids[]; /* WaitOOM answered at once with these, every time */
extern size_t n_oom_flood;
extern int n_waitoom;                /* WaitOOM calls the fake agent got */
extern int keep_streams_open;        /* exits reported, stdout/stderr never ended */
extern int list_flood;               /* ListProcesses: 1 too many entries, 2 too many bytes */

extern struct loop *L;
extern struct shim S;
extern struct ttrpc_client *cli;
extern char topics[64][80]; /* events published, in order */
extern int n_topics;
extern char dir[64], bundle[128], outfile[160], cfgfile[160];

void setup(void);
void teardown(void);
void write_cfg(const char *extra); /* the runtime config with these extra keys */
/* The guest process cid/exec writes out on stdout and exits with status. */
void agent_exit(const char *cid, const char *exec, uint32_t status, const char *out);
void run_until(const int *flag);
void settle(void);
void call_async(const char *method, const ProtobufCMessage *m, struct res *r);
/* the same under another service name (containerd.task.v3.Task, ...) */
void call_service_async(const char *service, const char *method, const ProtobufCMessage *m, struct res *r);
void call(const char *method, const ProtobufCMessage *m, struct res *r);
void create(const char *id, const char *stdout_path, struct res *r);
void simple(const char *method, const char *id, const char *exec, struct res *r);
void wait_async(const char *id, const char *exec, struct res *r);
uint32_t wait_status(const struct res *r);
int state_of(const char *id, const char *exec, uint32_t *exit_status);
void events_flush(void);

#endif
