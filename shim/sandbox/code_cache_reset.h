/* Emptying a VM's TCG translation cache: a warm VM drops its boot's translated code before its
 * rehearsal (README "Warm VM pool"), an idle sandbox the code of what it last ran, before the
 * dead part of its cache is given back (idle_reclaim.h).
 *
 * Under TCG QEMU runs guest code from a translation cache of QEMU_TCG_TB_MIB (16 MiB) and
 * flushes the whole cache when it is full. A boot translates about twice that, so a fresh VM's
 * cache is full of code it will never run again (the kernel's init, the initramfs's), and the
 * next few milliseconds of new code flush it: measured in claimed pods, the pod's start
 * flushed the cache twice and retranslated the container path (the rehearsal's included) each
 * time. So before the rehearsal, a warm shim fills the rest of the cache on purpose: the agent
 * runs fresh code (RunFreshCode) in calls sized from the cache's figures (QMP x-query-jit),
 * until QEMU flushes. What follows (the rehearsal, then the claimed sandbox's start) starts
 * from an empty cache and keeps its translations. Each call holds the agent's loop for the
 * rounds it runs (10-20 ms), so a live sandbox's stdio waits that long at most. Under KVM
 * there is no translation cache: nothing is done. */
#ifndef CVM_SHIM_CODE_CACHE_RESET_H
#define CVM_SHIM_CODE_CACHE_RESET_H

#include <stdbool.h>
#include <stdint.h>

struct sandbox;

/* What the reset did, for the log: calls and rounds of RunFreshCode, and the cache's bytes in
 * use after the flush (the tail of the last call). */
struct code_cache_reset_result {
    bool skipped; /* KVM: no translation cache */
    unsigned calls, rounds;
    uint64_t used_after, capacity;
};

/* r: 0 when the cache was flushed (or skipped); -ECANCELED when the sandbox went meanwhile
 * (nothing of it may be touched then); other -errno with msg when a step failed or no flush
 * came within the calls allowed. res is borrowed for the call. */
typedef void (*code_cache_reset_fn)(struct sandbox *sb, int r, const char *msg,
                                    const struct code_cache_reset_result *res, void *data);

/* Start on the ready sandbox sb; done is called once, unless this returns -errno (nothing
 * started): from the loop, or under KVM (skipped) before this returns. */
int code_cache_reset(struct sandbox *sb, code_cache_reset_fn done, void *data);

#endif
