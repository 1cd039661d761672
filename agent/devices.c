/* See devices.h. The program mirrors runc's v2 device filter in effect, not in code: the
 * rules are walked last to first, the first that matches decides. */
#include "devices.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"

/* Device numbers the kernel can have (MINORBITS 20, 12 bits of major): a rule naming a
 * larger one can match no device. */
#define DEV_MAJOR_MAX 0xfffu
#define DEV_MINOR_MAX 0xfffffu

int devices_check_available(const struct oci_spec *s, const char *sysfs_dev, struct cvm_err *err)
{
    for (size_t i = 0; i < s->n_devices; i++) {
        const struct oci_device *d = &s->devices[i];
        char p[128];
        struct stat st;
        if (d->type == 'p')
            continue; /* a FIFO needs no driver */
        snprintf(p, sizeof(p), "%s/%s/%u:%u", sysfs_dev, d->type == 'b' ? "block" : "char",
                 d->major, d->minor);
        if (stat(p, &st) == 0)
            continue;
        int r = -errno;
        return cvm_err_setc(
            err, RPC_FAILED_PRECONDITION, r == -ENOENT ? -ENODEV : r,
            "linux.devices: %s (%c %u:%u): %s", d->path, d->type, d->major, d->minor,
            r == -ENOENT ? "the guest kernel has no such device (a VM gets no host devices)"
                         : strerror(-r));
    }
    return 0;
}

static bool rule_matches(const struct oci_device_rule *r, char type, uint32_t major, uint32_t minor,
                         unsigned acc)
{
    if (r->type != 'a' && r->type != type)
        return false;
    if (r->major >= 0 && (uint64_t)r->major != major)
        return false;
    if (r->minor >= 0 && (uint64_t)r->minor != minor)
        return false;
    /* an allow covers an access it has every bit of; a deny hits one it shares a bit with */
    return r->allow ? (acc & ~r->access) == 0 : (acc & r->access) != 0;
}

bool devcg_decide(const struct oci_device_rule *rules, size_t n, char type, uint32_t major,
                  uint32_t minor, unsigned access)
{
    for (size_t i = n; i-- > 0;)
        if (rule_matches(&rules[i], type, major, minor, access))
            return rules[i].allow;
    return false;
}

#define INSN(c, d, s, o, i)                                                                        \
    ((struct bpf_insn){.code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i)})

int devcg_program_build(const struct oci_device_rule *rules, size_t n, struct bpf_insn *out,
                        size_t max)
{
    size_t k = 0;
#define EMIT(x)                                                                                    \
    do {                                                                                           \
        if (k >= max)                                                                              \
            return -E2BIG;                                                                         \
        out[k++] = (x);                                                                            \
    } while (0)
    /* struct bpf_cgroup_dev_ctx { u32 access_type (access << 16 | type); u32 major, minor; } */
    EMIT(INSN(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_2, BPF_REG_1, 0, 0));
    EMIT(INSN(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_3, BPF_REG_2, 0, 0));
    EMIT(INSN(BPF_ALU64 | BPF_AND | BPF_K, BPF_REG_3, 0, 0, 0xffff));  /* r3 = type */
    EMIT(INSN(BPF_ALU64 | BPF_RSH | BPF_K, BPF_REG_2, 0, 0, 16));      /* r2 = access */
    EMIT(INSN(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_4, BPF_REG_1, 4, 0)); /* r4 = major */
    EMIT(INSN(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_5, BPF_REG_1, 8, 0)); /* r5 = minor */
    for (size_t i = n; i-- > 0;) {
        const struct oci_device_rule *r = &rules[i];
        struct bpf_insn blk[10];
        size_t b = 0;
        if ((r->major >= 0 && r->major > DEV_MAJOR_MAX) ||
            (r->minor >= 0 && r->minor > DEV_MINOR_MAX))
            continue; /* names no device the kernel can have */
        /* jumps are filled in below: each skips to the end of this block */
        if (r->type != 'a')
            blk[b++] = INSN(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_3, 0, 0,
                            r->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR);
        blk[b++] = INSN(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_6, BPF_REG_2, 0, 0);
        blk[b++] = INSN(BPF_ALU64 | BPF_AND | BPF_K, BPF_REG_6, 0, 0,
                        (int32_t)(r->allow ? (~r->access & 7u) : r->access));
        blk[b++] = INSN(BPF_JMP | (r->allow ? BPF_JNE : BPF_JEQ) | BPF_K, BPF_REG_6, 0, 0, 0);
        if (r->major >= 0)
            blk[b++] = INSN(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_4, 0, 0, (int32_t)r->major);
        if (r->minor >= 0)
            blk[b++] = INSN(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_5, 0, 0, (int32_t)r->minor);
        blk[b++] = INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, r->allow ? 1 : 0);
        blk[b++] = INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
        for (size_t j = 0; j < b; j++) {
            if (BPF_CLASS(blk[j].code) == BPF_JMP && BPF_OP(blk[j].code) != BPF_EXIT)
                blk[j].off = (int16_t)(b - j - 1);
            EMIT(blk[j]);
        }
    }
    EMIT(INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0)); /* nothing matched: denied */
    EMIT(INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
#undef EMIT
    return (int)k;
}

