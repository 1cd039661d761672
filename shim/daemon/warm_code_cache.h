/* A warm VM drops its boot's translated code before its rehearsal (README "Warm VM pool").
 *
 * Under TCG QEMU runs guest code from a translation cache of QEMU_TCG_TB_MIB (16 MiB) and
 * flushes the whole cache when it is full. A boot translates about twice that, so a fresh VM's
 * cache is full of code it will never run again (the kernel's init, the initramfs's), and the
 * next few milliseconds of new code flush it: measured in claimed pods, the pod's start
 * flushed the cache twice and retranslated the container path (the rehearsal's included) each
 * time. So before the rehearsal, a warm shim fills the rest of the cache on purpose: the agent
 * runs fresh code (RunFreshCode) in calls sized from the cache's figures (QMP x-query-jit),
 * until QEMU flushes. What follows (the rehearsal, then the claimed sandbox's start) starts
 * from an empty cache and keeps its translations. Under KVM there is no translation cache:
 * nothing is done. */
#ifndef CVM_SHIM_WARM_CODE_CACHE_H
#define CVM_SHIM_WARM_CODE_CACHE_H

#include <stdbool.h>
#include <stdint.h>

struct sandbox;

/* What the reset did, for the log: calls and rounds of RunFreshCode, and the cache's bytes in
 * use after the flush (the tail of the last call). */
struct warm_code_cache_result {
    bool skipped; /* KVM: no translation cache */
    unsigned calls, rounds;
    uint64_t used_after, capacity;
};

/* r: 0 when the cache was flushed (or skipped); -ECANCELED when the sandbox went meanwhile
 * (nothing of it may be touched then); other -errno with msg when a step failed or no flush
 * came within the calls allowed. res is borrowed for the call. */
typedef void (*warm_code_cache_fn)(struct sandbox *sb, int r, const char *msg,
                                   const struct warm_code_cache_result *res, void *data);

/* Start on the ready sandbox sb; done is called once, unless this returns -errno (nothing
 * started): from the loop, or under KVM (skipped) before this returns. */
int warm_code_cache_reset(struct sandbox *sb, warm_code_cache_fn done, void *data);

#endif
