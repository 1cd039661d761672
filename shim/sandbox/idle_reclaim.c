/* An idle sandbox's translation cache, emptied and given back. See idle_reclaim.h.
 *
 * The steps: the cache's figures (QMP x-query-jit); a reset when more than RESET_MIN_USED was
 * generated since the last flush; the trim. Each step's callback gets -ECANCELED when the VM
 * went meanwhile, and then touches nothing of the sandbox. */
#define LOG_MODULE "sandbox"
#include "sandbox/idle_reclaim.h"

#include <errno.h>
#include <string.h>

#include "accel.h"
#include "hv.h"
#include "jit_stats.h"
#include "fd.h"
#include "log.h"
#include "sandbox/code_cache_reset.h"
#include "sandbox/sandbox.h"

/* The trim keeps what was generated since the flush and a 4 MiB margin (tcg_trim.c); a reset
 * leaves ~2 MiB in use. Below this a reset would give back little more than the trim alone. */
#define RESET_MIN_USED (6ull << 20)

static void done(struct sandbox *sb)
{
    sb->idle_resetting = false;
}

static void trimmed(struct hv_vm *vm, int r, const char *msg, uint64_t bytes, void *data)
{
    struct sandbox *sb = data;
    (void)vm;
    if (r == -ECANCELED)
        return;
    if (r < 0)
        log_warn("idle: translation cache kept whole: %s", msg ? msg : strerror(-r));
    else if (sb->idle_reset_calls)
        log_info("idle: translation cache reset (flushed after %u calls of fresh code) and "
                 "trimmed in %llu ms: %llu KiB given back",
                 sb->idle_reset_calls, (now_ns() - sb->idle_reset_start_ns) / 1000000ull,
                 (unsigned long long)bytes >> 10);
    else
        log_info("idle: translation cache trimmed: %llu KiB given back",
                 (unsigned long long)bytes >> 10);
    done(sb);
}

static void trim(struct sandbox *sb)
{
    struct cvm_err err = {0};
    int r;
    if (!sandbox_vm(sb)) { /* stopping since the reset began */
        done(sb);
        return;
    }
    r = hv_trim_code_cache(sandbox_vm(sb), trimmed, sb, &err);
    if (r < 0) {
        log_warn("idle: translation cache kept whole: %s", err.msg);
        done(sb);
    }
}

static void reset_done(struct sandbox *sb, int r, const char *msg,
                       const struct code_cache_reset_result *res, void *data)
{
    (void)data;
    if (r == -ECANCELED)
        return;
    if (r < 0 && sb->state != SB_READY) { /* stopping: the agent went first */
        log_debug("idle: translation cache reset ended by the sandbox's stop: %s",
                  msg ? msg : strerror(-r));
        done(sb);
        return;
    }
    if (r < 0) {
        log_warn("idle: translation cache not reset: %s", msg ? msg : strerror(-r));
        done(sb);
        return;
    }
    log_debug("idle: translation cache reset: flushed after %u calls, %u rounds of fresh code; "
              "%llu of %llu KiB in use",
              res->calls, res->rounds, (unsigned long long)res->used_after >> 10,
              (unsigned long long)res->capacity >> 10);
    sb->idle_reset_calls = res->calls;
    trim(sb);
}

static void measured(struct hv_vm *vm, int r, const struct jit_stats *st, void *data)
{
    struct sandbox *sb = data;
    (void)vm;
    if (r == -ECANCELED)
        return;
    if (r < 0 || st->code_capacity == 0 || sb->state != SB_READY) {
        if (r < 0)
            log_warn("idle: translation cache left as it is (QMP x-query-jit: %s)", strerror(-r));
        done(sb);
        return;
    }
    if (st->code_used <= RESET_MIN_USED) {
        trim(sb);
        return;
    }
    r = code_cache_reset(sb, reset_done, NULL);
    if (r < 0) {
        log_warn("idle: translation cache not reset: %s", strerror(-r));
        done(sb);
    }
}

void sandbox_idle(struct hv_vm *vm, void *data)
{
    struct sandbox *sb = data;
    struct cvm_err err = {0};
    if (sb->idle_resetting || sb->idle_reclaim_held || sb->state != SB_READY ||
        sb->cfg.tcg_idle_reset_s == 0 || sb->cfg.vcpus != 1 || hv_accel(vm)->kvm)
        return;
    sb->idle_resetting = true;
    sb->idle_reset_calls = 0;
    sb->idle_reset_start_ns = now_ns();
    if (hv_query_jit(vm, measured, sb, &err) < 0) {
        log_warn("idle: translation cache left as it is: %s", err.msg);
        done(sb);
    }
}

void sandbox_hold_idle_reclaim(struct sandbox *sb, bool hold)
{
    sb->idle_reclaim_held = hold;
    hv_hold_pageout(sb->vm, hold); /* from its boot on: sandbox_vm() is NULL until ready */
}
