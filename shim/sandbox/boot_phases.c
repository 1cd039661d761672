/* Boot phases and the boot watchdog's verdict. See boot_phases.h. */
#include "sandbox/boot_phases.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const char *const names[_BOOT_PHASE_MAX] = {"qemu", "qmp",   "console",
                                                   "init", "agent", "container"};

const char *boot_phase_name(enum boot_phase p)
{
    return (unsigned)p < _BOOT_PHASE_MAX ? names[p] : "?";
}

struct boot_limits boot_limits_for(unsigned console_ms, unsigned deadline_ms, bool kvm)
{
    if (!console_ms)
        console_ms = kvm ? BOOT_CONSOLE_DEFAULT_KVM_MS : BOOT_CONSOLE_DEFAULT_TCG_MS;
    return (struct boot_limits){.console_ns = (uint64_t)console_ms * 1000000u,
                                .deadline_ns = (uint64_t)deadline_ms * 1000000u};
}

enum boot_phase boot_phases_last(const struct boot_phases *b)
{
    enum boot_phase last = _BOOT_PHASE_MAX;
    for (int p = 0; p < _BOOT_PHASE_MAX; p++)
        if (b->at_ns[p])
            last = (enum boot_phase)p;
    return last;
}

int boot_console_panic(const char *console, char *out, size_t n)
{
    static const char mark[] = "Kernel panic - not syncing:";
    const char *hit = NULL, *e;
    size_t len, i;
    for (const char *p = console; p && (p = strstr(p, mark)); p += sizeof(mark) - 1)
        hit = p;
    if (!hit || n == 0)
        return -ENOENT;
    for (e = hit; *e && *e != '\n' && *e != '\r' && *e != '|'; e++)
        ;
    if ((size_t)(e - hit) > sizeof(mark) + 4 && strncmp(e - 5, " ]---", 5) == 0)
        e -= 5; /* the "---[ end Kernel panic ... ]---" form */
    len = (size_t)(e - hit) < n - 1 ? (size_t)(e - hit) : n - 1;
    for (i = 0; i < len; i++)
        out[i] = (unsigned char)hit[i] < 0x20 || hit[i] == 0x7f ? '?' : hit[i];
    out[len] = '\0';
    return 0;
}

void boot_phases_init(struct boot_phases *b, uint64_t start_ns)
{
    *b = (struct boot_phases){.start_ns = start_ns};
}

void boot_phases_mark(struct boot_phases *b, enum boot_phase p, uint64_t now_ns)
{
    if ((unsigned)p < _BOOT_PHASE_MAX && !b->at_ns[p])
        b->at_ns[p] = now_ns ? now_ns : 1;
}

