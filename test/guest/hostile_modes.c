/* The hostile agent's misbehaviour on timers: the WaitOOM floods, forged WaitProcess answers
 * and the garbage mode's two phases. */
#include "hostile_agent.h"

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

/* ---- hostile timers ---- */

void oom_answer(struct conn *c)
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

void oom_timer_cb(struct loop_source *s, void *data)
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
void garbage_phase2(struct conn *c)
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

void junk_timer_cb(struct loop_source *s, void *data)
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
