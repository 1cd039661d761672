/* Gather the facts cvm-check reports on. See check_probe.h. */
#include "check_probe.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sandbox/assets.h"
#include "check_run.h"
#include "cleanup.h"
#include "errmap.h"
#include "fd.h"
#include "guest_image.h"

void check_probe_config(struct host_facts *f, struct cfg *cfg, const char *explicit_path)
{
    struct cvm_err err = {0};
    cfg_defaults(cfg);
    f->config_explicit = explicit_path != NULL;
    if (explicit_path)
        snprintf(f->config_path, sizeof(f->config_path), "%s", explicit_path);
    else if (assets_default_config(f->config_path, sizeof(f->config_path)) < 0)
        f->config_path[0] = '\0';
    if (!f->config_path[0])
        return;
    f->config_err = cfg_load_file(cfg, f->config_path, &err);
    if (f->config_err) {
        snprintf(f->config_msg, sizeof(f->config_msg), "%s", err.msg);
        cfg_defaults(cfg); /* cfg_load_file leaves it unchanged; be explicit */
    }
}

static int open_rw_err(const char *path)
{
    int fd = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return -errno;
    safe_close(fd);
    return 0;
}

static void probe_cgroup(struct host_facts *f)
{
    _cleanup_close_ int fd = open("/sys/fs/cgroup/cgroup.controllers", O_RDONLY | O_CLOEXEC);
    char buf[CHECK_TEXT_MAX];
    ssize_t n;
    if (fd < 0) {
        f->cgroup_err = -errno;
        return;
    }
    n = read_all(fd, buf, sizeof(buf) - 1);
    if (n < 0) {
        f->cgroup_err = (int)n;
        return;
    }
    check_first_line(f->cgroup_controllers, sizeof(f->cgroup_controllers), buf, (size_t)n);
}

/* name on PATH -> out; -ENOENT when not there. */
static int find_on_path(const char *name, char *out, size_t n)
{
    const char *path = getenv("PATH");
    if (strchr(name, '/')) {
        snprintf(out, n, "%s", name);
        return 0;
    }
    if (!path || !*path)
        path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    for (const char *p = path; *p;) {
        const char *e = strchrnul(p, ':');
        char cand[PATH_MAX];
        if (e > p &&
            snprintf(cand, sizeof(cand), "%.*s/%s", (int)(e - p), p, name) < (int)sizeof(cand) &&
            access(cand, X_OK) == 0) {
            snprintf(out, n, "%s", cand);
            return 0;
        }
        p = *e ? e + 1 : e;
    }
    return -ENOENT;
}

/* Run `path flag` and keep the first line; t->path must be set. */
static void probe_version(struct tool_facts *t, const char *flag)
{
    struct check_run_result res;
    char *argv[] = {t->path, (char *)flag, NULL};
    if (access(t->path, X_OK) < 0) {
        t->err = -errno;
        return;
    }
    t->err = check_run(argv, CHECK_RUN_TIMEOUT_MS, CHECK_RUN_OUTPUT_MAX, true, &res);
    t->status = res.status;
    if (res.out)
        check_first_line(t->version, sizeof(t->version), res.out, res.len);
    free(res.out);
}

static void probe_tool(struct tool_facts *t, const char *name, const char *flag)
{
    t->status = -1;
    if (find_on_path(name, t->path, sizeof(t->path)) < 0) {
        t->path[0] = '\0';
        t->err = -ENOENT;
        return;
    }
    probe_version(t, flag);
}

/* `qemu -<what> help`: NULL when it did not run cleanly. */
static char *qemu_help(const char *qemu, const char *what)
{
    struct check_run_result res;
    char *argv[] = {(char *)qemu, (char *)what, (char *)"help", NULL};
    int r = check_run(argv, CHECK_RUN_TIMEOUT_MS, CHECK_RUN_OUTPUT_MAX, false, &res);
    if (r < 0 || res.status != 0) {
        free(res.out);
        return NULL;
    }
    return res.out;
}

