/* Where the guest kernel, initrd and helpers are found (assets.h). */
#include "sandbox/assets.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "cleanup.h"
#include "config.h"
#include "errmap.h"
#include "guest_image.h"

static int exe_dir(char *out, size_t n)
{
    char self[PATH_MAX];
    ssize_t l = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (l < 0)
        return -errno;
    self[l] = 0;
    char *s = strrchr(self, '/');
    if (!s)
        return -EINVAL;
    *s = 0;
    snprintf(out, n, "%s", self);
    return 0;
}

/* The first of cands that access(mode) allows, into dst. */
static int first_existing(char *dst, size_t n, const char *const *cands, size_t nc, int mode)
{
    for (size_t i = 0; i < nc; i++)
        if (cands[i] && access(cands[i], mode) == 0) {
            snprintf(dst, n, "%s", cands[i]);
            return 0;
        }
    return -ENOENT;
}

/* Newest /boot/vmlinuz-* by version sort. */
static int newest_boot_kernel(char *dst, size_t n)
{
    _cleanup_closedir_ DIR *d = opendir("/boot");
    struct dirent *de;
    char best[256] = "";
    if (!d)
        return -errno;
    while ((de = readdir(d)))
        if (strncmp(de->d_name, "vmlinuz-", 8) == 0 && strverscmp(de->d_name, best) > 0)
            snprintf(best, sizeof(best), "%s", de->d_name);
    if (!best[0])
        return -ENOENT;
    snprintf(dst, n, "/boot/%s", best);
    return 0;
}

/* Our own kernel (initrd/kernel/): the install tree's share dir, then the build tree's
 * $(BUILD)/vmlinux; then a distro kernel: the share dir's vmlinuz link, newest /boot one. */
int assets_find_kernel(struct cfg *cfg, struct cvm_err *err)
{
    char dir[PATH_MAX], a[PATH_MAX + 64], b[PATH_MAX + 64], c[PATH_MAX + 64];
    int r;
    if (!cfg->kernel[0]) {
        if ((r = exe_dir(dir, sizeof(dir))) < 0)
            return cvm_err_set(err, r, "cannot find our own executable");
        snprintf(a, sizeof(a), "%s/../%s/vmlinux", dir, ASSETS_SHARE_SUBDIR);
        snprintf(b, sizeof(b), "%s/../vmlinux", dir);
        snprintf(c, sizeof(c), "%s/../%s/vmlinuz", dir, ASSETS_SHARE_SUBDIR);
        const char *cands[] = {a, b, c};
        if (first_existing(cfg->kernel, sizeof(cfg->kernel), cands, ELEMENTSOF(cands), R_OK) < 0 &&
            newest_boot_kernel(cfg->kernel, sizeof(cfg->kernel)) < 0)
            return cvm_err_set(err, -ENOENT,
                               "no guest kernel: set \"kernel\" in the runtime config");
    }
    if (access(cfg->kernel, R_OK) < 0)
        return cvm_err_set(err, -errno, "guest kernel %s: %m", cfg->kernel);
    return 0;
}

/* The initrd matches the kernel by its release: initrd-<release>.img carries that kernel's
 * modules (make builds one for the distro kernel); initrd.img carries none, for a kernel with
 * everything built in (ours). Each name is looked for in the share dir, then the build tree
 * ($(BUILD)/ or next to the binary). A kernel whose release cannot be read gets initrd.img. */
