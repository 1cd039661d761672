/* A hostile guest agent for test/e2e/62-hostile-agent.sh (issue 17, check (b)): a static PID 1
 * that speaks the agent protocol (proto/agent.proto: ttrpc on vsock port 1024, stdio streams
 * on port 1025) well enough for the real shim to boot the sandbox, create and start a
 * container and exec into it, and then misbehaves as the kernel argument cvm.hostile=<mode>
 * says. Nothing runs in the guest: containers and processes are bookkeeping only (an exec
 * prints "hostile-exec" and exits 0; an init process runs until signalled).
 *
 * Modes (each one case of the e2e tier):
 *   polite      behaves (the baseline; the tier uses it to see the fake is good enough)
 *   oomflood    every WaitOOM is answered at once with AGENT_MAX_OOM_IDS copies of the
 *               container's id: a TaskOOM flood as fast as the shim asks
 *   oversize    StatsContainer, ListProcesses and WaitOOM answers just under the 4 MiB frame
 *               cap, made of empty repeated sub-messages (2 bytes each on the wire, far more
 *               once unpacked); PauseContainer fails with a status carrying ~2M details
 *   malformed   every answer's payload is broken protobuf (truncated varints, lengths past
 *               the end, wire type 7, field 0, wrong wire types), rotating
 *   unknownids  WaitOOM names containers that are not this sandbox's (cvm.victim=<id>: the
 *               other sandbox's container), ListProcesses names unknown exec ids, and forged
 *               WaitProcess answers go to stream ids the shim never used or already closed
 *   stdoutflood stdout/stderr streams never end: 64 KiB writes as fast as the host reads,
 *               also after the process "exited" and WaitProcess was answered
 *   hang        once the init process's WaitProcess arrives: no answer ever again, and the
 *               agent connection is no longer read (the shim's writes pile up)
 *   garbage     after start: junk frames every 50 ms (DATA and unknown frame types, requests
 *               to the shim, responses for unknown/even/closed stream ids, a broken Response
 *               envelope on the live WaitOOM call, an oversized frame, an empty frame), normal
 *               calls still answered; the first ListProcesses is answered, then a frame whose
 *               length lies (misaligning the stream), then a 0xffffffff length header and
 *               random bytes for ever
 *
 * It reuses the project's frame codec (proto/ttrpc_frame.h), loop and generated messages, but
 * not ttrpc_server.c: a hostile peer must write bytes the server would never produce. */
#include <errno.h>
#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent.pb-c.h"
#include "agent_wire.h"
#include "buf.h"
#include "loop.h"
#include "ttrpc.pb-c.h"
#include "ttrpc_frame.h"

enum mode { M_POLITE, M_OOMFLOOD, M_OVERSIZE, M_MALFORMED, M_UNKNOWNIDS, M_STDOUTFLOOD, M_HANG, M_GARBAGE };
static const char *const mode_names[] = { "polite", "oomflood", "oversize", "malformed",
                                          "unknownids", "stdoutflood", "hang", "garbage" };

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

static struct loop *L;
static enum mode mode;
static char victim[AGENT_MAX_ID_LEN + 1];
static struct proc procs[MAX_PROCS];
static uint32_t next_pid = 100;
static uint8_t *big; /* scratch for the oversized answers */
static uint8_t flood_chunk[FLOOD_CHUNK];
static uint64_t init_ns, ready_ns;
static unsigned malformed_step;
static struct conn *agent_conn; /* the latest API connection (the shim keeps one) */

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    char b[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b, sizeof(b) - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n > sizeof(b) - 2)
        n = sizeof(b) - 2;
    b[n++] = '\n';
    (void)!write(2, b, (size_t)n);
}

static uint64_t boottime_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_BOOTTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- output ---- */

static void conn_update(struct conn *c);

static void conn_flush(struct conn *c)
{
    while (buf_avail(&c->out) > 0) {
        long n = buf_write_fd(&c->out, c->fd);
        if (n < 0)
            break; /* EAGAIN: EPOLLOUT; an error: the read side sees it */
    }
    if (c->flood && buf_avail(&c->out) < OUT_LOW) {
        for (size_t i = 0; i < FLOOD_CHUNK; i += 4) {
            uint32_t v = (uint32_t)random();
            memcpy(flood_chunk + i, &v, 4);
        }
        (void)buf_append(&c->out, flood_chunk, FLOOD_CHUNK);
    }
    conn_update(c);
}

static void conn_update(struct conn *c)
{
    uint32_t ev = c->hung ? 0 : EPOLLIN;
    if (!c->hung && buf_avail(&c->out) > 0)
        ev |= EPOLLOUT;
    (void)loop_io_set_events(c->src, ev);
}

static void send_frame(struct conn *c, uint32_t id, uint8_t type, uint8_t flags, const void *p, size_t n)
{
    if (c->hung || c->flood)
        return;
    (void)ttrpc_frame_append(&c->out, id, type, flags, p, n);
}

