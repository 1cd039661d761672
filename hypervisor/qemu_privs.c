/* QEMU's identity: the pure decision table and its lookups. See qemu_privs.h. */
#define LOG_MODULE "hv"
#include "qemu_privs.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "errmap.h"

int qemu_privs_plan(const struct qemu_privs_facts *f, struct hv_proc_creds *ret, char *why,
                    size_t n)
{
    struct hv_proc_creds c = {.set_ids = true, .uid = f->uid, .gid = (gid_t)f->uid};
    char groups[32] = "";

    if (!f->root) {
        /* We cannot switch ids: QEMU runs as us, without capabilities. */
        *ret = (struct hv_proc_creds){.set_ids = false};
        snprintf(why, n, "the shim's own uid %u (not root: no switch), no capabilities",
                 (unsigned)f->self_uid);
        return 0;
    }
    if (f->uid == 0 || f->uid == (uid_t)-1) {
        snprintf(why, n, "sandbox uid %u refused", (unsigned)f->uid);
        return -EPERM;
    }
    if (f->kvm && f->kvm_group_found && f->kvm_gid != 0) {
        c.groups[c.n_groups++] = f->kvm_gid;
        snprintf(groups, sizeof(groups), ", group kvm (%u)", (unsigned)f->kvm_gid);
    }
    snprintf(why, n, "sandbox uid %u (gid %u)%s", (unsigned)c.uid, (unsigned)c.gid, groups);
    *ret = c;
    return 0;
}

int qemu_privs_resolve(uid_t uid, bool kvm, struct hv_proc_creds *ret, char *why, size_t n,
                       struct cvm_err *err)
{
    struct qemu_privs_facts f = {
        .root = geteuid() == 0, .self_uid = geteuid(), .uid = uid, .kvm = kvm};
    const struct group *gr = kvm ? getgrnam("kvm") : NULL;
    int r;
    if (gr) {
        f.kvm_group_found = true;
        f.kvm_gid = gr->gr_gid;
    }
    r = qemu_privs_plan(&f, ret, why, n);
    if (r < 0)
        return cvm_err_set(err, r, "QEMU's user: %s", why);
    return 0;
}

int qemu_privs_check_open(const struct hv_proc_creds *c, const char *path, int flags, bool reopen)
{
    _cleanup_close_ int fd = -EBADF;
    char self[64];
    int st;
    pid_t pid;

    if (reopen) {
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
            return -errno;
        snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
    }
    pid = fork();
    if (pid < 0)
        return -errno;
    if (pid == 0) {
        int e = 0;
        if (c->set_ids &&
            (setgroups(c->n_groups, c->groups) < 0 || setresgid(c->gid, c->gid, c->gid) < 0 ||
             setresuid(c->uid, c->uid, c->uid) < 0))
            e = errno;
        else if (open(reopen ? self : path, flags | O_CLOEXEC | O_NOCTTY) < 0)
            e = errno;
        _exit(e > 0 && e < 256 ? e : (e ? EIO : 0));
    }
    /* Synchronous and short: the loop does not run (and reap) while we wait. */
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -errno;
    if (!WIFEXITED(st))
        return -EIO;
    return -WEXITSTATUS(st);
}