void boot_phases_agent(struct boot_phases *b, uint64_t now_ns, uint64_t guest_init_ns,
                       uint64_t guest_ready_ns, uint64_t guest_now_ns)
{
    b->guest_init_ns = guest_init_ns;
    b->guest_ready_ns = guest_ready_ns;
    b->agent_reached = true;
    if (guest_init_ns && guest_now_ns >= guest_init_ns) {
        /* The guest clock ran (guest_now - guest_init) since init: init was that long ago,
         * but never before QEMU existed (a guest clock running fast). */
        uint64_t elapsed = guest_now_ns - guest_init_ns;
        uint64_t init = now_ns > elapsed ? now_ns - elapsed : 0;
        if (init < b->at_ns[BOOT_QEMU_SPAWNED])
            init = b->at_ns[BOOT_QEMU_SPAWNED];
        if (init)
            boot_phases_mark(b, BOOT_INIT, init);
    }
    boot_phases_mark(b, BOOT_AGENT, now_ns);
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

enum boot_verdict boot_phases_check(const struct boot_phases *b, const struct boot_limits *l,
                                    uint64_t now_ns, enum boot_phase *stalled, uint64_t *next_ns)
{
    static const enum boot_phase order[] = {BOOT_QEMU_SPAWNED, BOOT_QMP_READY, BOOT_CONSOLE,
                                            BOOT_AGENT};
    uint64_t deadline = b->start_ns + l->deadline_ns;
    uint64_t next = deadline;

    if (b->at_ns[BOOT_AGENT])
        return BOOT_UP;
    if (l->console_ns && b->at_ns[BOOT_QEMU_SPAWNED] && !b->at_ns[BOOT_CONSOLE]) {
        uint64_t silent = b->at_ns[BOOT_QEMU_SPAWNED] + l->console_ns;
        if (now_ns >= silent && silent < deadline) {
            *stalled = BOOT_CONSOLE;
            return BOOT_STALLED;
        }
        next = min_u64(next, silent);
    }
    if (now_ns >= deadline) {
        *stalled = BOOT_AGENT;
        for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
            if (!b->at_ns[order[i]]) {
                *stalled = order[i];
                break;
            }
        return BOOT_STALLED;
    }
    *next_ns = next;
    return BOOT_WAITING;
}

static unsigned long long ms_since(const struct boot_phases *b, uint64_t t)
{
    return t > b->start_ns ? (unsigned long long)((t - b->start_ns) / 1000000u) : 0;
}

int boot_phases_format(const struct boot_phases *b, char *buf, size_t n)
{
    size_t len = 0;
    int w;
    if (n)
        buf[0] = '\0';
    for (int p = 0; p < _BOOT_PHASE_MAX; p++) {
        if (!b->at_ns[p])
            continue;
        w = snprintf(len < n ? buf + len : NULL, len < n ? n - len : 0, "%s%s +%llu ms",
                     len ? ", " : "", names[p], ms_since(b, b->at_ns[p]));
        if (w < 0)
            return w;
        len += (size_t)w;
        if (p == BOOT_INIT && b->guest_init_ns) {
            w = snprintf(len < n ? buf + len : NULL, len < n ? n - len : 0,
                         " (guest uptime %llu ms, agent serving at %llu ms)",
                         (unsigned long long)(b->guest_init_ns / 1000000u),
                         (unsigned long long)(b->guest_ready_ns / 1000000u));
            if (w < 0)
                return w;
            len += (size_t)w;
        }
    }
    return (int)len;
}

void boot_stall_message(const struct boot_phases *b, const struct boot_limits *l,
                        enum boot_phase stalled, bool kvm, const char *accel_desc,
                        const char *last_err, const char *console_tail, char *buf, size_t n)
{
    unsigned long long deadline_ms = (unsigned long long)(l->deadline_ns / 1000000u);
    const char *con = console_tail && *console_tail ? console_tail : "(empty)";
    const char *last = last_err && *last_err ? last_err : "no answer";
    const char *accel = accel_desc && *accel_desc ? accel_desc : kvm ? "kvm" : "tcg";

    switch (stalled) {
    case BOOT_QEMU_SPAWNED:
        snprintf(buf, n,
                 "QEMU was not started within %llu ms (its helpers virtiofsd/cvm-vsockd "
                 "did not come up)",
                 deadline_ms);
        break;
    case BOOT_QMP_READY:
        snprintf(buf, n, "QEMU did not answer on its QMP monitor within %llu ms (accel %s)",
                 deadline_ms, accel);
        break;
    case BOOT_CONSOLE:
        snprintf(buf, n,
                 "stalled before the guest kernel's first output: the console stayed silent "
                 "for %llu ms after QEMU started (accel %s); %s",
                 (unsigned long long)(l->console_ns / 1000000u), accel,
                 kvm ? BOOT_KVM_ADVICE
                     : "is \"kernel\" an x86-64 Linux kernel? On an overloaded host raise "
                       "\"console_deadline_ms\"; cvm-check --boot shows the phases");
        break;
    case BOOT_AGENT:
    default:
        if (b->agent_reached)
            snprintf(buf, n, "the agent is reachable but failing within %llu ms: %s; console: %s",
                     deadline_ms, last, con);
        else
            snprintf(
                buf, n,
                "the guest kernel runs (first output %llu ms after QEMU started) but the "
                "agent did not answer within %llu ms (%s; accel %s); does \"initrd\" hold "
                "cvm-agent as /init, with modules of this kernel? console: %s",
                b->at_ns[BOOT_CONSOLE] > b->at_ns[BOOT_QEMU_SPAWNED]
                    ? (unsigned long long)((b->at_ns[BOOT_CONSOLE] - b->at_ns[BOOT_QEMU_SPAWNED]) /
                                           1000000u)
                    : 0ull,
                deadline_ms, last, accel, con);
        break;
    }
}
