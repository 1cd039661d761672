/* PURE: resolved spec + host facts -> QEMU argv. See qemu_argv.h.
 *
 * Shape (measured on this workplace, architecture.md "Facts measured"):
 *  - -M microvm with pcie=on: vhost-user devices do not work on virtio-mmio under TCG, the
 *    -pci variants do; vhost-user also needs shared guest memory (memory-backend-memfd).
 *  - Under TCG the guest's TSC calibration can hang the boot on microvm: pass the host's TSC
 *    rate (tsc_early_khz), tsc=reliable and no_timer_check.
 *  - -no-reboot with panic=-1 reboot=t: a guest panic or reboot ends QEMU, which we see.
 *  - -accel tcg,tb-size= bounds TCG's translation cache (qemu_argv.h); virtio-rng seeds the
 *    guest's CRNG (a PVH boot has no setup_data RNG seed).
 *  - QEMU is unprivileged and gets every file and device as an inherited fd (qemu_argv.h), so
 *    no path we made appears in its options; one inert object names the VM's run dir, for
 *    ps and the tests that find a sandbox's run dir from its QEMU (a secret nothing reads). */
#include "qemu_argv.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"

#define ARGV_MAX (64 + 4 * HV_MAX_NICS)

struct argv_b {
    char *v[ARGV_MAX + 1];
    size_t n;
    int err;
};

static void add(struct argv_b *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(struct argv_b *b, const char *fmt, ...)
{
    va_list ap;
    char *s;
    if (b->err)
        return;
    if (b->n >= ARGV_MAX) {
        b->err = -E2BIG;
        return;
    }
    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0) {
        b->err = -ENOMEM;
        s = NULL;
    }
    va_end(ap);
    if (s)
        b->v[b->n++] = s;
}

/* QEMU option values separate with ','; a literal comma is written ",,". Caller frees. */
static char *opt_escape(const char *s)
{
    size_t n = 0;
    char *r, *p;
    for (const char *q = s; *q; q++)
        n += *q == ',' ? 2 : 1;
    r = malloc(n + 1);
    if (!r)
        return NULL;
    p = r;
    for (const char *q = s; *q; q++) {
        *p++ = *q;
        if (*q == ',')
            *p++ = ',';
    }
    *p = '\0';
    return r;
}

