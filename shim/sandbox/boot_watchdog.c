/* The boot watchdog: fail as soon as a boot phase is overdue, naming it (boot_phases.h). */
#define LOG_MODULE "sandbox"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fd.h"
#include "loop.h"
#include "sandbox/sandbox_internal.h"

/* The boot watchdog: fail as soon as a phase is overdue, naming it; else look again when the
 * verdict can next change. */
void boot_watch_eval(struct sandbox *sb)
{
    enum boot_phase stalled = BOOT_AGENT;
    uint64_t now = now_ns(), next = 0;
    char why[900], accel[320], tail[300];

    if (sb->state != SB_BOOTING)
        return;
    phases_refresh(sb);
    switch (boot_phases_check(&sb->phases, &sb->limits, now, &stalled, &next)) {
    case BOOT_UP: return;
    case BOOT_WAITING:
        loop_timer_set(sb->boot_watch, (next > now ? next - now : 0) / 1000ull + 1);
        return;
    case BOOT_STALLED:
        accel_desc(sb, accel, sizeof(accel));
        console_tail_line(sb, tail, sizeof(tail));
        boot_stall_message(&sb->phases, &sb->limits, stalled, sb->vm && hv_accel(sb->vm)->kvm,
                           accel, sb->last_err, tail, why, sizeof(why));
        boot_failed(sb, why);
        return;
    }
}

void boot_watch_cb(struct loop_source *s, void *data)
{
    (void)s;
    boot_watch_eval(data);
}