int assets_find_initrd(struct cfg *cfg, struct cvm_err *err)
{
    char dir[PATH_MAX], rel[128], cands_buf[6][PATH_MAX + 192];
    const char *cands[6];
    size_t n = 0;
    int r;
    if (!cfg->initrd[0]) {
        if ((r = exe_dir(dir, sizeof(dir))) < 0)
            return cvm_err_set(err, r, "cannot find our own executable");
        bool have_rel = cfg->kernel[0] && guest_image_release(cfg->kernel, rel, sizeof(rel)) == 0;
        for (int pass = have_rel ? 0 : 1; pass < 2; pass++) {
            char name[192];
            if (pass == 0)
                snprintf(name, sizeof(name), "initrd-%s.img", rel);
            else
                snprintf(name, sizeof(name), "initrd.img");
            snprintf(cands_buf[n], sizeof(cands_buf[n]), "%s/../%s/%s", dir, ASSETS_SHARE_SUBDIR,
                     name);
            cands[n] = cands_buf[n], n++;
            snprintf(cands_buf[n], sizeof(cands_buf[n]), "%s/../%s", dir, name);
            cands[n] = cands_buf[n], n++;
            snprintf(cands_buf[n], sizeof(cands_buf[n]), "%s/%s", dir, name);
            cands[n] = cands_buf[n], n++;
        }
        if (first_existing(cfg->initrd, sizeof(cfg->initrd), cands, n, R_OK) < 0)
            return cvm_err_set(err, -ENOENT,
                               "no initrd found next to %s: set \"initrd\" in the runtime config",
                               dir);
    }
    if (access(cfg->initrd, R_OK) < 0)
        return cvm_err_set(err, -errno, "initrd %s: %m", cfg->initrd);
    return 0;
}

/* Our QEMU (hypervisor/qemu/build.sh): the install tree's libexec dir, then the build tree's
 * $(BUILD)/qemu-system-x86_64; else Debian's, which runs the same sandboxes at a higher memory
 * cost per VM (README, "Memory"); cvm-check's qemu line names the one picked. */
int assets_find_qemu(struct cfg *cfg, struct cvm_err *err)
{
    char dir[PATH_MAX], a[PATH_MAX + 64], b[PATH_MAX + 64];
    int r;
    if (!cfg->qemu[0]) {
        if ((r = exe_dir(dir, sizeof(dir))) < 0)
            return cvm_err_set(err, r, "cannot find our own executable");
        snprintf(a, sizeof(a), "%s/../%s/qemu-system-x86_64", dir, ASSETS_LIBEXEC_SUBDIR);
        snprintf(b, sizeof(b), "%s/../qemu-system-x86_64", dir);
        const char *cands[] = {a, b, CFG_DISTRO_QEMU};
        if (first_existing(cfg->qemu, sizeof(cfg->qemu), cands, ELEMENTSOF(cands), X_OK) < 0)
            return cvm_err_set(err, -ENOENT, "no QEMU: none next to %s, no %s", dir,
                               CFG_DISTRO_QEMU);
    }
    if (access(cfg->qemu, X_OK) < 0)
        return cvm_err_set(err, -errno, "qemu %s: %m", cfg->qemu);
    return 0;
}

void assets_find_vsockd(struct cfg *cfg)
{
    char dir[PATH_MAX], a[PATH_MAX + 64];
    if (cfg->vsockd[0] || exe_dir(dir, sizeof(dir)) < 0)
        return;
    snprintf(a, sizeof(a), "%s/cvm-vsockd", dir);
    const char *cands[] = {a};
    (void)first_existing(cfg->vsockd, sizeof(cfg->vsockd), cands, 1, R_OK); /* else hv's default */
}

#define ASSETS_INITRD_SCAN_MAX (16u << 20) /* bytes of a plain cpio initrd searched for modules */

/* The first n bytes of a gzip file unpacked (fewer when shorter; a truncated or corrupt
 * stream yields what came before it: the modules' names come early in the archive). */
static int gunzip_head(const char *path, unsigned char *buf, size_t n, size_t *got)
{
    gzFile gz = gzopen(path, "rbe"); /* 'e': O_CLOEXEC */
    if (!gz)
        return errno ? -errno : -ENOMEM;
    size_t total = 0;
    while (total < n) {
        unsigned chunk = n - total > (1u << 20) ? (1u << 20) : (unsigned)(n - total);
        int k = gzread(gz, buf + total, chunk);
        if (k <= 0)
            break;
        total += (size_t)k;
    }
    gzclose(gz);
    *got = total;
    return 0;
}