static void probe_kernel(struct image_facts *k)
{
    _cleanup_free_ unsigned char *head = malloc(CHECK_KERNEL_HEAD);
    size_t got = 0;
    if (!head) {
        k->err = -ENOMEM;
        return;
    }
    k->err = guest_image_read_head(k->path, head, CHECK_KERNEL_HEAD, &got);
    if (k->err) {
        snprintf(k->err_msg, sizeof(k->err_msg), "guest kernel %s: %s", k->path, strerror(-k->err));
        return;
    }
    k->kind = guest_kernel_kind(head, got);
    if (k->kind == GK_BZIMAGE) {
        k->release_err = guest_bzimage_release(head, got, k->release, sizeof(k->release));
    } else if (k->kind == GK_ELF) {
        _cleanup_free_ unsigned char *notes = NULL;
        const unsigned char *d;
        size_t nlen = 0, dl;
        k->release_err = guest_elf_read_notes(k->path, head, got, &notes, &nlen);
        if (k->release_err == 0) {
            k->pvh =
                guest_elf_note_find(notes, nlen, "Xen", GUEST_ELF_NOTE_PVH_ENTRY, &d, &dl) == 0 &&
                dl >= 4;
            k->release_err = guest_elf_notes_release(notes, nlen, k->release, sizeof(k->release));
        }
    } else {
        k->release_err = -EOPNOTSUPP;
    }
}

/* The unpacked initrd (at most CHECK_INITRD_MAX bytes) -> modules release. */
static void initrd_modules(struct image_facts *i, const unsigned char *buf, size_t len,
                           bool truncated)
{
    i->release_err = guest_cpio_modules_release(buf, len, i->release, sizeof(i->release));
    if (i->release_err != 0 && truncated) {
        i->release_err = -E2BIG;
        snprintf(i->note, sizeof(i->note), "no lib/modules entry within the first %u MiB",
                 CHECK_INITRD_MAX >> 20);
    } else if (i->release_err == -EINVAL) {
        snprintf(i->note, sizeof(i->note), "not a well-formed newc cpio%s",
                 i->kind == GI_GZIP ? " after gunzip" : "");
    }
}

static void probe_initrd(struct image_facts *i)
{
    unsigned char head[GUEST_IMAGE_HEAD];
    size_t got = 0;

    i->err = guest_image_read_head(i->path, head, sizeof(head), &got);
    if (i->err) {
        snprintf(i->err_msg, sizeof(i->err_msg), "initrd %s: %s", i->path, strerror(-i->err));
        return;
    }
    i->kind = guest_initrd_kind(head, got);
    if (i->kind == GI_CPIO) {
        _cleanup_free_ unsigned char *buf = malloc(CHECK_INITRD_MAX + 1);
        if (!buf || guest_image_read_head(i->path, buf, CHECK_INITRD_MAX + 1, &got) < 0) {
            i->release_err = -EIO;
            snprintf(i->note, sizeof(i->note), "could not read it");
            return;
        }
        initrd_modules(i, buf, MIN(got, CHECK_INITRD_MAX), got > CHECK_INITRD_MAX);
    } else if (i->kind == GI_GZIP) {
        struct check_run_result res;
        char *argv[] = {(char *)"gzip", (char *)"-dc", (char *)"--", i->path, NULL};
        int r = check_run(argv, CHECK_RUN_TIMEOUT_MS, CHECK_INITRD_MAX, false, &res);
        if (r < 0 || (res.status != 0 && !res.truncated)) {
            i->release_err = r < 0 ? r : -EIO;
            if (r == -ENOENT)
                snprintf(i->note, sizeof(i->note), "gzip is not installed");
            else if (r < 0)
                snprintf(i->note, sizeof(i->note), "gzip -dc: %s", strerror(-r));
            else
                snprintf(i->note, sizeof(i->note), "gzip -dc exited %d", res.status);
        } else {
            initrd_modules(i, (const unsigned char *)res.out, res.len, res.truncated);
        }
        free(res.out);
    } else {
        i->release_err = -EOPNOTSUPP;
    }
}

