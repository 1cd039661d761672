/* The sandbox's host cgroup on cgroup v1 or v2: discovery, mkdir, limits, removal. See
 * host_cgroup.h. Nothing here kills a process: a cgroup may hold processes that are not ours
 * (a path naming an existing cgroup), and ours are killed by the hypervisor layer, which holds
 * them as its own unreaped children (pidfds). Nothing here waits on the event loop either; the
 * two bounded waits are at process exit and in `delete`, which has no loop. */
#define LOG_MODULE "cgroup"
#include "cgroup/host_cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/queue.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "fd.h"
#include "cgroup/host_cgroup_path.h"
#include "log.h"
#include "loop.h"

#define CGROUP_ROOT "/sys/fs/cgroup"
#define LINES_MAX 4096 /* /proc/self/mountinfo lines looked at */

struct hierarchy {
    char ctrls[HCG_CTRLS_MAX]; /* "" = v2 (or a hybrid host's unified mount) */
    char mnt[PATH_MAX];        /* its mount point */
    char dir[PATH_MAX];        /* our cgroup in it */
    bool leaf_is_root;         /* the path names the hierarchy's root / our own: never rmdir */
    bool created;              /* we made the leaf: ours to limit and to remove */
    bool removed;
};

struct host_cgroup {
    bool v2;
    char name[HCG_PATH_MAX];
    size_t n;
    struct hierarchy h[HCG_MAX_HIERARCHIES];
    /* host_cgroup_remove_later: retried on a timer, on the list until done */
    struct loop_source *retry;
    unsigned tries;
    LIST_ENTRY(host_cgroup) pending;
};

static int write_file(const char *dir, const char *file, const char *value)
{
    return file_write_str(dir, file, value);
}

/* The first line of dir/file, without its newline; "" when empty. */
static int read_line(const char *dir, const char *file, char *buf, size_t n)
{
    ssize_t r = file_read_str(dir, file, buf, n);
    if (r < 0)
        return (int)r;
    buf[strcspn(buf, "\n")] = '\0';
    return 0;
}

/* cgroup.controllers (v2) lists names separated by spaces. */
static bool space_list_has(const char *list, const char *name)
{
    size_t len = strlen(name);
    for (const char *p = list; *p;) {
        while (*p == ' ')
            p++;
        const char *e = strchrnul(p, ' ');
        if ((size_t)(e - p) == len && len && strncmp(p, name, len) == 0)
            return true;
        p = e;
    }
    return false;
}

