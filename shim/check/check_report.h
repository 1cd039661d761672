/* cvm-check: can a sandbox VM run on this host, and if not, why.
 *
 * The report is a PURE function of a facts struct (what check_probe.c found out about the
 * host), so every verdict is unit-tested over faked hosts: check_report_build() turns facts
 * into one line per check, check_report_text()/check_report_json() render them. Texts that
 * came from probed programs are untrusted: every detail is reduced to printable ASCII. */
#ifndef CVM_CHECK_REPORT_H
#define CVM_CHECK_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#include "sandbox/boot_phases.h"
#include "accel.h"
#include "config.h"

#define CHECK_DETAIL_MAX 768
#define CHECK_TEXT_MAX 256
#define CHECK_LINES_MAX 16

enum check_status { CHECK_OK, CHECK_WARN, CHECK_FAIL };

struct check_line {
    const char *name; /* "accel", "qemu", ... (static) */
    enum check_status status;
    char detail[CHECK_DETAIL_MAX]; /* printable ASCII only */
};

/* A program we looked at: path, whether it runs, the first line it printed. */
struct tool_facts {
    char path[CFG_PATH_MAX];      /* "" when it could not be found at all */
    int err;                      /* 0, or -errno: not executable / could not be run / timed out */
    int status;                   /* its exit status (0 expected); -1: killed or not run */
    char version[CHECK_TEXT_MAX]; /* first non-empty line of its output (raw, untrusted) */
};

/* The guest kernel or initrd. */
struct image_facts {
    char path[CFG_PATH_MAX];
    int err;                      /* 0, or -errno: not resolved / not readable */
    char err_msg[CHECK_TEXT_MAX]; /* why, when err (assets_resolve's message) */
    int kind;                     /* enum guest_kernel_kind / guest_initrd_kind */
    int release_err;              /* 0: release holds it; -ENOENT: none (initrd: no modules);
                                    -EINVAL: malformed; -EOPNOTSUPP: not looked (compression);
                                    -E2BIG: not found within the bounded read; other -errno */
    char release[128];            /* kernel: bzImage header / ELF build-salt note release;
                                    initrd: its lib/modules/<kver> */
    bool pvh;                     /* ELF kernel: has the PVH entry note QEMU boots it by */
    char note[CHECK_TEXT_MAX];    /* a detail for release_err (e.g. "gzip -dc exited 1") */
};

struct host_facts {
    struct accel_facts accel;
    enum hv_accel want;                 /* the config's "accel" */
    enum hv_vsock_mode vsock_mode;      /* the config's "vsock_mode" */
    int vhost_vsock_err, vhost_net_err; /* open(O_RDWR): 0 or -errno */

    int cgroup_err;                          /* 0: cgroup v2 at /sys/fs/cgroup; else -errno */
    char cgroup_controllers[CHECK_TEXT_MAX]; /* cgroup.controllers of the root */

    struct tool_facts qemu;
    bool qemu_discovered; /* the config left "qemu" empty: ours, else Debian's, was picked */
    struct tool_facts distro_qemu; /* Debian's /usr/bin/qemu-system-x86_64, when qemu is another */
    /* Output of `qemu -machine help` / `-device help` / `-object help`; NULL: not obtained.
     * Borrowed: the caller owns them. */
    const char *machine_help, *device_help, *object_help;

    struct tool_facts virtiofsd;
    struct tool_facts vsockd; /* only path/err are used */
    struct image_facts kernel, initrd;
    struct tool_facts containerd;

    char config_path[CFG_PATH_MAX];  /* "" = no file: built-in defaults */
    bool config_explicit;            /* --config FILE */
    int config_err;                  /* cfg_load_file() result */
    char config_msg[CHECK_TEXT_MAX]; /* its message */
};

/* The --boot result: phases (shim/boot_phases.h) and whether the agent answered. */
struct boot_result {
    bool up;                       /* the agent answered Health */
    bool kvm;                      /* the accelerator QEMU got */
    char detail[CHECK_DETAIL_MAX]; /* when !up: the stall message / start error */
    struct boot_phases phases;
};

/* PURE: the lines for f in the documented order; returns how many (<= max). */
size_t check_report_build(const struct host_facts *f, struct check_line *lines, size_t max);
/* PURE: from two `qemu -version` lines, ours ("... (Debian <v>, containerd-shim-cvm-v1)") and
 * Debian's ("... (Debian <v>[+b<n>])", a binNMU of the same source): the source version ours
 * was built from into ours_src. 0: the same source as Debian's; 1: another (ours is stale or
 * ahead); -EINVAL: ours is not our build or a line carries no Debian version. */
int check_qemu_source_cmp(const char *ours, const char *debian, char *ours_src, size_t n);
/* PURE: the "boot" line of a --boot result. */
void check_report_boot_line(const struct boot_result *b, struct check_line *line);
/* PURE: no line is a fail. */
bool check_report_can_run(const struct check_line *lines, size_t n);
const char *check_status_name(enum check_status s); /* "ok" | "warn" | "fail" */

/* "ok    name: detail" per line, then one closing verdict line. */
void check_report_text(FILE *out, const struct host_facts *f, const struct check_line *lines,
                       size_t n);
/* {"checks":[{name,status,detail}], "can_run", "accel", "accel_provider", "config",
 *  "boot": null | {status, detail, phases_ms: {qemu: N, ...}, guest_init_ms, guest_ready_ms}}.
 * New reference; NULL on allocation failure. boot may be NULL (not run). */
json_t *check_report_json(const struct host_facts *f, const struct check_line *lines, size_t n,
                          const struct boot_result *boot);

/* PURE helpers, exported for tests. */
/* Copy the first non-empty line of src[0..len) into dst, every byte outside printable ASCII
 * replaced by '?' (tabs by a space), trimmed. */
void check_first_line(char *dst, size_t n, const char *src, size_t len);
/* Replace in place every byte outside printable ASCII by '?'. */
void check_sanitize(char *s);
/* name appears in a QEMU help text as a whole token ("microvm  ...", name "x-pci", ...). */
bool check_help_has(const char *text, const char *name);

#endif
