/* `start` (spec §2.4): group, bind or reuse the socket, write <bundle>/address, spawn the daemon
 * with the listener as fd 3 and /dev/null stdio in its own process group, move it into runc's
 * shim_cgroup when the options on stdin name one, print the address.
 * Nothing but the address may reach stdout/stderr (containerd reads them combined). */
#include <errno.h>
#include <jansson.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "naming/address.h"
#include "cgroup/host_cgroup.h"
#include "cgroup/host_cgroup_path.h"
#include "cgroup/host_cgroup_sandbox.h"
#include "cleanup.h"
#include "cli/cmd.h"
#include "fd.h"
#include "google/protobuf/any.pb-c.h"
#include "net/net.h"
#include "pool/pool_fit.h"
#include "pool/pool_slot.h"
#include "task/config_load.h"

extern char **environ;

/* Write <dir>/address atomically, no trailing newline (§2.4.1 step 5). */
int shim_write_address(const char *dir, const char *addr)
{
    char tmp[PATH_MAX], dst[PATH_MAX];
    _cleanup_close_ int fd = -EBADF;

    snprintf(tmp, sizeof(tmp), "%s/.address", dir);
    snprintf(dst, sizeof(dst), "%s/address", dir);
    (void)unlink(tmp);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    if (write_all(fd, addr, strlen(addr)) < 0 || fsync(fd) < 0) {
        int r = -errno;
        (void)unlink(tmp);
        return r;
    }
    if (rename(tmp, dst) < 0) {
        int r = -errno;
        (void)unlink(tmp);
        return r;
    }
    return 0;
}

static int sock_path_of(const char *addr, struct sockaddr_un *sa)
{
    const char *p = addr + strlen("unix://");
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    if (strlen(p) >= sizeof(sa->sun_path))
        return -ENAMETOOLONG;
    strcpy(sa->sun_path, p);
    return 0;
}

static int is_alive(const struct sockaddr_un *sa)
{
    _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    return fd >= 0 && connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0;
}

/* Returns the listening fd, 0 when a live shim already serves the address, or -errno. */
static int bind_or_reuse(const struct sockaddr_un *sa)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return -errno;
        if (bind(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0) {
            if (chmod(sa->sun_path, 0600) < 0 || listen(fd, 128) < 0)
                return -errno;
            return TAKE_FD(fd);
        }
        if (errno != EADDRINUSE)
            return -errno;
        if (is_alive(sa))
            return 0;
        (void)unlink(sa->sun_path); /* stale socket of a dead shim */
    }
    return -EADDRINUSE;
}

static void adjust_oom(pid_t child)
{
    char path[64], buf[32] = "";
    long v;
    _cleanup_close_ int in = -EBADF, out = -EBADF;
    ssize_t n;

    snprintf(path, sizeof(path), "/proc/%d/oom_score_adj", (int)getppid());
    in = open(path, O_RDONLY | O_CLOEXEC);
    if (in < 0 || (n = read(in, buf, sizeof(buf) - 1)) <= 0)
        return;
    buf[n] = 0;
    buf[strcspn(buf, "\n")] = 0;
    if (parse_long(buf, -1000, 1000, &v) < 0)
        return;
    snprintf(path, sizeof(path), "/proc/%d/oom_score_adj", (int)child);
    out = open(path, O_WRONLY | O_CLOEXEC);
    if (out >= 0) {
        n = snprintf(buf, sizeof(buf), "%ld", v < 1000 ? v + 1 : v);
        (void)!write(out, buf, (size_t)n);
    }
}

/* fork+exec of ourselves in serve mode. An error pipe reports exec failures. The daemon's
 * pid, or -errno. */
static pid_t spawn_daemon(const struct shim_flags *f, int lfd)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    int ep[2];
    pid_t pid;

    if (n < 0)
        return -errno;
    self[n] = 0;
    if (pipe2(ep, O_CLOEXEC) < 0)
        return -errno;
    char *argv[] = {self,          "-namespace", (char *)f->namespace_, "-id",
                    (char *)f->id, "-address",   (char *)f->address,    f->debug ? "-debug" : NULL,
                    NULL};
    pid = fork();
    if (pid < 0) {
        int r = -errno;
        close(ep[0]), close(ep[1]);
        return r;
    }
    if (pid == 0) {
        int e, nul = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (nul < 0 || setpgid(0, 0) < 0 || dup2(nul, 0) < 0 || dup2(nul, 1) < 0 ||
            dup2(nul, 2) < 0 || (lfd == 3 ? fd_set_cloexec(3, 0) : dup2(lfd, 3)) < 0)
            goto fail;
        /* containerd's sched_core option (spec §2.4.1 step 6): one core-scheduling cookie
         * for the shim's process group; best effort (older kernels lack it). */
        if (getenv("SCHED_CORE"))
            (void)prctl(62 /* PR_SCHED_CORE */, 1 /* PR_SCHED_CORE_CREATE */, 0,
                        2 /* PIDTYPE_PGID */, 0);
        int keep[] = {ep[1]};
        fd_close_all_except(4, keep, 1);
        execve(self, argv, environ);
    fail:
        e = errno;
        (void)!write(ep[1], &e, sizeof(e));
        _exit(127);
    }
    close(ep[1]);
    int e = 0;
    n = read(ep[0], &e, sizeof(e));
    close(ep[0]);
    if (n == (ssize_t)sizeof(e)) {
        waitpid(pid, NULL, 0);
        return -e;
    }
    adjust_oom(pid);
    return pid;
}