/* Is b's controller set the same as a's (order aside)? */
static bool same_controllers(const char *a, const char *b)
{
    char tmp[HCG_CTRLS_MAX];
    size_t na = 0, nb = 0;
    snprintf(tmp, sizeof(tmp), "%s", a);
    for (char *save = NULL, *t = strtok_r(tmp, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (!hcg_has_controller(b, t))
            return false;
        na++;
    }
    snprintf(tmp, sizeof(tmp), "%s", b);
    for (char *save = NULL, *t = strtok_r(tmp, ",", &save); t; t = strtok_r(NULL, ",", &save))
        nb++;
    return na == nb;
}

/* The mount point of the hierarchy with controllers ctrls (v2: "" and a cgroup2 mount), and
 * its root within the hierarchy. */
static int find_mount(const char *ctrls, char *mnt, size_t nm, char *root, size_t nr)
{
    _cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
    _cleanup_free_ char *line = NULL;
    size_t cap = 0;
    if (!f)
        return -errno;
    for (int i = 0; i < LINES_MAX && getline(&line, &cap, f) > 0; i++) {
        char c[HCG_CTRLS_MAX];
        bool v2 = false;
        if (hcg_parse_mountinfo_line(line, &v2, c, sizeof(c), mnt, nm, root, nr) != 1)
            continue;
        if (ctrls[0] ? (!v2 && same_controllers(ctrls, c)) : v2)
            return 0;
    }
    return -ENOENT;
}

/* mkdir -p dir below mnt; v1 cpuset levels made here inherit cpus/mems; v2 parents delegate
 * memory, cpu and pids to their children. h->created: the leaf is new (EEXIST: it is not). */
static int make_dir(struct hierarchy *h, bool v2, struct cvm_err *err)
{
    char path[PATH_MAX];
    size_t base = strlen(h->mnt);
    bool cpuset = hcg_has_controller(h->ctrls, "cpuset");
    snprintf(path, sizeof(path), "%s", h->dir);
    for (char *p = path + base; p && *p;) {
        char *next = strchr(p + 1, '/');
        if (next)
            *next = '\0';
        if (v2) { /* the parent (path up to p) enables what its children need */
            char parent[PATH_MAX], avail[256];
            snprintf(parent, sizeof(parent), "%.*s", (int)(p - path), path);
            if (read_line(parent, "cgroup.controllers", avail, sizeof(avail)) == 0)
                for (const char *const *c = (const char *const[]){"memory", "cpu", "pids", NULL};
                     *c; c++) {
                    char plus[16];
                    snprintf(plus, sizeof(plus), "+%s", *c);
                    if (space_list_has(avail, *c))
                        (void)write_file(parent, "cgroup.subtree_control", plus);
                }
        }
        if (mkdir(path, 0755) == 0) {
            h->created = !next;
            if (cpuset) {
                char parent[PATH_MAX], v[512];
                snprintf(parent, sizeof(parent), "%.*s", (int)(p - path), path);
                for (const char *const *f =
                         (const char *const[]){"cpuset.cpus", "cpuset.mems", NULL};
                     *f; f++)
                    if (read_line(path, *f, v, sizeof(v)) == 0 && !v[0] &&
                        read_line(parent, *f, v, sizeof(v)) == 0 && v[0])
                        (void)write_file(path, *f, v);
            }
        } else if (errno != EEXIST) {
            return cvm_err_set(err, -errno, "host cgroup: mkdir %s: %m", path);
        }
        if (!next)
            break;
        *next = '/';
        p = next;
    }
    return 0;
}

static int hierarchy_dir(struct hierarchy *h, const struct hcg_path *p, const char *own,
                         const char *mroot)
{
    /* our own cgroup as seen under this mount (its root may be a sub-cgroup) */
    size_t rl = strcmp(mroot, "/") == 0 ? 0 : strlen(mroot);
    const char *own_rel = strncmp(own, mroot, rl) == 0 ? own + rl : own;
    char dir[PATH_MAX];
    int n;
    if (p->relative)
        n = snprintf(dir, sizeof(dir), "%s%s/%s", h->mnt, strcmp(own_rel, "/") == 0 ? "" : own_rel,
                     p->path);
    else
        n = snprintf(dir, sizeof(dir), "%s%s", h->mnt, strcmp(p->path, "/") == 0 ? "" : p->path);
    if (n < 0 || (size_t)n >= sizeof(dir))
        return -ENAMETOOLONG;
    memcpy(h->dir, dir, (size_t)n + 1);
    /* "a/." -> "a" */
    size_t l = strlen(h->dir);
    if (l >= 2 && strcmp(h->dir + l - 2, "/.") == 0)
        h->dir[l - 2] = '\0';
    h->leaf_is_root = strcmp(p->path, "/") == 0 || strcmp(p->path, ".") == 0;
    return 0;
}

/* Fill cg's hierarchies from /proc/self/cgroup and the mounts. */
static int discover(struct host_cgroup *cg, const struct hcg_path *p, struct cvm_err *err)
{
    struct statfs sfs;
    cg->v2 = statfs(CGROUP_ROOT, &sfs) == 0 && (unsigned long)sfs.f_type == CGROUP2_SUPER_MAGIC;
    _cleanup_fclose_ FILE *f = fopen("/proc/self/cgroup", "re");
    _cleanup_free_ char *line = NULL;
    size_t cap = 0;
    if (!f)
        return cvm_err_set(err, -errno, "host cgroup: /proc/self/cgroup: %m");
    for (int i = 0; i < 64 && getline(&line, &cap, f) > 0; i++) {
        char ctrls[HCG_CTRLS_MAX], own[PATH_MAX], root[PATH_MAX];
        if (hcg_parse_proc_cgroup_line(line, ctrls, sizeof(ctrls), own, sizeof(own)) < 0)
            continue;
        if (cg->v2 && ctrls[0])
            continue; /* a v2 host: only the unified line counts */
        if (cg->n == HCG_MAX_HIERARCHIES)
            break;
        struct hierarchy *h = &cg->h[cg->n];
        snprintf(h->ctrls, sizeof(h->ctrls), "%s", ctrls);
        if (find_mount(ctrls, h->mnt, sizeof(h->mnt), root, sizeof(root)) < 0)
            continue; /* not mounted here (e.g. net_cls on a host that skips it): runc skips it too */
        if (hierarchy_dir(h, p, own, root) < 0)
            return cvm_err_set(err, -ENAMETOOLONG, "host cgroup: path too long under %s", h->mnt);
        cg->n++;
    }
    if (cg->n == 0)
        return cvm_err_set(err, -ENOENT, "host cgroup: no cgroup hierarchy is mounted");
    return 0;
}

int host_cgroup_create(const char *spec_path, struct host_cgroup **ret, struct cvm_err *err)
{
    struct hcg_path p;
    int r = hcg_path_parse(spec_path, &p, err);
    if (r < 0)
        return r;
    _cleanup_free_ struct host_cgroup *cg = calloc(1, sizeof(*cg));
    if (!cg)
        return cvm_err_set(err, -ENOMEM, "out of memory");
    snprintf(cg->name, sizeof(cg->name), "%s", p.path);
    r = discover(cg, &p, err);
    if (r < 0)
        return r;
    for (size_t i = 0; i < cg->n; i++) {
        r = make_dir(&cg->h[i], cg->v2 || !cg->h[i].ctrls[0], err);
        if (r < 0) {
            cg->n = i; /* remove what we made so far */
            host_cgroup_remove(TAKE_PTR(cg));
            return r;
        }
    }
    size_t joined = 0;
    for (size_t i = 0; i < cg->n; i++)
        joined += !cg->h[i].created;
    if (joined)
        log_info("host cgroup %s existed in %zu of %zu hierarchies: the VM joins it there, and "
                 "leaves its limits, its processes and the cgroup itself as they are",
                 cg->name, joined, cg->n);
    log_debug("host cgroup %s in %zu hierarch%s (cgroup %s)", cg->name, cg->n,
              cg->n == 1 ? "y" : "ies", cg->v2 ? "v2" : "v1");
    *ret = TAKE_PTR(cg);
    return 0;
}

int host_cgroup_procs_fds(struct host_cgroup *cg, int *fds, size_t max, struct cvm_err *err)
{
    size_t n = 0;
    for (size_t i = 0; i < cg->n && n < max; i++) {
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%s/cgroup.procs", cg->h[i].dir);
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0) {
            int r = -errno;
            while (n)
                safe_close(fds[--n]);
            return cvm_err_set(err, r, "host cgroup: open %s: %s", path, strerror(-r));
        }
        fds[n++] = fd;
    }
    return (int)n;
}

