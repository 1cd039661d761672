/* The boot of one sandbox VM as a sequence of phases, and the watchdog verdict over them.
 *
 * A boot that does not progress must fail within seconds and say which phase stalled, not
 * after the whole boot deadline: on a host whose /dev/kvm cannot run our guest (PVM, broken
 * nested virtualization) the console stays silent forever, and that is visible as soon as the
 * kernel's first line is overdue. Everything here is PURE (times in, verdicts and text out):
 * the sandbox feeds it events and asks it when to look again. Times are CLOCK_MONOTONIC ns. */
#ifndef CVM_BOOT_PHASES_H
#define CVM_BOOT_PHASES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum boot_phase {
    BOOT_QEMU_SPAWNED, /* QEMU exec'd (helpers are up) */
    BOOT_QMP_READY,    /* QMP negotiated: QEMU runs the guest */
    BOOT_CONSOLE,      /* first byte on the guest console: the guest kernel runs */
    BOOT_INIT,         /* the agent (PID 1) started: host time derived from the agent's uptime */
    BOOT_AGENT,        /* the agent answered Health */
    BOOT_CONTAINER,    /* the first container was created in the guest */
    _BOOT_PHASE_MAX,
};

struct boot_phases {
    uint64_t start_ns;               /* the boot began (sandbox created) */
    uint64_t at_ns[_BOOT_PHASE_MAX]; /* when each phase was reached; 0: not yet */
    uint64_t guest_init_ns;          /* guest uptime when the agent started (0: unknown) */
    uint64_t guest_ready_ns;         /* guest uptime when the agent served its API */
    bool agent_reached;              /* a vsock connection to the agent was made */
};

struct boot_limits {
    uint64_t console_ns;  /* QEMU spawned -> first console byte; 0: no console check */
    uint64_t deadline_ns; /* start -> agent answered */
};

enum boot_verdict {
    BOOT_WAITING, /* keep going; look again at *next_ns */
    BOOT_UP,      /* the agent answered */
    BOOT_STALLED, /* give up: *stalled names the phase that did not come */
};

/* How long a silent console is tolerated when the config says 0 ("console_deadline_ms"):
 * a kernel's first line comes in well under 100 ms after QEMU starts under KVM and in
 * 0.3-1.5 s under TCG here (2 loaded cores); the margins are for overloaded hosts. */
/* What to do when KVM cannot run the guest: its console stays silent, or QEMU dies before the
 * guest's first output (a paravirtual-only /dev/kvm hangs some QEMU builds, aborts others). */
#define BOOT_KVM_ADVICE                                                                            \
    "KVM here cannot run this guest kernel: set \"accel\": \"tcg\" (or \"auto\") in the "          \
    "runtime config (cvm-check tells what serves /dev/kvm)"
#define BOOT_CONSOLE_DEFAULT_KVM_MS 3000u
#define BOOT_CONSOLE_DEFAULT_TCG_MS 10000u

/* PURE: the limits for a config (console_ms 0 = the default for the accelerator). */
struct boot_limits boot_limits_for(unsigned console_ms, unsigned deadline_ms, bool kvm);

void boot_phases_init(struct boot_phases *b, uint64_t start_ns);
/* Record a phase at now (first time only; later marks are ignored). */
void boot_phases_mark(struct boot_phases *b, enum boot_phase p, uint64_t now_ns);
/* Record the agent's Health answer at now: BOOT_AGENT, and BOOT_INIT derived from the agent's
 * clock (now - (uptime - init_uptime)), never before QEMU was spawned. */
void boot_phases_agent(struct boot_phases *b, uint64_t now_ns, uint64_t guest_init_ns,
                       uint64_t guest_ready_ns, uint64_t guest_now_ns);

/* PURE: the verdict at now. When waiting, *next_ns is when the verdict can next change. */
enum boot_verdict boot_phases_check(const struct boot_phases *b, const struct boot_limits *l,
                                    uint64_t now_ns, enum boot_phase *stalled, uint64_t *next_ns);

const char *boot_phase_name(enum boot_phase p); /* "qemu", "qmp", "console", ... */

/* PURE: the latest phase reached (in boot order), or _BOOT_PHASE_MAX when none was. */
enum boot_phase boot_phases_last(const struct boot_phases *b);

/* PURE: the last "Kernel panic - not syncing: ..." line of a console text, from "Kernel
 * panic" to the end of its line, control bytes shown as '?'. 0, or -ENOENT when the guest
 * kernel did not panic. */
int boot_console_panic(const char *console, char *out, size_t n);

/* PURE: "qemu +12 ms, qmp +40 ms, console +180 ms, init +1650 ms (guest uptime 1400 ms, agent
 * serving at 1500 ms), agent +2000 ms, container +2300 ms"
 * (phases not reached are left out). Returns the length snprintf would write. */
int boot_phases_format(const struct boot_phases *b, char *buf, size_t n);

/* PURE: the Create error for a stalled boot: which phase, what was seen, what to try.
 * accel_desc: "kvm (forced by ...)" / "tcg (no /dev/kvm)"; last_err: the agent's last
 * connection error or ""; console_tail: "" or lines joined by '|'. */
void boot_stall_message(const struct boot_phases *b, const struct boot_limits *l,
                        enum boot_phase stalled, bool kvm, const char *accel_desc,
                        const char *last_err, const char *console_tail, char *buf, size_t n);

#endif
