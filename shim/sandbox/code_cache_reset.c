/* Filling a VM's translation cache to its flush. See code_cache_reset.h.
 *
 * The loop: read the cache's figures (QMP), have the agent run a number of rounds of fresh
 * code, read them again; stop once the flush count moved. The first call is a small one that
 * measures how many bytes of cache a round takes; the later calls ask for what the remaining
 * room holds, less one round, so the flush comes in a call of a single round and little of
 * the filler is left in the emptied cache. */
#define LOG_MODULE "sandbox"
#include "sandbox/code_cache_reset.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accel.h"
#include "agent.pb-c.h"
#include "agent_wire.h"
#include "errmap.h"
#include "hv.h"
#include "jit_stats.h"
#include "sandbox/sandbox.h"

#define FIRST_ROUNDS 8u
#define MAX_ROUNDS 512u /* the agent's RUN_FRESH_CODE_MAX_ROUNDS */
/* 16 MiB at ~40 KiB a round is ~400 rounds: a few calls, then single rounds at the edge. */
#define MAX_CALLS 64u
#define CALL_TIMEOUT_NS (10ull * 1000000000ull)

struct reset {
    struct sandbox *sb;
    code_cache_reset_fn done;
    void *data;
    struct jit_stats start, last;
    uint64_t round_bytes; /* measured cache bytes per round; 0 before the first call */
    unsigned pending;     /* rounds of the call in flight */
    struct code_cache_reset_result res;
};

static void finish(struct reset *rs, int r, const char *msg)
{
    struct reset s = *rs;
    free(rs);
    s.done(s.sb, r, msg, &s.res, s.data);
}

static void ran(const struct ttrpc_result *res, void *data);

static unsigned next_rounds(const struct reset *rs)
{
    uint64_t room, n;
    if (rs->round_bytes == 0)
        return FIRST_ROUNDS;
    room = rs->last.code_capacity - rs->last.code_used;
    n = room / rs->round_bytes;
    n = n > 1 ? n - 1 : 1;
    return n > MAX_ROUNDS ? MAX_ROUNDS : (unsigned)n;
}

static void call_agent(struct reset *rs)
{
    Cvm__Agent__V1__RunFreshCodeRequest req = CVM__AGENT__V1__RUN_FRESH_CODE_REQUEST__INIT;
    int r;
    if (rs->res.calls == MAX_CALLS) {
        char msg[160];
        snprintf(msg, sizeof(msg), "no flush after %u calls (%u rounds; cache %llu of %llu bytes)",
                 rs->res.calls, rs->res.rounds, (unsigned long long)rs->last.code_used,
                 (unsigned long long)rs->last.code_capacity);
        finish(rs, -ETIMEDOUT, msg);
        return;
    }
    req.rounds = rs->pending = next_rounds(rs);
    r = sandbox_agent_call(rs->sb, "RunFreshCode", &req, ran, rs, CALL_TIMEOUT_NS);
    if (r < 0)
        finish(rs, r, "agent RunFreshCode: the agent is not connected");
}

static void measured(struct hv_vm *vm, int r, const struct jit_stats *st, void *data)
{
    struct reset *rs = data;
    (void)vm;
    if (r == -ECANCELED) {
        finish(rs, r, NULL);
        return;
    }
    if (r < 0) {
        finish(rs, r, "QMP x-query-jit failed");
        return;
    }
    if (rs->res.calls == 0) { /* the figures before the first call */
        rs->start = rs->last = *st;
        call_agent(rs);
        return;
    }
    if (st->flushes != rs->start.flushes) {
        rs->res.used_after = st->code_used;
        rs->res.capacity = st->code_capacity;
        finish(rs, 0, NULL);
        return;
    }
    if (st->code_used > rs->last.code_used && rs->round_bytes == 0)
        rs->round_bytes = (st->code_used - rs->last.code_used) / rs->pending;
    if (rs->round_bytes == 0) { /* the rounds took no cache: not TCG as we know it */
        finish(rs, -EPROTO, "the translation cache did not grow with fresh code");
        return;
    }
    rs->last = *st;
    call_agent(rs);
}

static int query(struct reset *rs, struct cvm_err *err)
{
    return hv_query_jit(sandbox_vm(rs->sb), measured, rs, err);
}

static void ran(const struct ttrpc_result *res, void *data)
{
    struct reset *rs = data;
    char msg[300];
    if (res->code == RPC_CANCELLED) {
        finish(rs, -ECANCELED, NULL);
        return;
    }
    if (res->code != 0) {
        snprintf(msg, sizeof(msg), "agent RunFreshCode: %s",
                 res->message ? res->message : "failed");
        finish(rs, -EIO, msg);
        return;
    }
    struct cvm_err err = {0};
    rs->res.calls++;
    rs->res.rounds += rs->pending;
    int r = query(rs, &err);
    if (r < 0)
        finish(rs, r, err.msg);
}

int code_cache_reset(struct sandbox *sb, code_cache_reset_fn done, void *data)
{
    struct reset *rs;
    if (hv_accel(sandbox_vm(sb))->kvm) {
        struct code_cache_reset_result res = {.skipped = true};
        done(sb, 0, NULL, &res, data);
        return 0;
    }
    rs = calloc(1, sizeof(*rs));
    if (!rs)
        return -ENOMEM;
    *rs = (struct reset){.sb = sb, .done = done, .data = data};
    struct cvm_err err = {0};
    int r = query(rs, &err);
    if (r < 0)
        free(rs);
    return r;
}