static const struct hierarchy *find_ctrl(const struct host_cgroup *cg, const char *ctrl)
{
    for (size_t i = 0; i < cg->n; i++) {
        if (cg->v2) {
            char avail[256];
            if (read_line(cg->h[i].dir, "cgroup.controllers", avail, sizeof(avail)) == 0 &&
                space_list_has(avail, ctrl))
                return &cg->h[i];
        } else if (hcg_has_controller(cg->h[i].ctrls, ctrl)) {
            return &cg->h[i];
        }
    }
    return NULL;
}

int host_cgroup_set(struct host_cgroup *cg, const struct hcg_resources *host, struct cvm_err *err)
{
    struct hcg_write w[HCG_WRITES_MAX];
    size_t n = hcg_writes(host, cg->v2, w);
    for (size_t i = 0; i < n; i++) {
        const struct hierarchy *h = find_ctrl(cg, w[i].ctrl);
        if (!h)
            return cvm_err_set(err, -ENOTSUP,
                               "host cgroup %s: the %s controller is not "
                               "available on this host (cannot set %s)",
                               cg->name, w[i].ctrl, w[i].file);
        /* A cgroup that existed is its owner's: a memory limit below what its processes use
         * would have the kernel reclaim or OOM-kill them. Joined as it is (create logged it). */
        if (!h->created) {
            log_debug("host cgroup %s: %s not set (the cgroup is not ours)", cg->name, w[i].file);
            continue;
        }
        int r = write_file(h->dir, w[i].file, w[i].value);
        if (r < 0)
            return cvm_err_set(err, r, "host cgroup: write %s to %s/%s: %s", w[i].value, h->dir,
                               w[i].file, strerror(-r));
        log_debug("host cgroup %s: %s = %s", cg->name, w[i].file, w[i].value);
    }
    return 0;
}

