/* Where the guest kernel, initrd and helpers are found (assets.h). */
#include "sandbox/assets.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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

static int first_existing(char *dst, size_t n, const char *const *cands, size_t nc)
{
    for (size_t i = 0; i < nc; i++)
        if (cands[i] && access(cands[i], R_OK) == 0) {
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
        const char *cands[] = { a, b, c };
        if (first_existing(cfg->kernel, sizeof(cfg->kernel), cands, ELEMENTSOF(cands)) < 0 &&
            newest_boot_kernel(cfg->kernel, sizeof(cfg->kernel)) < 0)
            return cvm_err_set(err, -ENOENT, "no guest kernel: set \"kernel\" in the runtime config");
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
            snprintf(cands_buf[n], sizeof(cands_buf[n]), "%s/../%s/%s", dir, ASSETS_SHARE_SUBDIR, name);
            cands[n] = cands_buf[n], n++;
            snprintf(cands_buf[n], sizeof(cands_buf[n]), "%s/../%s", dir, name);
            cands[n] = cands_buf[n], n++;
            snprintf(cands_buf[n], sizeof(cands_buf[n]), "%s/%s", dir, name);
            cands[n] = cands_buf[n], n++;
        }
        if (first_existing(cfg->initrd, sizeof(cfg->initrd), cands, n) < 0)
            return cvm_err_set(err, -ENOENT, "no initrd found next to %s: set \"initrd\" in the runtime config", dir);
    }
    if (access(cfg->initrd, R_OK) < 0)
        return cvm_err_set(err, -errno, "initrd %s: %m", cfg->initrd);
    return 0;
}

void assets_find_vsockd(struct cfg *cfg)
{
    char dir[PATH_MAX], a[PATH_MAX + 64];
    if (cfg->vsockd[0] || exe_dir(dir, sizeof(dir)) < 0)
        return;
    snprintf(a, sizeof(a), "%s/cvm-vsockd", dir);
    const char *cands[] = { a };
    (void)first_existing(cfg->vsockd, sizeof(cfg->vsockd), cands, 1); /* else hv's default */
}

int assets_resolve(struct cfg *cfg, struct cvm_err *err)
{
    int r = assets_find_kernel(cfg, err);
    if (r < 0 || (r = assets_find_initrd(cfg, err)) < 0)
        return r;
    assets_find_vsockd(cfg);
    if (access(cfg->qemu, X_OK) < 0)
        return cvm_err_set(err, -errno, "qemu %s: %m", cfg->qemu);
    return 0;
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