static bool has_ctl(const char *s)
{
    for (; s && *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return true;
    return false;
}

static int validate(const struct qemu_spec *s)
{
    const char *strs[] = {s->name, s->qemu_bin, s->run_dir, s->kernel_args, s->fs_tag};
    if (!s->name || !s->qemu_bin || !s->run_dir || !*s->qemu_bin || s->run_dir[0] != '/')
        return -EINVAL;
    if (s->vcpus < 1 || s->vcpus > 255 || s->mem_mib < 16 || s->mem_mib > 1024 * 1024)
        return -EINVAL;
    for (size_t i = 0; i < ELEMENTSOF(strs); i++)
        if (has_ctl(strs[i]))
            return -EINVAL;
    if (s->virtiofs && (!s->fs_tag || !*s->fs_tag || strlen(s->fs_tag) > 36))
        return -EINVAL; /* virtio-fs tags are at most 36 bytes */
    if (s->vsock_mode == HV_VSOCK_KERNEL && s->guest_cid < 3)
        return -EINVAL; /* 0-2 are reserved (hypervisor, local, host) */
    if (s->vsock_mode != HV_VSOCK_KERNEL && s->vsock_mode != HV_VSOCK_HYBRID)
        return -EINVAL;
    if (s->n_nics > HV_MAX_NICS || (s->n_nics && !s->nics))
        return -EINVAL;
    for (unsigned i = 0; i < s->n_nics; i++)
        if (!qemu_valid_ifname(s->nics[i].tap) ||
            (s->nics[i].mac && !qemu_valid_mac(s->nics[i].mac)))
            return -EINVAL;
    return 0;
}

int qemu_kernel_cmdline(const struct qemu_spec *s, const struct qemu_host_facts *h, char **ret)
{
    char tcg[96] = "";
    char *r;
    if (!h->kvm && h->tsc_khz)
        snprintf(tcg, sizeof(tcg), " tsc_early_khz=%lu tsc=reliable no_timer_check", h->tsc_khz);
    else if (!h->kvm)
        snprintf(tcg, sizeof(tcg), " tsc=reliable no_timer_check");
    /* quiet keeps the boot stub and the info-level flood off the console; loglevel=6 then
     * lets notices through, so the kernel's first line ("Linux version ...", printed before
     * anything can hang) proves the guest runs: the boot watchdog's "silent console" signal. */
    if (asprintf(&r, "console=ttyS0 panic=-1 reboot=t quiet loglevel=6%s%s%s", tcg,
                 s->kernel_args && *s->kernel_args ? " " : "",
                 s->kernel_args ? s->kernel_args : "") < 0)
        return -ENOMEM;
    *ret = r;
    return 0;
}

static void add_devices(struct argv_b *b, const struct qemu_spec *s,
                        const struct qemu_host_facts *h, const char *tag)
{
    if (s->virtiofs) {
        add(b, "-chardev");
        add(b, "socket,id=vfs,fd=%d,server=off", QEMU_VFS_FD);
        add(b, "-device");
        add(b, "vhost-user-fs-pci,chardev=vfs,tag=%s", tag);
    }
    if (s->vsock_mode == HV_VSOCK_KERNEL) {
        add(b, "-device");
        add(b, "vhost-vsock-pci,guest-cid=%u,vhostfd=%d", s->guest_cid, QEMU_VSOCK_FD);
    } else {
        add(b, "-chardev");
        add(b, "socket,id=vsock,fd=%d,server=off", QEMU_VSOCK_FD);
        add(b, "-device");
        add(b, "vhost-user-vsock-pci,chardev=vsock");
    }
    /* Entropy for the guest's CRNG from QEMU's own getrandom() (rng-builtin, no file): a PVH
     * boot carries no RNG seed, and without it the guest's first /dev/urandom read spins in
     * jitter entropy (2.5 s under TCG, measured before the first container). */
    add(b, "-device");
    add(b, "virtio-rng-pci");
    /* Memory the guest frees goes back to the host: the guest's balloon driver reports free
     * blocks (page_reporting, 2 MiB and up, a few seconds after they were freed) and QEMU
     * discards them, which on our shared memfd RAM is a hole punched in the memfd (every
     * mapper, virtiofsd and cvm-vsockd too, loses the pages). Without it a guest keeps every
     * page it ever touched (a 200 MiB burst stayed for the life of the pod). No balloon
     * target is ever set: the guest keeps all its RAM to use. PCI, like the other devices. */
    add(b, "-device");
    add(b, "virtio-balloon-pci,free-page-reporting=on");
    /* The tap's name is not an option with fd=: it was given when we made the tap. */
    for (unsigned i = 0; i < s->n_nics; i++) {
        add(b, "-netdev");
        if (h->vhost_net)
            add(b, "tap,id=net%u,fd=%d,vhost=on,vhostfd=%d", i, QEMU_TAP_FD(i),
                QEMU_VHOST_NET_FD(i));
        else
            add(b, "tap,id=net%u,fd=%d,vhost=off", i, QEMU_TAP_FD(i));
        /* romfile= : no PXE option ROM (QEMU's default, efi-virtio.rom, loaded into a ROM
         * region of every QEMU per NIC): the guest boots from -kernel, never the network. */
        add(b, "-device");
        if (s->nics[i].mac)
            add(b, "virtio-net-pci,netdev=net%u,mac=%s,romfile=", i, s->nics[i].mac);
        else
            add(b, "virtio-net-pci,netdev=net%u,romfile=", i);
    }
}

int qemu_argv_build(const struct qemu_spec *s, const struct qemu_host_facts *h, char ***ret)
{
    struct argv_b b = {0};
    _cleanup_free_ char *name = NULL, *run_dir = NULL, *tag = NULL, *cmdline = NULL;
    char **out;
    int r = validate(s);
    if (r < 0)
        return r;
    name = opt_escape(s->name);
    run_dir = opt_escape(s->run_dir);
    tag = opt_escape(s->fs_tag ? s->fs_tag : "");
    if (!name || !run_dir || !tag || qemu_kernel_cmdline(s, h, &cmdline) < 0)
        return -ENOMEM;

    add(&b, "%s", s->qemu_bin);
    add(&b, "-name");
    add(&b, "%s", name);
    add(&b, "-M");
    add(&b, "microvm,x-option-roms=off,isa-serial=on,rtc=on,pcie=on,memory-backend=mem");
    add(&b, "-accel");
    if (h->kvm)
        add(&b, "kvm");
    else
        add(&b, "tcg,tb-size=%u%s", s->tcg_cache_mib ? s->tcg_cache_mib : QEMU_TCG_TB_MIB,
            s->tcg_split_wx ? ",split-wx=on" : "");
    if (h->kvm) {
        add(&b, "-cpu");
        add(&b, "host");
    } else if (s->icount) {
        add(&b, "-icount");
        add(&b, "shift=0,sleep=off");
    }
    add(&b, "-m");
    add(&b, "%u", s->mem_mib);
    add(&b, "-object");
    add(&b, "memory-backend-memfd,id=mem,size=%uM,share=on", s->mem_mib);
    add(&b, "-smp");
    add(&b, "%u", s->vcpus);
    add(&b, "-nodefaults");
    add(&b, "-no-user-config");
    add(&b, "-nographic");
    add(&b, "-no-reboot");
    /* QEMU's own seccomp filter: no obsolete syscalls, no setuid, no fork/exec, no
     * scheduler/affinity games. Nothing here needs them (the taps are inherited fds). */
    add(&b, "-sandbox");
    add(&b, "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny");
    /* Inert: every path QEMU uses is an inherited fd now, so this is what ties a QEMU in
     * `ps` to its sandbox's run dir (operators, and the tests' leftover checks, look for it). */
    add(&b, "-object");
    add(&b, "secret,id=cvm-run-dir,data=%s", run_dir);
    add(&b, "-kernel");
    add(&b, "/dev/fd/%d", QEMU_KERNEL_FD);
    if (s->initrd) {
        add(&b, "-initrd");
        add(&b, "/dev/fd/%d", QEMU_INITRD_FD);
    }
    add(&b, "-append");
    add(&b, "%s", cmdline);
    add(&b, "-chardev");
    add(&b, "socket,id=con,fd=%d,server=off", QEMU_CON_FD);
    add(&b, "-serial");
    add(&b, "chardev:con");
    add(&b, "-chardev");
    add(&b, "socket,id=qmp,fd=%d,server=on,wait=off", QEMU_QMP_FD);
    add(&b, "-mon");
    add(&b, "chardev=qmp,mode=control");
    add_devices(&b, s, h, tag);

    if (b.err) {
        for (size_t i = 0; i < b.n; i++)
            free(b.v[i]);
        return b.err;
    }
    out = calloc(b.n + 1, sizeof(char *));
    if (!out) {
        for (size_t i = 0; i < b.n; i++)
            free(b.v[i]);
        return -ENOMEM;
    }
    memcpy(out, b.v, b.n * sizeof(char *));
    *ret = out;
    return 0;
}

void qemu_argv_free(char **argv)
{
    if (!argv)
        return;
    for (char **p = argv; *p; p++)
        free(*p);
    free(argv);
}

bool qemu_valid_ifname(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 15 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '.' || *s == '-'))
            return false;
    return true;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bool qemu_valid_mac(const char *s)
{
    if (!s || strlen(s) != 17)
        return false;
    for (int i = 0; i < 17; i++) {
        if (i % 3 == 2 ? s[i] != ':' : hexval(s[i]) < 0)
            return false;
    }
    return (hexval(s[1]) & 1) == 0; /* not multicast */
}

int qemu_tsc_khz_from_cpuinfo(const char *text, unsigned long *ret_khz)
{
    const char *p = text;
    while (p && *p) {
        const char *eol = strchr(p, '\n');
        if (strncmp(p, "cpu MHz", 7) == 0) {
            const char *c = strchr(p, ':');
            char *end;
            double mhz;
            if (!c || (eol && c > eol))
                return -EINVAL;
            errno = 0;
            mhz = strtod(c + 1, &end);
            if (errno || end == c + 1 || !(mhz > 1.0 && mhz < 1e6))
                return -EINVAL;
            *ret_khz = (unsigned long)(mhz * 1000.0 + 0.5);
            return 0;
        }
        p = eol ? eol + 1 : NULL;
    }
    return -ENOENT;
}
