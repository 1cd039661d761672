/* QEMU's identity: the pure decision table and its lookups. See qemu_privs.h. */
#define LOG_MODULE "hv"
#include "qemu_privs.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "errmap.h"

static int parse_id(const char *s, size_t n, unsigned long *ret)
{
    unsigned long v = 0;
    if (n == 0 || n > 10)
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -EINVAL;
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    if (v >= 0xffffffffUL)
        return -EINVAL; /* (uid_t)-1 means "unchanged" to setresuid */
    *ret = v;
    return 0;
}

int qemu_privs_parse_ids(const char *s, uid_t *ret_uid, gid_t *ret_gid)
{
    const char *colon = s ? strchr(s, ':') : NULL;
    unsigned long u, g;
    if (!colon || parse_id(s, (size_t)(colon - s), &u) < 0 ||
        parse_id(colon + 1, strlen(colon + 1), &g) < 0)
        return -EINVAL;
    *ret_uid = (uid_t)u;
    *ret_gid = (gid_t)g;
    return 0;
}

int qemu_privs_plan(const struct qemu_privs_facts *f, struct hv_proc_creds *ret, char *why,
                    size_t n)
{
    bool dflt = !f->user || !*f->user;
    const char *name = dflt ? QEMU_USER_DEFAULT : f->user;
    struct hv_proc_creds c = {.set_ids = true};
    char who[QEMU_USER_MAX + 48], groups[32] = "";

    if (!f->root) {
        /* We cannot switch ids: QEMU runs as us, without capabilities. */
        if (!dflt && (!f->user_found || f->user_uid != f->self_uid)) {
            snprintf(why, n, "qemu_user '%s' needs the shim to run as root (it runs as uid %u)",
                     name, (unsigned)f->self_uid);
            return -EPERM;
        }
        *ret = (struct hv_proc_creds){.set_ids = false};
        snprintf(why, n, "the shim's own uid %u (not root: no switch), no capabilities",
                 (unsigned)f->self_uid);
        return 0;
    }
    if (f->user_found) {
        c.uid = f->user_uid;
        c.gid = f->user_gid;
        snprintf(who, sizeof(who), "user %s (uid %u, gid %u)", name, (unsigned)c.uid,
                 (unsigned)c.gid);
    } else if (!dflt) {
        snprintf(why, n, "qemu_user '%s': no such user", name);
        return -ENOENT;
    } else if (f->fallback_uid_taken) {
        snprintf(why, n, "no user '%s' and uid %u belongs to another user: create '%s' "
                 "(make install) or set qemu_user", QEMU_USER_DEFAULT, QEMU_FALLBACK_UID,
                 QEMU_USER_DEFAULT);
        return -EEXIST;
    } else {
        c.uid = QEMU_FALLBACK_UID;
        c.gid = QEMU_FALLBACK_GID;
        snprintf(who, sizeof(who), "uid %u, gid %u (no user '%s')", (unsigned)c.uid,
                 (unsigned)c.gid, QEMU_USER_DEFAULT);
    }
    if (c.uid == 0 || c.gid == 0) {
        snprintf(why, n, "qemu_user '%s' is root (uid %u, gid %u): refused", name,
                 (unsigned)c.uid, (unsigned)c.gid);
        return -EPERM;
    }
    if (f->kvm && f->kvm_group_found && f->kvm_gid != 0) {
        c.groups[c.n_groups++] = f->kvm_gid;
        snprintf(groups, sizeof(groups), ", group kvm (%u)", (unsigned)f->kvm_gid);
    }
    snprintf(why, n, "%s%s", who, groups);
    *ret = c;
    return 0;
}

int qemu_privs_resolve(const char *user, bool kvm, struct hv_proc_creds *ret, char *why, size_t n,
                       struct cvm_err *err)
{
    struct qemu_privs_facts f = {.user = user, .root = geteuid() == 0, .self_uid = geteuid(),
                                 .kvm = kvm};
    const char *name = user && *user ? user : QEMU_USER_DEFAULT;
    const struct passwd *pw;
    const struct group *gr;
    int r;

    if (qemu_privs_parse_ids(name, &f.user_uid, &f.user_gid) == 0) {
        f.user_found = true;
    } else {
        errno = 0;
        pw = getpwnam(name);
        if (pw) {
            f.user_found = true;
            f.user_uid = pw->pw_uid;
            f.user_gid = pw->pw_gid;
        } else if (errno && errno != ENOENT && errno != ESRCH) {
            return cvm_err_set(err, -errno, "looking up qemu_user '%s'", name);
        }
    }
    f.fallback_uid_taken = getpwuid(QEMU_FALLBACK_UID) != NULL;
    gr = getgrnam("kvm");
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
        if (c->set_ids && (setgroups(c->n_groups, c->groups) < 0 ||
                           setresgid(c->gid, c->gid, c->gid) < 0 ||
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