const char *host_cgroup_name(const struct host_cgroup *cg)
{
    return cg->name;
}

bool host_cgroup_is_v2(const struct host_cgroup *cg)
{
    return cg->v2;
}

int host_cgroup_remove_once(struct host_cgroup *cg)
{
    int r = 0;
    for (size_t i = 0; i < cg->n; i++) {
        struct hierarchy *h = &cg->h[i];
        if (!h->created || h->leaf_is_root || h->removed || strcmp(h->dir, h->mnt) == 0)
            continue; /* not ours to remove */
        if (rmdir(h->dir) == 0 || errno == ENOENT) {
            h->removed = true;
        } else if (errno == EBUSY) {
            r = -EBUSY; /* a process is still leaving (ours are killed by the hypervisor layer) */
        } else {
            log_warn("host cgroup: rmdir %s: %m (left in place)", h->dir);
            h->removed = true;
        }
    }
    return r;
}

void host_cgroup_free(struct host_cgroup *cg)
{
    free(cg);
}

void host_cgroup_remove(struct host_cgroup *cg)
{
    if (!cg)
        return;
    if (host_cgroup_remove_once(cg) == -EBUSY)
        log_warn("host cgroup %s: still holds processes (left in place)", cg->name);
    free(cg);
}

#define RETRY_USEC (20 * 1000)
#define RETRY_TRIES 250 /* 5 s: a helper's child exits once its parent is gone */

/* Removals still waiting for their last processes; finished at exit. */
static LIST_HEAD(, host_cgroup) pending = LIST_HEAD_INITIALIZER(pending);

static void pending_done(struct host_cgroup *cg)
{
    LIST_REMOVE(cg, pending);
    cg->retry = loop_source_free(cg->retry);
    free(cg);
}

static void retry_cb(struct loop_source *src, void *data)
{
    struct host_cgroup *cg = data;
    (void)src;
    if (host_cgroup_remove_once(cg) == -EBUSY && ++cg->tries < RETRY_TRIES) {
        loop_timer_set(cg->retry, RETRY_USEC);
        return;
    }
    if (cg->tries >= RETRY_TRIES)
        log_warn("host cgroup %s: still holds processes after %u ms (left in place)", cg->name,
                 RETRY_TRIES * RETRY_USEC / 1000);
    pending_done(cg);
}

void host_cgroup_remove_later(struct loop *l, struct host_cgroup *cg)
{
    if (!cg)
        return;
    if (host_cgroup_remove_once(cg) != -EBUSY) {
        free(cg);
        return;
    }
    LIST_INSERT_HEAD(&pending, cg, pending);
    if (loop_add_timer(l, RETRY_USEC, retry_cb, cg, &cg->retry) < 0) {
        log_warn("host cgroup %s: no timer to retry its removal (left in place)", cg->name);
        pending_done(cg);
    }
}

/* At process exit only (the loop is done): the VM's processes were SIGKILLed through their
 * pidfds and reaped, a helper's own child may take a moment more to leave. A bounded wait,
 * 20 ms steps up to 1 s in all, then the cgroup is left and logged. */
static void remove_waiting(struct host_cgroup *cg, unsigned *budget_ms)
{
    while (host_cgroup_remove_once(cg) == -EBUSY) {
        if (*budget_ms < 20) {
            log_warn("host cgroup %s: still holds processes at exit (left in place)", cg->name);
            return;
        }
        (void)nanosleep(&(struct timespec){0, 20 * 1000000L}, NULL);
        *budget_ms -= 20;
    }
}

void host_cgroup_remove_at_exit(struct host_cgroup *cg)
{
    unsigned budget_ms = 1000;
    struct host_cgroup *p;
    if (cg) {
        remove_waiting(cg, &budget_ms);
        free(cg);
    }
    while ((p = LIST_FIRST(&pending))) {
        remove_waiting(p, &budget_ms);
        pending_done(p);
    }
}