/* A Response frame around a payload (code 0) or a status (code != 0). */
static void send_response(struct conn *c, uint32_t id, int code, const char *msg, const void *pl, size_t n)
{
    Google__Rpc__Status st = GOOGLE__RPC__STATUS__INIT;
    Ttrpc__Response resp = TTRPC__RESPONSE__INIT;
    st.code = code;
    st.message = (char *)(msg ? msg : "");
    resp.status = &st;
    if (code == 0 && n) {
        resp.payload.data = (uint8_t *)pl;
        resp.payload.len = n;
    }
    size_t len = ttrpc__response__get_packed_size(&resp);
    uint8_t *out = malloc(len ? len : 1);
    if (!out)
        return;
    ttrpc__response__pack(&resp, out);
    send_frame(c, id, TTRPC_TYPE_RESPONSE, 0, out, len);
    free(out);
    if (id > c->last_answered && (id & 1u))
        c->last_answered = id;
}

/* Broken protobuf, one of several shapes in turn. */
static size_t malformed_payload(uint8_t *b)
{
    static const struct { uint8_t len, bytes[8]; } shapes[] = {
        { 2, { 0x08, 0xff } },                          /* varint cut short */
        { 3, { 0x0a, 0x7f, 0x01 } },                    /* length past the end */
        { 2, { 0x0f, 0x01 } },                          /* wire type 7 */
        { 2, { 0x00, 0x01 } },                          /* field number 0 */
        { 5, { 0x0a, 0x03, 0x0a, 0x05, 0x00 } },        /* nested length past its parent */
        { 2, { 0x0d, 0x01 } },                          /* fixed32 cut short */
        { 4, { 0x0a, 0x02, 0x08, 0x80 } },              /* nested varint cut short */
        { 8, { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } }, /* overlong tag */
    };
    unsigned i = malformed_step++ % (sizeof(shapes) / sizeof(shapes[0]));
    memcpy(b, shapes[i].bytes, shapes[i].len);
    return shapes[i].len;
}

/* The answer to a call: malformed in that mode, else the message packed. */
static void reply_msg(struct conn *c, uint32_t id, const ProtobufCMessage *m)
{
    uint8_t tmp[4096];
    if (mode == M_MALFORMED) {
        size_t n = malformed_payload(tmp);
        send_response(c, id, 0, NULL, tmp, n);
        return;
    }
    size_t n = m ? protobuf_c_message_get_packed_size(m) : 0;
    uint8_t *p = n > sizeof(tmp) ? malloc(n) : tmp;
    if (!p)
        return;
    if (m)
        protobuf_c_message_pack(m, p);
    send_response(c, id, 0, NULL, p, n);
    if (p != tmp)
        free(p);
}

static void reply_empty(struct conn *c, uint32_t id)
{
    Cvm__Agent__V1__Empty e = CVM__AGENT__V1__EMPTY__INIT;
    reply_msg(c, id, &e.base);
}

/* ---- oversized answers: empty repeated sub-messages up to just under the frame cap ---- */