#define RULE(t, ma, mi, acc)                                                                       \
    {                                                                                              \
        .allow = true, .type = (t), .major = (ma), .minor = (mi), .access = (acc)                  \
    }
#define RWM (OCI_DEV_ACC_R | OCI_DEV_ACC_W | OCI_DEV_ACC_M)
/* runc 1.1 appends these to every container's rules (libcontainer/specconv AllowedDevices),
 * so they win over the spec's: mknod of any node, and the standard nodes, the ptys and tun. */
const struct oci_device_rule devcg_runc_defaults[DEVCG_N_RUNC_DEFAULTS] = {
    RULE('c', -1, -1, OCI_DEV_ACC_M),
    RULE('b', -1, -1, OCI_DEV_ACC_M),
    RULE('c', 1, 3, RWM),    /* null */
    RULE('c', 1, 8, RWM),    /* random */
    RULE('c', 1, 7, RWM),    /* full */
    RULE('c', 5, 0, RWM),    /* tty */
    RULE('c', 1, 5, RWM),    /* zero */
    RULE('c', 1, 9, RWM),    /* urandom */
    RULE('c', 136, -1, RWM), /* pts */
    RULE('c', 5, 2, RWM),    /* ptmx */
    RULE('c', 10, 200, RWM), /* net/tun */
};

int devices_cgroup_apply(const char *cg, const struct oci_spec *s, struct cvm_err *err)
{
    size_t nr = s->n_device_rules + DEVCG_N_RUNC_DEFAULTS;
    _cleanup_free_ struct oci_device_rule *rules = calloc(nr, sizeof(*rules));
    size_t max = DEVCG_MAX_INSNS(nr);
    _cleanup_free_ struct bpf_insn *insns = calloc(max, sizeof(*insns));
    if (!insns || !rules)
        return cvm_err_set(err, -ENOMEM, "out of memory");
    if (s->n_device_rules)
        memcpy(rules, s->device_rules, s->n_device_rules * sizeof(*rules));
    memcpy(rules + s->n_device_rules, devcg_runc_defaults, sizeof(devcg_runc_defaults));
    int n = devcg_program_build(rules, nr, insns, max);
    if (n < 0)
        return cvm_err_set(err, n, "linux.resources.devices: program: %s", strerror(-n));
    static char vlog[4096];
    union bpf_attr load;
    memset(&load, 0, sizeof(load));
    load.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
    load.insns = (uint64_t)(uintptr_t)insns;
    load.insn_cnt = (uint32_t)n;
    load.license = (uint64_t)(uintptr_t) "Apache";
    _cleanup_close_ int prog = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &load, sizeof(load));
    if (prog < 0) {
        int r = -errno;
        /* again with the verifier's log, for the message: only its tail says why (a full
         * log buffer fails the load with ENOSPC, hence not on the first try) */
        load.log_buf = (uint64_t)(uintptr_t)vlog;
        load.log_size = sizeof(vlog);
        load.log_level = 1;
        vlog[0] = '\0';
        int again = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &load, sizeof(load));
        if (again >= 0)
            close(again);
        size_t l = strnlen(vlog, sizeof(vlog));
        return cvm_err_set(err, r,
                           "linux.resources.devices: loading the device program: %s%s%.200s",
                           strerror(-r), l ? ": " : "", vlog + (l > 200 ? l - 200 : 0));
    }
    _cleanup_close_ int cgfd = open(cg, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (cgfd < 0)
        return cvm_err_set(err, -errno, "cgroup %s: %s", cg, strerror(errno));
    union bpf_attr at;
    memset(&at, 0, sizeof(at));
    at.target_fd = (uint32_t)cgfd;
    at.attach_bpf_fd = (uint32_t)prog;
    at.attach_type = BPF_CGROUP_DEVICE;
    at.attach_flags = BPF_F_ALLOW_MULTI; /* as runc: a parent's program still applies */
    if (syscall(SYS_bpf, BPF_PROG_ATTACH, &at, sizeof(at)) < 0)
        return cvm_err_set(err, -errno,
                           "linux.resources.devices: attaching the device program to %s: %s", cg,
                           strerror(errno));
    return 0; /* the attachment holds the program; our fd goes */
}