#define RECORD_FILE "host_cgroup"

int host_cgroup_record(const struct host_cgroup *cg, const char *run_dir)
{
    char path[PATH_MAX], tmp[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", run_dir, RECORD_FILE);
    snprintf(tmp, sizeof(tmp), "%s/.%s", run_dir, RECORD_FILE);
    _cleanup_fclose_ FILE *f = fopen(tmp, "we");
    if (!f)
        return -errno;
    for (size_t i = 0; i < cg->n; i++) {
        char line[PATH_MAX + 16];
        if (cg->h[i].leaf_is_root || strcmp(cg->h[i].dir, cg->h[i].mnt) == 0 ||
            hcg_format_record_line(cg->h[i].created, cg->h[i].dir, line, sizeof(line)) < 0)
            continue;
        fputs(line, f);
    }
    if (fflush(f) != 0 || rename(tmp, path) < 0) {
        int r = -errno;
        (void)unlink(tmp);
        return r;
    }
    return 0;
}

/* A directory we may rmdir: below /sys/fs/cgroup/, no "..", and a cgroup (cgroup.procs). */
static bool recorded_dir_ok(const char *d)
{
    char procs[PATH_MAX];
    struct statfs sfs;
    if (strncmp(d, CGROUP_ROOT "/", strlen(CGROUP_ROOT) + 1) != 0 || strstr(d, "/..") ||
        strstr(d, "/./") ||
        snprintf(procs, sizeof(procs), "%s/cgroup.procs", d) >= (int)sizeof(procs))
        return false;
    return access(procs, F_OK) == 0 && statfs(d, &sfs) == 0 &&
           ((unsigned long)sfs.f_type == CGROUP2_SUPER_MAGIC ||
            (unsigned long)sfs.f_type == CGROUP_SUPER_MAGIC);
}

void host_cgroup_remove_recorded(const char *run_dir, unsigned wait_ms)
{
    char path[PATH_MAX], line[PATH_MAX + 2];
    snprintf(path, sizeof(path), "%s/%s", run_dir, RECORD_FILE);
    _cleanup_fclose_ FILE *f = fopen(path, "re");
    if (!f)
        return;
    for (int i = 0; i < HCG_MAX_HIERARCHIES && fgets(line, sizeof(line), f); i++) {
        char dir[PATH_MAX];
        /* only what the shim made: a cgroup it joined is left, whatever it holds */
        if (hcg_parse_record_line(line, dir, sizeof(dir)) != 1 || !recorded_dir_ok(dir))
            continue;
        /* `delete` runs no loop: killed processes leave their cgroup a moment after SIGKILL,
         * waited for here up to wait_ms; nothing is killed by a pid read from the cgroup */
        for (unsigned waited = 0; rmdir(dir) < 0 && errno == EBUSY && waited < wait_ms;
             waited += 50)
            (void)nanosleep(&(struct timespec){0, 50 * 1000000L}, NULL);
    }
}

int host_cgroup_join_existing(const char *path, pid_t pid, struct cvm_err *err)
{
    struct host_cgroup cg = {0};
    struct hcg_path p;
    char pidstr[24];
    size_t joined = 0;
    int r = hcg_path_parse(path, &p, err);
    if (r < 0)
        return r;
    if (p.relative || p.systemd)
        return cvm_err_set(err, -EINVAL,
                           "shim_cgroup \"%.200s\": an absolute cgroupfs path is "
                           "needed (as runc's shim takes it)",
                           path);
    r = discover(&cg, &p, err);
    if (r < 0)
        return r;
    snprintf(pidstr, sizeof(pidstr), "%d", (int)pid);
    for (size_t i = 0; i < cg.n; i++) {
        struct stat st;
        if (stat(cg.h[i].dir, &st) < 0)
            continue;
        r = write_file(cg.h[i].dir, "cgroup.procs", pidstr);
        if (r < 0)
            return cvm_err_set(err, r, "shim_cgroup: move pid %s into %s: %s", pidstr, cg.h[i].dir,
                               strerror(-r));
        joined++;
    }
    if (!joined)
        return cvm_err_set(err, -ENOENT,
                           "shim_cgroup \"%.200s\": no such cgroup on this host: not found", path);
    return 0;
}
