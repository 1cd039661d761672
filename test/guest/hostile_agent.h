/* The hostile guest agent's shared model (see hostile_agent.c for what it is and its modes):
 * its connections, bookkeeping processes and streams, and what its three files call of each
 * other: hostile_wire.c writes frames and answers, hostile_modes.c misbehaves on timers,
 * hostile_agent.c is the API, the connections and PID 1. */
#ifndef CVM_TEST_HOSTILE_AGENT_H
#define CVM_TEST_HOSTILE_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent.pb-c.h"
#include "agent_wire.h"
#include "buf.h"
#include "loop.h"
#include "ttrpc.pb-c.h"
#include "ttrpc_frame.h"

enum mode { M_POLITE, M_OOMFLOOD, M_OVERSIZE, M_MALFORMED, M_UNKNOWNIDS, M_STDOUTFLOOD, M_HANG, M_GARBAGE };

#define OUT_CAP (32u << 20)      /* our own send queue per connection */
#define OUT_LOW (1u << 20)       /* refill floods below this */
#define BIG_PAYLOAD (TTRPC_MAX_PAYLOAD - 64u) /* under the cap with the Response envelope */
#define MAX_PROCS 64
#define MAX_WAITS 8
#define FLOOD_CHUNK 65536u

struct conn {
    int fd;
    struct loop_source *src;
    struct ttrpc_reader rd;
    struct buf out;
    bool hung;             /* hang: neither read nor answered any more */
    bool flood;            /* garbage phase 2: random bytes for ever */
    uint32_t last_answered;
    uint32_t oom_held;     /* a WaitOOM stream id not answered yet, 0 = none */
    struct loop_source *oom_timer, *junk_timer;
    unsigned junk_step;
};

struct proc {
    bool used, exited, started;
    bool exit_deferred; /* oomflood: the exit rides right behind the next WaitOOM answer */
    char cid[AGENT_MAX_ID_LEN + 1], eid[AGENT_MAX_ID_LEN + 1];
    uint32_t pid, status;
    int out_fd[2];              /* stdout, stderr streams (-1 = none) */
    struct conn *wconn;
    uint32_t waits[MAX_WAITS];
    int n_waits;
};

#define STDIO_LINE_MAX 257
struct stream {
    int fd;
    struct loop_source *src;
    char line[STDIO_LINE_MAX];
    size_t got;
    bool ready, flood;
    struct proc *p; /* output streams: the process whose out_fd[k] is ours */
    int k;
};

/* the state the three files share (defined in hostile_agent.c) */
extern enum mode mode;
extern char victim[AGENT_MAX_ID_LEN + 1];
extern struct proc procs[MAX_PROCS];
extern uint8_t *big; /* scratch for the oversized answers */
extern uint8_t flood_chunk[FLOOD_CHUNK];

/* hostile_wire.c */
void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
uint64_t boottime_ns(void);
void conn_flush(struct conn *c);
size_t malformed_payload(uint8_t *b);
void reply_big_list(struct conn *c, uint32_t id);
void reply_big_oom(struct conn *c, uint32_t id);
void reply_big_stats(struct conn *c, uint32_t id);
void reply_big_status(struct conn *c, uint32_t id);
void reply_empty(struct conn *c, uint32_t id);
void reply_msg(struct conn *c, uint32_t id, const ProtobufCMessage *m);
void send_frame(struct conn *c, uint32_t id, uint8_t type, uint8_t flags, const void *p, size_t n);
void send_response(struct conn *c, uint32_t id, int code, const char *msg, const void *pl, size_t n);

/* hostile_modes.c */
void garbage_phase2(struct conn *c);
void junk_timer_cb(struct loop_source *s, void *data);
void oom_answer(struct conn *c);
void oom_timer_cb(struct loop_source *s, void *data);

/* hostile_agent.c */
void answer_wait(struct proc *p, uint32_t id, struct conn *c);
const char *first_container(void);

#endif