static size_t put_varint(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    do {
        p[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
    return n;
}

static size_t varint_len(uint64_t v)
{
    uint8_t t[10];
    return put_varint(t, v);
}

/* `tag 00` repeated to fill `room` bytes, written at p. Returns bytes written. */
static size_t fill_repeated(uint8_t *p, uint8_t tag, size_t room)
{
    size_t n = room / 2;
    for (size_t i = 0; i < n; i++)
        p[2 * i] = tag, p[2 * i + 1] = 0;
    return 2 * n;
}

/* A length-delimited field (tag) wrapping `inner` bytes that sit at the end of the room the
 * prefix needs; returns the start. */
static uint8_t *wrap(uint8_t *inner, size_t inner_len, uint8_t tag, size_t *ret_len)
{
    size_t hl = 1 + varint_len(inner_len);
    uint8_t *start = inner - hl;
    start[0] = tag;
    put_varint(start + 1, inner_len);
    *ret_len = hl + inner_len;
    return start;
}

static void reply_big_list(struct conn *c, uint32_t id)      /* ListProcessesResponse */
{
    size_t n = fill_repeated(big, 0x0a, BIG_PAYLOAD);
    send_response(c, id, 0, NULL, big, n);
}

static void reply_big_oom(struct conn *c, uint32_t id)       /* WaitOOMResponse */
{
    size_t n = fill_repeated(big, 0x0a, BIG_PAYLOAD);
    send_response(c, id, 0, NULL, big, n);
}

static void reply_big_stats(struct conn *c, uint32_t id)     /* StatsResponse{metrics{io{usage...}}} */
{
    size_t head = 16, len;
    size_t n = fill_repeated(big + head, 0x0a, BIG_PAYLOAD - head); /* IOEntry x N */
    uint8_t *p = wrap(big + head, n, 0x32, &len);                   /* Metrics.io = 6 */
    p = wrap(p, len, 0x0a, &len);                                   /* StatsResponse.metrics = 1 */
    send_response(c, id, 0, NULL, p, len);
}

static void reply_big_status(struct conn *c, uint32_t id)    /* Status{code, details: Any x N} */
{
    size_t head = 16, len;
    size_t n = fill_repeated(big + head, 0x1a, BIG_PAYLOAD - head);
    big[head - 2] = 0x08, big[head - 1] = 13; /* code INTERNAL first */
    uint8_t *p = wrap(big + head - 2, n + 2, 0x0a, &len); /* Response.status = 1 */
    send_frame(c, id, TTRPC_TYPE_RESPONSE, 0, p, len);
}

/* ---- processes ---- */

static struct proc *proc_find(const char *cid, const char *eid)
{
    for (int i = 0; i < MAX_PROCS; i++)
        if (procs[i].used && !strcmp(procs[i].cid, cid) && !strcmp(procs[i].eid, eid ? eid : ""))
            return &procs[i];
    return NULL;
}

static struct proc *proc_add(const char *cid, const char *eid)
{
    if (!cid || strlen(cid) > AGENT_MAX_ID_LEN || (eid && strlen(eid) > AGENT_MAX_ID_LEN))
        return NULL;
    for (int i = 0; i < MAX_PROCS; i++)
        if (!procs[i].used) {
            struct proc *p = &procs[i];
            memset(p, 0, sizeof(*p));
            p->used = true;
            snprintf(p->cid, sizeof(p->cid), "%s", cid);
            snprintf(p->eid, sizeof(p->eid), "%s", eid ? eid : "");
            p->pid = next_pid++;
            p->out_fd[0] = p->out_fd[1] = -1;
            return p;
        }
    return NULL;
}

static const char *first_container(void)
{
    for (int i = 0; i < MAX_PROCS; i++)
        if (procs[i].used && !procs[i].eid[0])
            return procs[i].cid;
    return NULL;
}

static void answer_wait(struct proc *p, uint32_t id, struct conn *c)
{
    Cvm__Agent__V1__WaitProcessResponse w = CVM__AGENT__V1__WAIT_PROCESS_RESPONSE__INIT;
    w.exit_status = p->status;
    w.pid = p->pid;
    w.exited_at_unix_ns = (uint64_t)time(NULL) * 1000000000ull;
    reply_msg(c, id, &w.base);
}

/* The process ends: its output streams end first (agent.proto: WaitProcess answers after the
 * output drained), except in stdoutflood, where they never do. */
static void proc_exit(struct proc *p, uint32_t status)
{
    if (p->exited)
        return;
    p->exited = true;
    p->status = status;
    if (mode != M_STDOUTFLOOD)
        for (int i = 0; i < 2; i++)
            if (p->out_fd[i] >= 0) {
                (void)shutdown(p->out_fd[i], SHUT_WR);
                p->out_fd[i] = -1; /* the stream source closes it on the host's EOF */
            }
    if (mode == M_OOMFLOOD && p->n_waits) {
        p->exit_deferred = true;
        return;
    }
    if (p->wconn && p->wconn == agent_conn)
        for (int i = 0; i < p->n_waits; i++)
            answer_wait(p, p->waits[i], p->wconn);
    p->n_waits = 0;
    if (agent_conn)
        conn_flush(agent_conn);
}

/* ---- hostile timers ---- */

static void oom_answer(struct conn *c)
{
    uint32_t id = c->oom_held;
    const char *cid = first_container();
    c->oom_held = 0;
    if (mode == M_OVERSIZE) {
        reply_big_oom(c, id);
    } else if (mode == M_UNKNOWNIDS) {
        static char l64[AGENT_MAX_ID_LEN + 1], l200[201];
        memset(l64, 'a', AGENT_MAX_ID_LEN), memset(l200, 'b', 200);
        char *ids[] = { "nosuch", victim[0] ? victim : "victim", l64, l200, "../x", "", "a/b" };
        Cvm__Agent__V1__WaitOOMResponse r = CVM__AGENT__V1__WAIT_OOMRESPONSE__INIT;
        r.container_ids = ids;
        r.n_container_ids = sizeof(ids) / sizeof(ids[0]);
        reply_msg(c, id, &r.base);
    } else if (mode == M_OOMFLOOD && cid) {
        char *ids[AGENT_MAX_OOM_IDS];
        for (unsigned i = 0; i < AGENT_MAX_OOM_IDS; i++)
            ids[i] = (char *)cid;
        Cvm__Agent__V1__WaitOOMResponse r = CVM__AGENT__V1__WAIT_OOMRESPONSE__INIT;
        r.container_ids = ids;
        r.n_container_ids = AGENT_MAX_OOM_IDS;
        reply_msg(c, id, &r.base);
        /* An exit queued behind 256 TaskOOMs in the same read: the shim's event queue is
         * full at that moment, whatever it has drained since the last flood. */
        for (int i = 0; i < MAX_PROCS; i++)
            if (procs[i].used && procs[i].exit_deferred && procs[i].wconn == c) {
                procs[i].exit_deferred = false;
                for (int w = 0; w < procs[i].n_waits; w++)
                    answer_wait(&procs[i], procs[i].waits[w], c);
                procs[i].n_waits = 0;
            }
    } else {
        Cvm__Agent__V1__WaitOOMResponse r = CVM__AGENT__V1__WAIT_OOMRESPONSE__INIT;
        reply_msg(c, id, &r.base);
    }
    conn_flush(c);
}

static void oom_timer_cb(struct loop_source *s, void *data)
{
    struct conn *c = data;
    (void)s;
    if (c->oom_held && !c->hung)
        oom_answer(c);
}

/* unknownids: WaitProcess answers nobody asked for, on ids that cannot be live. */
static void forge_waits(struct conn *c)
{
    Cvm__Agent__V1__WaitProcessResponse w = CVM__AGENT__V1__WAIT_PROCESS_RESPONSE__INIT;
    uint8_t pl[64];
    w.exit_status = 42;
    w.pid = 4242;
    size_t n = cvm__agent__v1__wait_process_response__pack(&w, pl);
    uint32_t ids[] = { 0, 2, 4, c->last_answered + 100001u, 0xffffffffu, c->last_answered };
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
        if (ids[i] != c->oom_held) {
            uint32_t keep = c->last_answered;
            send_response(c, ids[i], 0, NULL, pl, n);
            c->last_answered = keep;
        }
}

/* garbage, phase 1: one junk item per tick; the calls the shim makes are still answered. */
static void junk(struct conn *c)
{
    static const uint8_t bytes[16] = "junk-junk-junk!";
    uint8_t tmp[64];
    switch (c->junk_step++ % 10) {
    case 0: send_frame(c, 1, TTRPC_TYPE_DATA, 0, bytes, sizeof(bytes)); break;
    case 1: send_frame(c, 7, 0x7f, 0xff, bytes, sizeof(bytes)); break;
    case 2: {
        Ttrpc__Request rq = TTRPC__REQUEST__INIT;
        rq.service = AGENT_SERVICE;
        rq.method = "Health";
        size_t n = ttrpc__request__pack(&rq, tmp);
        send_frame(c, 1, TTRPC_TYPE_REQUEST, 0, tmp, n);
        break;
    }
    case 3: send_response(c, 0x7ffffff1u, 0, NULL, bytes, sizeof(bytes)); break;
    case 4: send_response(c, 0, 0, NULL, bytes, sizeof(bytes)); break;
    case 5: send_frame(c, 0x7ffffff3u, TTRPC_TYPE_RESPONSE, 0, tmp, malformed_payload(tmp)); break;
    case 6:
        if (c->oom_held) { /* a broken envelope on the one call the shim really waits for */
            send_frame(c, c->oom_held, TTRPC_TYPE_RESPONSE, 0, tmp, malformed_payload(tmp));
            c->oom_held = 0;
        }
        break;
    case 7: send_response(c, c->last_answered, 0, NULL, bytes, sizeof(bytes)); break;
    case 8: send_frame(c, 3, TTRPC_TYPE_RESPONSE, 0, NULL, 0); break;
    case 9:
        if (c->junk_step < 20) { /* once: a frame one byte over the cap, sent whole */
            struct ttrpc_header h = {.length = TTRPC_MAX_PAYLOAD + 1, .stream_id = 0x7ffffff5u,
                                     .type = TTRPC_TYPE_RESPONSE};
            uint8_t hdr[TTRPC_HEADER_LEN];
            ttrpc_header_encode(&h, hdr);
            memset(big, 0x5a, TTRPC_MAX_PAYLOAD + 1);
            (void)buf_append(&c->out, hdr, sizeof(hdr));
            (void)buf_append(&c->out, big, TTRPC_MAX_PAYLOAD + 1);
        }
        break;
    }
}

/* garbage, phase 2: a frame whose length is short of its content, then a header announcing
 * 4 GiB, then random bytes as fast as the host reads. */
static void garbage_phase2(struct conn *c)
{
    uint8_t tmp[64], hdr[TTRPC_HEADER_LEN];
    Ttrpc__Response resp = TTRPC__RESPONSE__INIT;
    Google__Rpc__Status st = GOOGLE__RPC__STATUS__INIT;
    st.message = "the length says 5, the frame is longer";
    resp.status = &st;
    size_t n = ttrpc__response__pack(&resp, tmp);
    struct ttrpc_header h = {.length = 5, .stream_id = 0x7ffffff7u, .type = TTRPC_TYPE_RESPONSE};
    ttrpc_header_encode(&h, hdr);
    (void)buf_append(&c->out, hdr, sizeof(hdr));
    (void)buf_append(&c->out, tmp, n);
    h.length = 0xffffffffu;
    h.stream_id = 0x7ffffff9u;
    ttrpc_header_encode(&h, hdr);
    (void)buf_append(&c->out, hdr, sizeof(hdr));
    c->flood = true;
    say("hostile: garbage phase 2: endless junk");
}

static void junk_timer_cb(struct loop_source *s, void *data)
{
    struct conn *c = data;
    if (c->hung || c->flood)
        return;
    if (mode == M_GARBAGE)
        junk(c);
    else if (mode == M_UNKNOWNIDS)
        forge_waits(c);
    conn_flush(c);
    loop_timer_set(s, mode == M_GARBAGE ? 50000 : 100000);
}

/* ---- the API ---- */

#define DECODE(type, fn, var)                                                                  \
    type *var = fn##__unpack(NULL, len, payload);                                              \
    if (!var) {                                                                                \
        send_response(c, id, 3, "bad request", NULL, 0);                                       \
        return;                                                                                \
    }

static void m_create(struct conn *c, uint32_t id, const uint8_t *payload, size_t len)
{
    DECODE(Cvm__Agent__V1__CreateContainerRequest, cvm__agent__v1__create_container_request, rq);
    struct proc *p = proc_find(rq->container_id, "") ? NULL : proc_add(rq->container_id, "");
    if (!p) {
        send_response(c, id, 6, "container exists or no room", NULL, 0);
    } else {
        Cvm__Agent__V1__CreateContainerResponse r = CVM__AGENT__V1__CREATE_CONTAINER_RESPONSE__INIT;
        r.pid = p->pid;
        reply_msg(c, id, &r.base);
        say("hostile: created %s", p->cid);
        if (mode == M_OOMFLOOD && c->oom_held)
            oom_answer(c);
    }
    cvm__agent__v1__create_container_request__free_unpacked(rq, NULL);
}

static void m_exec(struct conn *c, uint32_t id, const uint8_t *payload, size_t len)
{
    DECODE(Cvm__Agent__V1__ExecProcessRequest, cvm__agent__v1__exec_process_request, rq);
    if (!proc_find(rq->container_id, "") || proc_find(rq->container_id, rq->exec_id) ||
        !rq->exec_id[0] || !proc_add(rq->container_id, rq->exec_id))
        send_response(c, id, 5, "no such container, or exec exists", NULL, 0);
    else
        reply_empty(c, id);
    cvm__agent__v1__exec_process_request__free_unpacked(rq, NULL);
}

static void m_start(struct conn *c, uint32_t id, const uint8_t *payload, size_t len)
{
    DECODE(Cvm__Agent__V1__StartProcessRequest, cvm__agent__v1__start_process_request, rq);
    struct proc *p = proc_find(rq->container_id, rq->exec_id);
    if (!p) {
        send_response(c, id, 5, "not found", NULL, 0);
    } else {
        Cvm__Agent__V1__StartProcessResponse r = CVM__AGENT__V1__START_PROCESS_RESPONSE__INIT;
        r.pid = p->pid;
        p->started = true;
        reply_msg(c, id, &r.base);
        if (p->eid[0]) { /* an exec says its word and exits */
            if (p->out_fd[0] >= 0 && mode != M_STDOUTFLOOD)
                (void)!write(p->out_fd[0], "hostile-exec\n", 13);
            proc_exit(p, 0);
        }
    }
    cvm__agent__v1__start_process_request__free_unpacked(rq, NULL);
}

static void m_wait(struct conn *c, uint32_t id, const uint8_t *payload, size_t len)
{
    DECODE(Cvm__Agent__V1__WaitProcessRequest, cvm__agent__v1__wait_process_request, rq);
    struct proc *p = proc_find(rq->container_id, rq->exec_id);
    if (!p) {
        send_response(c, id, 5, "not found", NULL, 0);
    } else if (p->exited && !(mode == M_OOMFLOOD && p->n_waits < MAX_WAITS)) {
        answer_wait(p, id, c);
    } else if (p->n_waits < MAX_WAITS) {
        p->exit_deferred = p->exited; /* oomflood: behind the next WaitOOM answer */
        p->waits[p->n_waits++] = id;
        p->wconn = c;
    }
    if (p && !p->eid[0] && mode == M_HANG && !p->exited) {
        say("hostile: hanging now");
        c->hung = true;
    }
    if (p && !p->eid[0] && (mode == M_GARBAGE || mode == M_UNKNOWNIDS) && !c->junk_timer)
        (void)loop_add_timer(L, 50000, junk_timer_cb, c, &c->junk_timer);
    cvm__agent__v1__wait_process_request__free_unpacked(rq, NULL);
}

static void m_signal(struct conn *c, uint32_t id, const uint8_t *payload, size_t len)
{
    DECODE(Cvm__Agent__V1__SignalProcessRequest, cvm__agent__v1__signal_process_request, rq);
    struct proc *p = proc_find(rq->container_id, rq->exec_id);
    if (!p) {
        send_response(c, id, 5, "not found", NULL, 0);
    } else {
        reply_empty(c, id);
        if (rq->signal == SIGKILL || rq->signal == SIGTERM || rq->signal == SIGINT) {
            for (int i = 0; rq->all && i < MAX_PROCS; i++)
                if (procs[i].used && !strcmp(procs[i].cid, p->cid))
                    proc_exit(&procs[i], 128 + rq->signal);
            proc_exit(p, 128 + rq->signal);
        }
    }
    cvm__agent__v1__signal_process_request__free_unpacked(rq, NULL);
}

static void m_delete_process(struct conn *c, uint32_t id, const uint8_t *payload, size_t len)
{
    DECODE(Cvm__Agent__V1__DeleteProcessRequest, cvm__agent__v1__delete_process_request, rq);
    struct proc *p = proc_find(rq->container_id, rq->exec_id);
    if (!p) {
        send_response(c, id, 5, "not found", NULL, 0);
    } else {
        Cvm__Agent__V1__DeleteProcessResponse r = CVM__AGENT__V1__DELETE_PROCESS_RESPONSE__INIT;
        r.exit_status = p->status;
        r.pid = p->pid;
        reply_msg(c, id, &r.base);
        p->used = false;
    }
    cvm__agent__v1__delete_process_request__free_unpacked(rq, NULL);
}

static void m_remove(struct conn *c, uint32_t id, const uint8_t *payload, size_t len)
{
    DECODE(Cvm__Agent__V1__RemoveContainerRequest, cvm__agent__v1__remove_container_request, rq);
    for (int i = 0; i < MAX_PROCS; i++)
        if (procs[i].used && !strcmp(procs[i].cid, rq->container_id)) {
            proc_exit(&procs[i], 137);
            procs[i].used = false;
        }
    reply_empty(c, id);
    cvm__agent__v1__remove_container_request__free_unpacked(rq, NULL);
}

static void m_list(struct conn *c, uint32_t id, const uint8_t *payload, size_t len)
{
    DECODE(Cvm__Agent__V1__ContainerRequest, cvm__agent__v1__container_request, rq);
    if (mode == M_OVERSIZE) {
        reply_big_list(c, id);
    } else {
        Cvm__Agent__V1__ProcessInfo pi[MAX_PROCS + 4], *list[MAX_PROCS + 4];
        Cvm__Agent__V1__ListProcessesResponse r = CVM__AGENT__V1__LIST_PROCESSES_RESPONSE__INIT;
        static char l200[201];
        memset(l200, 'e', 200);
        size_t n = 0;
        for (int i = 0; i < MAX_PROCS; i++)
            if (procs[i].used && !strcmp(procs[i].cid, rq->container_id) && !procs[i].exited) {
                cvm__agent__v1__process_info__init(&pi[n]);
                pi[n].pid = procs[i].pid;
                pi[n].exec_id = procs[i].eid;
                list[n] = &pi[n];
                n++;
            }
        if (mode == M_UNKNOWNIDS) { /* processes the shim never started */
            char *fake[] = { "ghost", l200, victim[0] ? victim : "victim", "../../etc" };
            for (size_t i = 0; i < 4; i++) {
                cvm__agent__v1__process_info__init(&pi[n]);
                pi[n].pid = 9000 + (uint32_t)i;
                pi[n].exec_id = fake[i];
                list[n] = &pi[n];
                n++;
            }
        }
        r.processes = list;
        r.n_processes = n;
        reply_msg(c, id, &r.base);
    }
    if (mode == M_GARBAGE && !c->flood) {
        conn_flush(c);
        garbage_phase2(c);
    }
    cvm__agent__v1__container_request__free_unpacked(rq, NULL);
}

static void m_stats(struct conn *c, uint32_t id)
{
    if (mode == M_OVERSIZE) {
        reply_big_stats(c, id);
        return;
    }
    Io__Containerd__Cgroups__V2__Metrics m = IO__CONTAINERD__CGROUPS__V2__METRICS__INIT;
    Io__Containerd__Cgroups__V2__PidsStat ps = IO__CONTAINERD__CGROUPS__V2__PIDS_STAT__INIT;
    Cvm__Agent__V1__StatsResponse r = CVM__AGENT__V1__STATS_RESPONSE__INIT;
    ps.current = 1;
    m.pids = &ps;
    r.metrics = &m;
    reply_msg(c, id, &r.base);
}

static void shutdown_cb(struct loop_source *s, void *data)
{
    (void)s;
    (void)data;
    say("hostile: powering off");
    sync();
    reboot(RB_POWER_OFF);
}

static void dispatch(struct conn *c, uint32_t id, const char *method, const uint8_t *payload, size_t len)
{
    if (!strcmp(method, "Health")) {
        Cvm__Agent__V1__HealthResponse h = CVM__AGENT__V1__HEALTH_RESPONSE__INIT;
        h.serving = true;
        h.init_uptime_ns = init_ns;
        h.ready_uptime_ns = ready_ns;
        h.uptime_ns = boottime_ns();
        reply_msg(c, id, &h.base);
    } else if (!strcmp(method, "Version")) {
        Cvm__Agent__V1__VersionResponse v = CVM__AGENT__V1__VERSION_RESPONSE__INIT;
        v.agent_version = "hostile";
        v.api_version = 1;
        v.kernel = "";
        reply_msg(c, id, &v.base);
    } else if (!strcmp(method, "CreateContainer")) {
        m_create(c, id, payload, len);
    } else if (!strcmp(method, "ExecProcess")) {
        m_exec(c, id, payload, len);
    } else if (!strcmp(method, "StartProcess")) {
        m_start(c, id, payload, len);
    } else if (!strcmp(method, "WaitProcess")) {
        m_wait(c, id, payload, len);
    } else if (!strcmp(method, "SignalProcess")) {
        m_signal(c, id, payload, len);
    } else if (!strcmp(method, "DeleteProcess")) {
        m_delete_process(c, id, payload, len);
    } else if (!strcmp(method, "RemoveContainer")) {
        m_remove(c, id, payload, len);
    } else if (!strcmp(method, "ListProcesses")) {
        m_list(c, id, payload, len);
    } else if (!strcmp(method, "StatsContainer")) {
        m_stats(c, id);
    } else if (!strcmp(method, "PauseContainer") && mode == M_OVERSIZE) {
        reply_big_status(c, id);
    } else if (!strcmp(method, "WaitOOM")) {
        if (c->oom_held) {
            send_response(c, id, 9, "one WaitOOM at a time", NULL, 0);
            return;
        }
        c->oom_held = id;
        if (mode == M_OOMFLOOD && first_container())
            oom_answer(c);
        else if (mode == M_OVERSIZE || mode == M_UNKNOWNIDS || mode == M_MALFORMED)
            loop_timer_set(c->oom_timer, mode == M_OVERSIZE ? 200000 : 100000);
    } else if (!strcmp(method, "Shutdown")) {
        reply_empty(c, id);
        struct loop_source *t;
        (void)loop_add_timer(L, 100000, shutdown_cb, NULL, &t);
    } else if (!strcmp(method, "PauseContainer") || !strcmp(method, "ResumeContainer") ||
               !strcmp(method, "ResizeTty") || !strcmp(method, "CloseStdin") ||
               !strcmp(method, "UpdateContainer") || !strcmp(method, "ConfigureNetwork") ||
               !strcmp(method, "ListNetwork")) {
        reply_empty(c, id);
    } else {
        send_response(c, id, 12, "method not implemented", NULL, 0);
    }
}

/* ---- connections ---- */

static void conn_free(struct conn *c)
{
    if (agent_conn == c)
        agent_conn = NULL;
    for (int i = 0; i < MAX_PROCS; i++)
        if (procs[i].wconn == c) {
            procs[i].wconn = NULL;
            procs[i].n_waits = 0;
        }
    loop_source_free(c->src);
    loop_source_free(c->oom_timer);
    loop_source_free(c->junk_timer);
    close(c->fd);
    ttrpc_reader_done(&c->rd);
    buf_done(&c->out);
    free(c);
}

static void conn_cb(struct loop_source *s, int fd, uint32_t revents, void *data)
{
    struct conn *c = data;
    struct ttrpc_frame f;
    (void)s;
    if (revents & EPOLLOUT)
        conn_flush(c);
    if (!(revents & (EPOLLIN | EPOLLHUP | EPOLLERR)) || c->hung)
        return;
    long n = ttrpc_reader_read_fd(&c->rd, fd);
    if (n == 0 || (n < 0 && n != -EAGAIN && n != -EINTR)) {
        conn_free(c);
        return;
    }
    while (!c->hung && ttrpc_reader_next(&c->rd, &f) == 1) {
        if (f.oversized || f.hdr.type != TTRPC_TYPE_REQUEST)
            continue;
        Ttrpc__Request *rq = ttrpc__request__unpack(NULL, f.hdr.length, f.payload);
        if (!rq)
            continue;
        dispatch(c, f.hdr.stream_id, rq->method, rq->payload.data, rq->payload.len);
        ttrpc__request__free_unpacked(rq, NULL);
    }
    conn_flush(c);
}

static void api_accept_cb(struct loop_source *s, int fd, uint32_t revents, void *data)
{
    (void)s;
    (void)revents;
    (void)data;
    int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (cfd < 0)
        return;
    struct conn *c = calloc(1, sizeof(*c));
    if (!c) {
        close(cfd);
        return;
    }
    c->fd = cfd;
    ttrpc_reader_init(&c->rd, TTRPC_MAX_PAYLOAD);
    buf_init(&c->out, OUT_CAP);
    if (loop_add_io(L, cfd, EPOLLIN, conn_cb, c, &c->src) < 0 ||
        loop_add_timer(L, 0, oom_timer_cb, c, &c->oom_timer) < 0) {
        conn_free(c);
        return;
    }
    agent_conn = c;
}

/* ---- stdio streams (port 1025) ---- */

static void stream_free(struct stream *st)
{
    if (st->p && st->p->out_fd[st->k] == st->fd)
        st->p->out_fd[st->k] = -1;
    loop_source_free(st->src);
    close(st->fd);
    free(st);
}

static void stream_cb(struct loop_source *s, int fd, uint32_t revents, void *data)
{
    struct stream *st = data;
    (void)s;
    if (st->flood && (revents & EPOLLOUT)) {
        memset(flood_chunk, 'F', sizeof(flood_chunk));
        for (int i = 0; i < 64; i++)
            if (write(fd, flood_chunk, sizeof(flood_chunk)) < 0)
                break;
    }
    if (st->ready) { /* stdin bytes, or the host's close of an output stream */
        char b[4096];
        ssize_t n = (revents & (EPOLLIN | EPOLLHUP | EPOLLERR)) ? read(fd, b, sizeof(b)) : -1;
        if (n == 0 || (n < 0 && (revents & (EPOLLHUP | EPOLLERR))))
            stream_free(st);
        return;
    }
    while (st->got < sizeof(st->line) - 1) {
        ssize_t n = read(fd, st->line + st->got, 1);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        if (n <= 0) {
            stream_free(st);
            return;
        }
        if (st->line[st->got++] != '\n')
            continue;
        st->line[st->got - 1] = 0;
        char cid[80], eid[80], kind[16];
        struct proc *p = NULL;
        if (sscanf(st->line, "STREAM %79s %79s %15s", cid, eid, kind) == 3)
            p = proc_find(cid, strcmp(eid, "-") ? eid : "");
        if (!p) {
            (void)!write(fd, "ERR no such process\n", 20);
            stream_free(st);
            return;
        }
        (void)!write(fd, "OK\n", 3);
        st->ready = true;
        if (!strcmp(kind, "stdout") || !strcmp(kind, "stderr")) {
            int k = !strcmp(kind, "stderr");
            if (mode == M_STDOUTFLOOD) {
                st->flood = true;
                (void)loop_io_set_events(st->src, EPOLLIN | EPOLLOUT);
            } else if (p->exited) {
                (void)shutdown(fd, SHUT_WR);
            } else {
                p->out_fd[k] = fd;
                st->p = p;
                st->k = k;
            }
        }
        return;
    }
    stream_free(st);
}

static void stdio_accept_cb(struct loop_source *s, int fd, uint32_t revents, void *data)
{
    (void)s;
    (void)revents;
    (void)data;
    int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (cfd < 0)
        return;
    struct stream *st = calloc(1, sizeof(*st));
    if (!st) {
        close(cfd);
        return;
    }
    st->fd = cfd;
    if (loop_add_io(L, cfd, EPOLLIN, stream_cb, st, &st->src) < 0) {
        close(cfd);
        free(st);
    }
}

/* ---- PID 1 ---- */

static int listen_vsock(unsigned port)
{
    struct sockaddr_vm sa = {.svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY, .svm_port = port};
    int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -1;
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 64) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void read_cmdline(void)
{
    char cmd[4096];
    int fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, cmd, sizeof(cmd) - 1) : -1;
    if (fd >= 0)
        close(fd);
    if (n <= 0)
        return;
    cmd[n] = 0;
    for (char *t = strtok(cmd, " \n"); t; t = strtok(NULL, " \n")) {
        if (!strncmp(t, "cvm.hostile=", 12)) {
            for (size_t i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]); i++)
                if (!strcmp(t + 12, mode_names[i]))
                    mode = (enum mode)i;
        } else if (!strncmp(t, "cvm.victim=", 11)) {
            snprintf(victim, sizeof(victim), "%s", t + 11);
        }
    }
}