/* The kernel came from /boot (none next to the shim) and the initrd from the config: a distro
 * kernel boots only with an initrd that carries its modules (virtio, vsock, virtio-fs), so
 * the pair is checked as cvm-check checks it, before anything starts, instead of a guest
 * that dies with "listening on vsock: Address family not supported". */
static int boot_kernel_fits_initrd(const struct cfg *cfg, struct cvm_err *err)
{
    char krel[128], irel[128], why[256];
    unsigned char head[GUEST_IMAGE_HEAD];
    size_t got = 0;
    int r = guest_image_release(cfg->kernel, krel, sizeof(krel));
    if (r < 0)
        snprintf(krel, sizeof(krel), "unknown: %s", strerror(-r));
    if ((r = guest_image_read_head(cfg->initrd, head, sizeof(head), &got)) < 0)
        return cvm_err_set(err, r, "initrd %s: %s", cfg->initrd, strerror(-r));
    enum guest_initrd_kind kind = guest_initrd_kind(head, got);
    if (kind != GI_CPIO && kind != GI_GZIP) {
        snprintf(why, sizeof(why),
                 "it is compressed other than with gzip: its modules cannot be checked");
    } else {
        _cleanup_free_ unsigned char *buf = malloc(ASSETS_INITRD_SCAN_MAX);
        if (!buf)
            return cvm_err_set(err, -ENOMEM, "out of memory");
        r = kind == GI_GZIP ? gunzip_head(cfg->initrd, buf, ASSETS_INITRD_SCAN_MAX, &got)
                            : guest_image_read_head(cfg->initrd, buf, ASSETS_INITRD_SCAN_MAX, &got);
        if (r < 0)
            return cvm_err_set(err, r, "initrd %s: %s", cfg->initrd, strerror(-r));
        r = guest_cpio_modules_release(buf, got, irel, sizeof(irel));
        if (r == 0 && strcmp(irel, krel) == 0)
            return 0;
        if (r == 0)
            snprintf(why, sizeof(why), "its modules are for %s", irel);
        else if (r == -ENOENT)
            snprintf(why, sizeof(why), "it carries no kernel modules");
        else
            snprintf(why, sizeof(why), "it is not a well-formed cpio");
    }
    return cvm_err_setc(
        err, RPC_FAILED_PRECONDITION, -ENOEXEC,
        "guest kernel %s (release %s; from /boot: none next to the shim) and initrd %s do not "
        "match: %s, and a distro kernel needs its virtio, vsock and virtio-fs modules there. "
        "Set \"kernel\" in the runtime config",
        cfg->kernel, krel, cfg->initrd, why);
}

int assets_resolve(struct cfg *cfg, struct cvm_err *err)
{
    bool kernel_given = cfg->kernel[0], initrd_given = cfg->initrd[0];
    int r = assets_find_kernel(cfg, err);
    if (r < 0 || (r = assets_find_initrd(cfg, err)) < 0)
        return r;
    if (!kernel_given && initrd_given && strncmp(cfg->kernel, "/boot/", 6) == 0 &&
        (r = boot_kernel_fits_initrd(cfg, err)) < 0)
        return r;
    assets_find_vsockd(cfg);
    return assets_find_qemu(cfg, err);
}

int assets_default_config(char *out, size_t n)
{
    char dir[PATH_MAX], a[PATH_MAX + 64];
    if (access(CFG_DEFAULT_PATH, R_OK) == 0) {
        snprintf(out, n, "%s", CFG_DEFAULT_PATH);
        return 0;
    }
    if (exe_dir(dir, sizeof(dir)) == 0) {
        snprintf(a, sizeof(a), "%s/../%s/cvm.json", dir, ASSETS_SHARE_SUBDIR);
        if (access(a, R_OK) == 0) {
            snprintf(out, n, "%s", a);
            return 0;
        }
    }
    return -ENOENT;
}