#define START_OPTIONS_MAX (1u << 20)

/* containerd 1.6 to 2.x write the task's Create options (an Any) to start's stdin. runc's
 * shim takes its shim_cgroup from there, at start (runtime/v2/runc/manager: after the daemon
 * is started, before the address is printed), and the pool needs the runtime config path
 * before any daemon runs. Read whole, bounded; more than fits, or bytes that are no options
 * Any (what a newer containerd may write there), carry none of ours: Create's options are
 * joined again then. Each out-parameter is "" when there is none. */
static void read_start_options(char *shim_cgroup, size_t n, char *config_path, size_t m)
{
    _cleanup_free_ uint8_t *buf = malloc(START_OPTIONS_MAX);
    ssize_t got;
    shim_cgroup[0] = config_path[0] = '\0';
    if (!buf)
        return;
    got = read_all(0, buf, START_OPTIONS_MAX);
    if (got <= 0 || (size_t)got >= START_OPTIONS_MAX)
        return;
    runc_shim_cgroup_of_start_stdin(buf, (size_t)got, shim_cgroup, n);
    Google__Protobuf__Any *any = google__protobuf__any__unpack(NULL, (size_t)got, buf);
    if (any) {
        (void)task_config_path(any, config_path, m);
        google__protobuf__any__free_unpacked(any, NULL);
    }
}

/* runc's shim_cgroup: the new daemon joins that existing cgroup in every hierarchy where it
 * exists (as runc's shim: cgroup1.Load(StaticPath).AddProc / cgroup2 Load.AddProc), before
 * containerd sends it anything; a cgroup found nowhere fails start, as it fails runc's. */
static int join_shim_cgroup(const char *shim_cgroup, pid_t pid)
{
    struct cvm_err err = {0};
    int r = host_cgroup_join_existing(shim_cgroup, pid, &err);
    if (r < 0)
        fprintf(stderr, "start: %s", err.msg);
    return r;
}

/* The bundle's config.json (NULL when unreadable: no claim then). */
static json_t *bundle_spec(const char *bundle)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/config.json", bundle);
    return json_load_file(path, 0, NULL);
}

/* The interfaces a pooled VM would have to carry in the netns at path (CRI: CNI ran). */
static int netns_links(const char *path)
{
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    _cleanup_free_ struct net_state *s = calloc(1, sizeof(*s));
    struct cvm_err err = {0};
    int r;
    if (fd < 0)
        return -errno;
    if (!s)
        return -ENOMEM;
    r = net_scan(fd, s, &err);
    return r < 0 ? (r == -1 ? -EIO : r) : (int)s->n_links;
}

/* With a pool configured: claim a warm shim for this sandbox (1: it serves lfd now), or say
 * why not in CVM_POOL_ORIGIN for the cold daemon's log and boot.log (0). */
static int try_pool(const struct shim_flags *f, const char *bundle, const struct cfg *cfg,
                    const char *config_path, int lfd)
{
    char why[320], origin[400];
    json_t *spec = bundle_spec(bundle);
    int r;

    if (!spec) {
        snprintf(why, sizeof(why), "cannot read %s/config.json", bundle);
        r = -ENOENT;
    } else {
        const char *ns = pool_spec_netns(spec);
        r = ns ? netns_links(ns) : -1;
        if (r < -1) {
            snprintf(why, sizeof(why), "cannot scan the sandbox netns %.100s: %s", ns,
                     strerror(-r));
        } else {
            r = pool_fit(cfg, spec, r, why, sizeof(why));
        }
        json_decref(spec);
    }
    if (r == 0) {
        struct pool_msg m = {.type = POOL_MSG_CLAIM, .debug = f->debug};
        const char *tt = getenv("TTRPC_ADDRESS");
        if (pool_version(config_path, m.version, sizeof(m.version)) < 0 ||
            (size_t)snprintf(m.ns, sizeof(m.ns), "%s", f->namespace_) >= sizeof(m.ns) ||
            (size_t)snprintf(m.id, sizeof(m.id), "%s", f->id) >= sizeof(m.id) ||
            (size_t)snprintf(m.bundle, sizeof(m.bundle), "%s", bundle) >= sizeof(m.bundle) ||
            (size_t)snprintf(m.address, sizeof(m.address), "%s", f->address) >= sizeof(m.address) ||
            (size_t)snprintf(m.ttrpc_address, sizeof(m.ttrpc_address), "%s", tt ? tt : "") >=
                sizeof(m.ttrpc_address) ||
            (size_t)snprintf(m.publish_binary, sizeof(m.publish_binary), "%s",
                             f->publish_binary ? f->publish_binary : "") >=
                sizeof(m.publish_binary)) {
            snprintf(why, sizeof(why), "claim fields too long");
            r = -ENAMETOOLONG;
        } else {
            r = pool_claim(&m, lfd, cfg->pool_size, why, sizeof(why));
            if (r >= 0)
                return 1;
        }
    }
    snprintf(origin, sizeof(origin), "pool: cold boot: %s", why);
    setenv("CVM_POOL_ORIGIN", origin, 1);
    return 0;
}