static void die(const char *what)
{
    say("hostile: %s: %s; powering off", what, strerror(errno));
    reboot(RB_POWER_OFF);
    _exit(1);
}

int main(void)
{
    struct loop_source *a1, *a2;
    int fd;

    init_ns = boottime_ns();
    (void)mount("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755");
    fd = open("/dev/console", O_RDWR | O_NOCTTY);
    if (fd >= 0) {
        dup2(fd, 0), dup2(fd, 1), dup2(fd, 2);
        if (fd > 2)
            close(fd);
    }
    (void)mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
    read_cmdline();
    signal(SIGPIPE, SIG_IGN);
    srandom((unsigned)init_ns);
    big = malloc(TTRPC_MAX_PAYLOAD + 64);
    if (!big)
        die("malloc");
    if (loop_new(&L) < 0)
        die("loop");
    int api = listen_vsock(AGENT_PORT), io = listen_vsock(AGENT_STDIO_PORT);
    if (api < 0 || io < 0)
        die("vsock listen");
    if (loop_add_io(L, api, EPOLLIN, api_accept_cb, NULL, &a1) < 0 ||
        loop_add_io(L, io, EPOLLIN, stdio_accept_cb, NULL, &a2) < 0)
        die("loop_add_io");
    ready_ns = boottime_ns();
    say("hostile: ready, mode %s%s%s", mode_names[mode], victim[0] ? ", victim " : "", victim);
    loop_run(L);
    die("loop ended");
    return 1;
}