/* Kernel, initrd and cvm-vsockd as the shim resolves them (shim/assets.c), each on its own. */
static void probe_assets(struct host_facts *f, struct cfg *cfg)
{
    struct cvm_err err = {0};
    struct cfg t = *cfg;

    if ((f->kernel.err = assets_find_kernel(&t, &err)) < 0)
        snprintf(f->kernel.err_msg, sizeof(f->kernel.err_msg), "%s", err.msg);
    memset(&err, 0, sizeof(err));
    if ((f->initrd.err = assets_find_initrd(&t, &err)) < 0)
        snprintf(f->initrd.err_msg, sizeof(f->initrd.err_msg), "%s", err.msg);
    assets_find_vsockd(&t);
    snprintf(f->kernel.path, sizeof(f->kernel.path), "%s", t.kernel);
    snprintf(f->initrd.path, sizeof(f->initrd.path), "%s", t.initrd);
    if (!f->kernel.err)
        probe_kernel(&f->kernel);
    if (!f->initrd.err)
        probe_initrd(&f->initrd);

    /* hv's rule when vsockd is still empty: next to our executable (done above), else PATH */
    f->vsockd.status = -1;
    if (t.vsockd[0])
        snprintf(f->vsockd.path, sizeof(f->vsockd.path), "%s", t.vsockd);
    else if (find_on_path("cvm-vsockd", f->vsockd.path, sizeof(f->vsockd.path)) < 0)
        f->vsockd.path[0] = '\0';
    if (f->vsockd.path[0] && access(f->vsockd.path, X_OK) < 0)
        f->vsockd.err = -errno;
    *cfg = t;
}

void check_probe_host(struct check_probe *p, struct cfg *cfg)
{
    struct host_facts *f = &p->facts;

    accel_probe(&f->accel);
    f->want = cfg->accel;
    f->vsock_mode = cfg->vsock_mode;
    f->vhost_vsock_err = open_rw_err("/dev/vhost-vsock");
    f->vhost_net_err = open_rw_err("/dev/vhost-net");
    probe_cgroup(f);

    f->qemu.status = -1;
    /* The QEMU the shim would run: an empty "qemu" is ours next to us, else Debian's. */
    struct cvm_err qerr = {0};
    f->qemu_discovered = !cfg->qemu[0];
    (void)assets_find_qemu(cfg, &qerr);
    if (!cfg->qemu[0] || find_on_path(cfg->qemu, f->qemu.path, sizeof(f->qemu.path)) < 0) {
        snprintf(f->qemu.path, sizeof(f->qemu.path), "%s", cfg->qemu);
        f->qemu.err = -ENOENT;
    } else {
        probe_version(&f->qemu, "-version");
    }
    if (!f->qemu.err && f->qemu.status == 0) {
        p->help[0] = qemu_help(f->qemu.path, "-machine");
        p->help[1] = qemu_help(f->qemu.path, "-device");
        p->help[2] = qemu_help(f->qemu.path, "-object");
    }
    /* Debian's, to compare the source version ours was built from (check_report.c). */
    f->distro_qemu.status = -1;
    if (!f->qemu.err && strcmp(f->qemu.path, CFG_DISTRO_QEMU) != 0) {
        snprintf(f->distro_qemu.path, sizeof(f->distro_qemu.path), "%s", CFG_DISTRO_QEMU);
        probe_version(&f->distro_qemu, "-version");
    }
    f->machine_help = p->help[0];
    f->device_help = p->help[1];
    f->object_help = p->help[2];

    f->virtiofsd.status = -1;
    snprintf(f->virtiofsd.path, sizeof(f->virtiofsd.path), "%s",
             cfg->virtiofsd[0] ? cfg->virtiofsd : CFG_DEFAULT_VIRTIOFSD);
    probe_version(&f->virtiofsd, "--version");

    probe_assets(f, cfg);
    probe_tool(&f->containerd, "containerd", "--version");
}

void check_probe_free(struct check_probe *p)
{
    for (size_t i = 0; i < ELEMENTSOF(p->help); i++) {
        free(p->help[i]);
        p->help[i] = NULL;
    }
}