int cmd_start(const struct shim_flags *f)
{
    char cwd[PATH_MAX], group[256], addr[256];
    struct sockaddr_un sa;
    _cleanup_close_ int lockfd = -EBADF, lfd = -EBADF;
    struct shim_flags df = *f;
    char shim_cgroup[HCG_PATH_MAX];
    char config_path[PATH_MAX];
    struct cfg cfg;
    struct cvm_err cerr = {0};
    int claimed = 0;
    int r;

    if (!f->namespace_ || !*f->namespace_ || !f->id || !*f->id) {
        fprintf(stderr, "start: -namespace and -id are required");
        return 1;
    }
    if (!df.address || !*df.address)
        df.address = SHIM_DEFAULT_ADDRESS;
    read_start_options(shim_cgroup, sizeof(shim_cgroup), config_path, sizeof(config_path));
    /* the pool (README "Warm VM pool"): off unless the runtime config sizes it */
    if (task_config_load(config_path, &cfg, &cerr) < 0)
        cfg.pool_size = 0;
    if (!getcwd(cwd, sizeof(cwd))) {
        fprintf(stderr, "start: getcwd: %m");
        return 1;
    }
    r = shim_group_from_bundle(cwd, f->id, group, sizeof(group));
    if (r < 0 || shim_socket_address(df.address, f->namespace_, group, addr, sizeof(addr)) < 0 ||
        sock_path_of(addr, &sa) < 0) {
        fprintf(stderr, "start: cannot derive the socket address");
        return 1;
    }
    if (mkdir("/run/containerd", 0711) < 0 && errno != EEXIST) {
        fprintf(stderr, "start: mkdir /run/containerd: %m");
        return 1;
    }
    if (mkdir(SHIM_SOCKET_DIR, 0700) < 0 && errno != EEXIST) {
        fprintf(stderr, "start: mkdir %s: %m", SHIM_SOCKET_DIR);
        return 1;
    }
    /* Serialise concurrent starts of one pod: bind/probe/unlink must not interleave. */
    lockfd = open(SHIM_SOCKET_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (lockfd < 0 || flock(lockfd, LOCK_EX) < 0) {
        fprintf(stderr, "start: lock %s: %m", SHIM_SOCKET_DIR);
        return 1;
    }
    lfd = bind_or_reuse(&sa);
    if (lfd < 0) {
        fprintf(stderr, "start: socket %s: %s", sa.sun_path, strerror(-lfd));
        return 1;
    }
    r = shim_write_address(cwd, addr);
    if (r < 0) {
        fprintf(stderr, "start: write address: %s", strerror(-r));
        if (lfd > 0)
            (void)unlink(sa.sun_path);
        return 1;
    }
    /* runc's shim_cgroup is joined by the daemon start spawns: a warm shim already runs
     * (and its VM is charged) elsewhere, so a sandbox that names one boots cold */
    if (lfd > 0 && cfg.pool_size > 0 && shim_cgroup[0])
        setenv("CVM_POOL_ORIGIN", "pool: cold boot: the task names a shim_cgroup", 1);
    else if (lfd > 0 && cfg.pool_size > 0)
        claimed = try_pool(&df, cwd, &cfg, config_path, lfd);
    if (lfd > 0 && !claimed) {
        pid_t pid = spawn_daemon(&df, lfd);
        if (pid < 0) {
            (void)unlink(sa.sun_path);
            fprintf(stderr, "start: spawn daemon: %s", strerror(-pid));
            return 1;
        }
        if (shim_cgroup[0] && join_shim_cgroup(shim_cgroup, pid) < 0) {
            /* as runc's start: the daemon it made goes, nothing serves the address */
            (void)kill(pid, SIGKILL);
            (void)waitpid(pid, NULL, 0);
            (void)unlink(sa.sun_path);
            return 1;
        }
    }
    fputs(addr, stdout);
    fflush(stdout);
    /* after the address: containerd is not kept waiting for the refill, which boots at
     * SCHED_IDLE in warm shims of their own */
    if (lfd > 0 && cfg.pool_size > 0) {
        safe_close(TAKE_FD(lfd));
        (void)pool_fill(cfg.pool_size, config_path, df.debug);
    }
    return 0;
}
