/* What the user reads about a sandbox's boot: <run_dir>/boot.log (phases, accelerator, outcome)
 * and the console's last lines and panic for error messages. */
#define LOG_MODULE "sandbox"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "fd.h"
#include "log.h"
#include "sandbox/sandbox_internal.h"

/* "tcg (/dev/kvm is served by kvm_pvm, which needs a PVM guest kernel)" */
void accel_desc(struct sandbox *sb, char *buf, size_t n)
{
    const struct accel_choice *a = sb->vm ? hv_accel(sb->vm) : NULL;
    if (!a) {
        snprintf(buf, n, "%s", hv_accel_name(sb->cfg.accel));
        return;
    }
    snprintf(buf, n, "%s: %s", a->kvm ? "kvm" : "tcg", a->reason);
}

/* <run_dir>/boot.log: what the user reads about this sandbox's boot, beside vm/console.log.
 * Small, on the run dir's tmpfs, rewritten at each phase milestone. */
void write_boot_log(struct sandbox *sb, const char *outcome)
{
    char path[sizeof(sb->run_dir) + 16], phases[512], accel[320];
    _cleanup_fclose_ FILE *f = NULL;
    snprintf(path, sizeof(path), "%s/boot.log", sb->run_dir);
    f = fopen(path, "we");
    if (!f)
        return;
    boot_phases_format(&sb->phases, phases, sizeof(phases));
    accel_desc(sb, accel, sizeof(accel));
    fprintf(f,
            "sandbox: %s\naccel: %s\nphases (from sandbox creation): %s\nresult: %s\n"
            "console: %s/console.log\n%s%s",
            sb->id, accel, phases, outcome, sb->vm_dir, sb->origin, sb->origin[0] ? "\n" : "");
}

/* The console's last lines, joined by '|', for an error message. */
void console_tail_line(struct sandbox *sb, char *tail, size_t n)
{
    tail[0] = '\0';
    if (sb->vm)
        (void)hv_console_tail(sb->vm, tail, n);
    for (char *c = tail; *c; c++)
        if (*c == '\n' || *c == '\r')
            *c = '|';
}

/* "guest kernel panic: Kernel panic - not syncing: ...", or "" (the panic line sits above a
 * stack trace: look further back than the tail shown). */
void console_panic(struct sandbox *sb, char *out, size_t n)
{
    char con[4096], line[200];
    out[0] = '\0';
    if (sb->vm && hv_console_tail(sb->vm, con, sizeof(con)) >= 0 &&
        boot_console_panic(con, line, sizeof(line)) == 0)
        snprintf(out, n, "guest kernel panic: %s; ", line);
}

/* Pull what hv knows into the phases (QEMU's spawn, the console's first byte). */
void phases_refresh(struct sandbox *sb)
{
    if (!sb->vm)
        return;
    if (hv_qemu_spawn_time_ns(sb->vm))
        boot_phases_mark(&sb->phases, BOOT_QEMU_SPAWNED, hv_qemu_spawn_time_ns(sb->vm));
    if (hv_first_output_ns(sb->vm))
        boot_phases_mark(&sb->phases, BOOT_CONSOLE, hv_first_output_ns(sb->vm));
}

void sandbox_container_created(struct sandbox *sb)
{
    char phases[512];
    if (sb->phases.at_ns[BOOT_CONTAINER])
        return;
    boot_phases_mark(&sb->phases, BOOT_CONTAINER, now_ns());
    boot_phases_format(&sb->phases, phases, sizeof(phases));
    log_info("sandbox %s boot phases: %s", sb->id, phases);
    write_boot_log(sb, "first container created");
}
