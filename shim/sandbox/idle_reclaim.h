/* An idle sandbox gives back its TCG translation cache (config "tcg_idle_reset_s").
 *
 * Under TCG QEMU keeps the code it translated in a cache of 16 MiB (a pooled VM's: 32), each
 * page of it host memory once written, for the life of the VM: an idle cold sandbox holds all
 * 16 MiB (its boot translates about twice that), the largest part of its host memory after the
 * guest's RAM. Once QEMU has been idle for tcg_idle_reset_s after being busy (hv.h cb.idle;
 * the pod's start is busy), the shim empties the cache (code_cache_reset.h: the agent runs
 * fresh code until QEMU flushes) and gives back the pages past the code generated since
 * (hv_trim_code_cache: the cache is a memfd, -accel tcg,split-wx=on, for VMs with one vCPU
 * when tcg_idle_reset_s is set). A cache with little generated since its last flush is only
 * trimmed: its dead pages go without a reset.
 *
 * The cost, once per busy period followed by that much idleness (never for a VM that keeps
 * busy, nor one woken more often, as by probes every 10 s): ~200 ms of the VM's CPU for the
 * reset, and the code the next work runs is translated again. Under KVM nothing is done. */
#ifndef CVM_SHIM_IDLE_RECLAIM_H
#define CVM_SHIM_IDLE_RECLAIM_H

#include <stdbool.h>

struct hv_vm;
struct sandbox;

/* hv's cb.idle for a sandbox's VM (data: the sandbox). */
void sandbox_idle(struct hv_vm *vm, void *data);

/* A warm pool's VM keeps its cache (its rehearsal's code) and QEMU's files (the ones its
 * claim runs) however long it idles: warm.c holds both from its boot to its claim. */
void sandbox_hold_idle_reclaim(struct sandbox *sb, bool hold);

#endif
