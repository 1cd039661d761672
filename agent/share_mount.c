/* The virtio-fs share, mounted once per tag under cfg.share_root. */
#include "rpc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

#define LOG_MODULE "rpc"
#include "log.h"

int share_mount(struct agent *a, const char *tag, char **ret, struct cvm_err *err)
{
    char *dir = NULL;
    struct stat st, parent;
    if (!agent_id_valid(tag, false))
        return cvm_err_setc(err, RPC_INVALID_ARGUMENT, -EINVAL, "invalid share tag");
    if (asprintf(&dir, "%s/%s", a->cfg.share_root, tag) < 0)
        return cvm_err_set(err, -ENOMEM, "out of memory");
    (void)mkdir(a->cfg.share_root, 0755);
    if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
        int r = -errno;
        free(dir);
        return cvm_err_set(err, r, "mkdir %s: %s", dir, strerror(-r));
    }
    /* Mounted already when it sits on another device than its parent. */
    if (stat(dir, &st) == 0 && stat(a->cfg.share_root, &parent) == 0 &&
        st.st_dev != parent.st_dev) {
        *ret = dir;
        return 0;
    }
    /* Every container rootfs lives on this mount and its binds inherit its flags. No
     * MS_NOSUID: inside the VM setuid works as under runc (su, ping, sudo of an image), and
     * nosuid applies where the spec's mounts ask for it. The VM is the boundary: a setuid
     * binary raises a process to guest root, which the threat model already grants any
     * escaped container; the host side never executes from the share (run dir 0700 root,
     * its mounts nodev). MS_NODEV stays: the host side is nodev and virtiofsd has no
     * CAP_MKNOD, so no node on the share could be a guest device anyway; devices come from
     * /dev (tmpfs) and linux.devices. */
    if (mount(tag, dir, "virtiofs", MS_NODEV, NULL) < 0) {
        int r = -errno;
        cvm_err_set(err, r, "mount virtio-fs tag %s on %s: %s", tag, dir, strerror(-r));
        free(dir);
        return r;
    }
    log_info("mounted virtio-fs %s on %s", tag, dir);
    *ret = dir;
    return 0;
}
