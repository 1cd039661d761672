/* Create: the first container boots the sandbox VM (config file + annotations); every
 * container gets its rootfs and bind mounts under <shared>/<id>/ and is created by the agent;
 * stdio is opened and attached before the reply. */
#define LOG_MODULE "task"
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "naming/address.h"
#include "agent.pb-c.h"
#include "sandbox/assets.h"
#include "cleanup.h"
#include "containerd/events/task.pb-c.h"
#include "fd.h"
#include "fs_beneath.h"
#include "cgroup/host_cgroup.h"
#include "cgroup/host_cgroup_path.h"
#include "cgroup/host_cgroup_sandbox.h"
#include "log.h"
#include "sandbox/mounts.h"
#include "runtimeoptions/v1/api.pb-c.h"
#include "sandbox/sandbox_net.h"
#include "task/host_ns.h"
#include "task/rpc.h"
#include "task/config_load.h"

static int read_spec(const char *bundle, char **ret, size_t *ret_len, struct cvm_err *err)
{
    char path[PATH_MAX];
    _cleanup_close_ int fd = -EBADF;
    _cleanup_free_ char *buf = malloc(SPEC_MAX + 1);
    ssize_t n;

    if (!buf)
        return cvm_err_set(err, -ENOMEM, "out of memory");
    snprintf(path, sizeof(path), "%s/config.json", bundle);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cvm_err_set(err, -errno, "open %s: %m", path);
    n = read_all(fd, buf, SPEC_MAX + 1);
    if (n < 0)
        return cvm_err_set(err, (int)n, "read %s", path);
    if ((size_t)n > SPEC_MAX)
        return cvm_err_setc(err, RPC_INVALID_ARGUMENT, -EFBIG, "%s is larger than %u bytes", path,
                            SPEC_MAX);
    buf[n] = 0;
    *ret_len = (size_t)n;
    *ret = TAKE_PTR(buf);
    return 0;
}

/* MemTotal of /proc/meminfo in KiB; 0 when unknown (no check then). */
static unsigned long long host_mem_kib(void)
{
    _cleanup_fclose_ FILE *f = fopen("/proc/meminfo", "re");
    unsigned long long kib = 0;
    if (f && fscanf(f, "MemTotal: %llu kB", &kib) != 1)
        kib = 0;
    return kib;
}

/* Online CPUs; 0 when unknown (max_vcpus then bounds at the largest guest). */
static unsigned host_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 && n < 65536 ? (unsigned)n : 0;
}

/* The runtime config file: options config_path, else the default locations, else built-in
 * defaults; its bounds resolved against this host. */
static int load_config_file(const Google__Protobuf__Any *opts, struct cfg *cfg, struct cvm_err *err)
{
    char path[PATH_MAX] = "";
    /* containerd.runc.v1.Options: runc_options_check() at Create; other types are ignored
     * (spec §9 item 22) */
    if (task_config_path(opts, path, sizeof(path)) < 0)
        return cvm_err_set(err, -EINVAL, "cannot decode runtimeoptions.v1.Options");
    return task_config_load(path, cfg, err);
}

int task_config_path(const Google__Protobuf__Any *opts, char *path, size_t n)
{
    path[0] = '\0';
    if (opts && opts->type_url && strcmp(opts->type_url, "runtimeoptions.v1.Options") == 0) {
        Runtimeoptions__V1__Options *o =
            runtimeoptions__v1__options__unpack(NULL, opts->value.len, opts->value.data);
        if (!o)
            return -EINVAL;
        snprintf(path, n, "%s", o->config_path ? o->config_path : "");
        runtimeoptions__v1__options__free_unpacked(o, NULL);
    }
    return 0;
}

int task_config_load(const char *config_path, struct cfg *cfg, struct cvm_err *err)
{
    char path[PATH_MAX];
    int r;

    cfg_defaults(cfg);
    snprintf(path, sizeof(path), "%s", config_path ? config_path : "");
    if (path[0]) {
        r = cfg_load_file(cfg, path, err);
        if (r == -ENOENT)
            return cvm_err_set(err, r, "runtime config %s: not found", path);
        if (r < 0)
            return r;
    } else if (assets_default_config(path, sizeof(path)) == 0) {
        r = cfg_load_file(cfg, path, err);
        if (r < 0 && r != -ENOENT)
            return r;
    }
    return cfg_resolve_bounds(cfg, host_cpus(), host_mem_kib(), err);
}

/* The runtime config, then the io.containerd.cvm.* annotations under the config's policy
 * (allowed_annotations, max_vcpus, max_memory_mib). A later container of a running sandbox
 * (sandbox set) is checked against the sandbox's own config, the one its VM was made with:
 * CRI copies the pod's annotations to every container of the pod. */
static int load_config(const Google__Protobuf__Any *opts, json_t *ann,
                       const struct sandbox *sandbox, struct cfg *cfg, struct cvm_err *err)
{
    size_t n = 0, cap = json_object_size(ann);
    int r;

    if (sandbox) {
        *cfg = sandbox->cfg;
        cfg->kernel_args[0] = '\0'; /* only validated here: nothing is appended twice */
    } else {
        r = load_config_file(opts, cfg, err);
        if (r < 0)
            return r;
    }
    /* every annotation is looked at, however many (the spec's size bounds them) */
    _cleanup_free_ const char **keys = calloc(cap + 1, sizeof(*keys));
    _cleanup_free_ const char **vals = calloc(cap + 1, sizeof(*vals));
    const char *k;
    json_t *v;
    if (!keys || !vals)
        return cvm_err_set(err, -ENOMEM, "out of memory");
    json_object_foreach(ann, k, v)
    {
        if (!json_is_string(v))
            continue;
        keys[n] = k;
        vals[n++] = json_string_value(v);
    }
    r = cfg_apply_annotations(cfg, keys, vals, n, err);
    if (r < 0)
        return r;
    return cfg_check_host_memory(cfg->memory_mib, host_mem_kib(), err);
}

static const char *spec_netns(json_t *spec)
{
    json_t *nss = json_object_get(json_object_get(spec, "linux"), "namespaces"), *ns;
    size_t i;
    json_array_foreach(nss, i, ns)
    {
        const char *t = json_string_value(json_object_get(ns, "type"));
        const char *p = json_string_value(json_object_get(ns, "path"));
        if (t && strcmp(t, "network") == 0 && p && p[0] == '/')
            return p;
    }
    return NULL;
}

static int is_bind(json_t *m)
{
    const char *t = json_string_value(json_object_get(m, "type"));
    json_t *o;
    size_t i;
    if (t && strcmp(t, "bind") == 0)
        return 1;
    json_array_foreach(json_object_get(m, "options"), i, o)
    {
        const char *s = json_string_value(o);
        if (s && (strcmp(s, "bind") == 0 || strcmp(s, "rbind") == 0))
            return 1;
    }
    return 0;
}

static int has_opt(json_t *m, const char *opt)
{
    json_t *o;
    size_t i;
    json_array_foreach(json_object_get(m, "options"), i, o)
    {
        const char *s = json_string_value(o);
        if (s && strcmp(s, opt) == 0)
            return 1;
    }
    return 0;
}

/* Host bind mounts go to <dir>/mounts/<i> of the share's host-only tree (share.h: dir is the
 * name the container's directory is published under), made by fd under that directory, cfd;
 * the spec source becomes the path relative to the share (agent.proto: relative bind sources
 * resolve under the share mount). */
static int share_bind_mounts(struct container *c, const char *dir, int cfd, json_t *spec,
                             struct cvm_err *err)
{
    json_t *mounts = json_object_get(spec, "mounts"), *m;
    _cleanup_close_ int mfd = -EBADF;
    size_t i;
    json_array_foreach(mounts, i, m)
    {
        const char *src = json_string_value(json_object_get(m, "source"));
        char name[24], rel[PATH_MAX], what[PATH_MAX];
        int r;
        if (!is_bind(m) || !src || src[0] != '/')
            continue;
        if (mfd < 0 && (r = fsb_mkdir_p(cfd, "mounts", 0755, &mfd)) < 0)
            return cvm_err_set(err, r, "share %s/mounts: %s", dir, strerror(-r));
        snprintf(name, sizeof(name), "%zu", i);
        snprintf(rel, sizeof(rel), "%s/mounts/%zu", dir, i);
        snprintf(what, sizeof(what), "%s/%s", c->sb->share.mounts, rel);
        r = mnt_bind_at(src, mfd, name, has_opt(m, "ro"), has_opt(m, "rbind"), what, err);
        if (r < 0)
            return r;
        json_object_set_new(m, "source", json_string(rel));
    }
    return 0;
}

static int mount_rootfs(struct container *c, const char *name, int cfd,
                        const Containerd__Task__V2__CreateTaskRequest *req, json_t *spec,
                        struct cvm_err *err)
{
    char what[PATH_MAX];
    int r;

    snprintf(what, sizeof(what), "%s/%s/rootfs", c->sb->share.mounts, name);
    if (req->n_rootfs == 0) {
        const char *root =
            json_string_value(json_object_get(json_object_get(spec, "root"), "path"));
        char src[PATH_MAX];
        if (!root)
            return cvm_err_set(err, -EINVAL, "spec has no root.path and no rootfs mounts");
        if (root[0] == '/')
            snprintf(src, sizeof(src), "%s", root);
        else
            snprintf(src, sizeof(src), "%s/%s", c->bundle, root);
        return mnt_bind_at(src, cfd, "rootfs", 0, 1, what, err);
    }
    for (size_t i = 0; i < req->n_rootfs; i++) {
        const Containerd__Types__Mount *m = req->rootfs[i];
        r = mnt_mount_one(m->type ? m->type : "", m->source ? m->source : "",
                          (const char *const *)m->options, m->n_options, cfd, "rootfs", what, err);
        if (r < 0)
            return r;
    }
    return 0;
}

/* The /proc/<pid>/ns/ file of an OCI namespace type; NULL for a type without one. */
static const char *ns_file(const char *type)
{
    static const char *const map[][2] = {
        {"ipc", "ipc"}, {"uts", "uts"}, {"pid", "pid"}, {"mount", "mnt"}, {"cgroup", "cgroup"}};
    for (size_t i = 0; i < ELEMENTSOF(map); i++)
        if (strcmp(type, map[i][0]) == 0)
            return map[i][1];
    return NULL;
}

/* CRI gives an app container the pod's namespaces as /proc/<sandbox task pid>/ns/<type>, and
 * our task pid is QEMU's on the host: in the guest the pod's namespaces are those of the
 * sandbox (first) container's init, so such a path becomes /proc/<its guest pid>/ns/<type>.
 * Any other host namespace path names something the guest cannot join: Create fails. The
 * network namespace is the VM's for every container (the agent shares it), whatever the path. */
static int map_namespaces(struct container *c, json_t *spec, struct cvm_err *err)
{
    json_t *nss = json_object_get(json_object_get(spec, "linux"), "namespaces"), *ns;
    struct container *sbc = TAILQ_FIRST(&c->sb->containers);
    char prefix[48];
    size_t i;

    snprintf(prefix, sizeof(prefix), "/proc/%u/ns/", shim_task_pid(c->sb->shim));
    json_array_foreach(nss, i, ns)
    {
        const char *type = json_string_value(json_object_get(ns, "type"));
        const char *path = json_string_value(json_object_get(ns, "path"));
        const char *file = type ? ns_file(type) : NULL;
        char guest[64];
        if (!type || !path || !*path || strcmp(type, "network") == 0)
            continue;
        if (!file || c->sb->qemu_pid <= 0 || strncmp(path, prefix, strlen(prefix)) != 0 ||
            strcmp(path + strlen(prefix), file) != 0)
            return cvm_err_setc(err, RPC_INVALID_ARGUMENT, -EINVAL,
                                "linux.namespaces: the %s namespace %.120s is a host path the "
                                "sandbox VM cannot join (only the sandbox's own, %s<type>, can be "
                                "shared): invalid argument",
                                type, path, prefix);
        if (!sbc || sbc == c || sbc->init->status != PROC_RUNNING || !sbc->init->guest_pid)
            return cvm_err_setc(err, RPC_FAILED_PRECONDITION, -EBUSY,
                                "linux.namespaces: %s names the sandbox's %s namespace, but the "
                                "sandbox container is not running: failed precondition",
                                path, type);
        snprintf(guest, sizeof(guest), "/proc/%u/ns/%s", sbc->init->guest_pid, file);
        json_object_set_new(ns, "path", json_string(guest));
    }
    return 0;
}

/* Undo everything Create did for c (mounts, stdio, list membership) and free it. */
static void create_rollback(struct container *c)
{
    struct sandbox *sb = c->sb;
    char name[sizeof(c->share_name)];
    snprintf(name, sizeof(name), "%s", c->share_name);
    TAILQ_REMOVE(&sb->containers, c, link);
    shim_container_free(c);
    if (name[0]) /* published (an unpublished one is the Create's to remove) */
        (void)share_remove_container(&sb->share, name);
}

static void removed_after_failure(const struct ttrpc_result *res, void *data)
{
    (void)res;
    (void)data;
}

static void create_fail(struct agent_op *op, int code, const char *msg)
{
    struct container *c = op->c;
    log_error("create %s: %s", c ? c->id : "?", msg);
    if (c && c->agent_created) {
        /* the guest already has it: remove it there too (best effort, shared VM) */
        Cvm__Agent__V1__RemoveContainerRequest rr = CVM__AGENT__V1__REMOVE_CONTAINER_REQUEST__INIT;
        rr.container_id = c->id;
        rr.force = true;
        (void)sandbox_agent_call(c->sb, "RemoveContainer", &rr, removed_after_failure, NULL,
                                 10ull * 1000000000ull);
    }
    op_reply_error(op, code, "%s", msg);
    if (c)
        create_rollback(c);
    op_free(op);
}

static void attached(struct proc *p, int r, const char *msg)
{
    struct agent_op *op = op_find(p->c->sb->shim, p, OP_WAITS_CREATE_ATTACH);
    if (!op)
        return;
    if (r < 0) {
        create_fail(op, RPC_UNAVAILABLE, msg);
        return;
    }
    struct container *c = op->c;
    struct shim *s = op->s;
    Containerd__Events__TaskCreate ev = CONTAINERD__EVENTS__TASK_CREATE__INIT;
    Containerd__Events__TaskIO tio = CONTAINERD__EVENTS__TASK_IO__INIT;
    tio.stdin = p->io.path[STREAM_STDIN];
    tio.stdout = p->io.path[STREAM_STDOUT];
    tio.stderr = p->io.path[STREAM_STDERR];
    tio.terminal = p->io.terminal;
    ev.container_id = c->id;
    ev.bundle = c->bundle;
    ev.io = &tio;
    ev.pid = shim_task_pid(s);
    shim_publish(s, "/tasks/create", &ev);
    Containerd__Task__V2__CreateTaskResponse resp =
        CONTAINERD__TASK__V2__CREATE_TASK_RESPONSE__INIT;
    resp.pid = shim_task_pid(s);
    log_info("container %s created (pid %u)", c->id, resp.pid);
    op_reply(op, &resp.base);
    op_free(op);
}

static void agent_created(const struct ttrpc_result *res, void *data)
{
    struct agent_op *op = data;
    if (!op->c) {
        op_free(op);
        return;
    }
    if (res->code != 0) {
        char msg[400];
        snprintf(msg, sizeof(msg), "agent CreateContainer: %s",
                 res->message ? res->message : "failed");
        create_fail(op, res->code, msg);
        return;
    }
    op->c->agent_created = true;
    sandbox_container_created(op->c->sb);
    op->p = op->c->init;
    op->waits_for = OP_WAITS_CREATE_ATTACH;
    proc_io_attach(op->c->init, attached);
}

/* The VM is up, the hooks ran, the network is in the guest: make the container there. */
static void create_in_guest(struct agent_op *op)
{
    struct container *c = op->c;
    int r;
    Cvm__Agent__V1__CreateContainerRequest req = CVM__AGENT__V1__CREATE_CONTAINER_REQUEST__INIT;
    Cvm__Agent__V1__StdioFlags fl = CVM__AGENT__V1__STDIO_FLAGS__INIT;
    char rootfs[SHARE_NAME_LEN + 8];
    struct proc_io *io = &c->init->io;
    snprintf(rootfs, sizeof(rootfs), "%s/rootfs", c->share_name);
    fl.stdin = io->want[STREAM_STDIN];
    fl.stdout = io->want[STREAM_STDOUT];
    fl.stderr = io->want[STREAM_STDERR];
    fl.terminal = io->terminal;
    req.container_id = c->id;
    req.config_json.data = (uint8_t *)c->spec_json;
    req.config_json.len = c->spec_len;
    req.share_tag = AGENT_SHARE_TAG;
    req.rootfs = rootfs;
    req.stdio = &fl;
    r = sandbox_agent_call(c->sb, "CreateContainer", &req, agent_created, op,
                           AGENT_CALL_TIMEOUT_NS);
    if (r < 0)
        create_fail(op, RPC_UNAVAILABLE, "agent not connected");
}

/* Each asynchronous step of a Create ends here: false when the Create is over, because the
 * container went meanwhile (the op is freed) or the step failed (the Create is answered with
 * code and msg, or fallback when the step gave none). */
static bool create_step_ok(struct agent_op *op, int r, int code, const char *msg,
                           const char *fallback)
{
    if (!op->c) {
        op_free(op);
        return false;
    }
    if (r < 0) {
        create_fail(op, code, msg ? msg : fallback);
        return false;
    }
    return true;
}

static void net_synced(struct sandbox *sb, int r, const char *msg, void *data)
{
    struct agent_op *op = data;
    (void)sb;
    if (create_step_ok(op, r, rpc_code_from_errno(r), msg, "guest network setup failed"))
        create_in_guest(op);
}

/* createRuntime hooks may have made interfaces in the netns (nerdctl runs CNI there): bring
 * every interface into the guest before the container exists. */
static void create_runtime_done(struct agent_op *op, int r, const char *msg)
{
    if (create_step_ok(op, r, RPC_UNKNOWN, msg, "createRuntime hook failed"))
        sandbox_net_sync(op->c->sb, net_synced, op);
}

static void prestart_done(struct agent_op *op, int r, const char *msg)
{
    if (create_step_ok(op, r, RPC_UNKNOWN, msg, "prestart hook failed"))
        task_run_hooks(op, HOOK_CREATE_RUNTIME, "creating", create_runtime_done);
}

static void sandbox_ready(struct sandbox *sb, int r, const char *msg, void *data)
{
    struct agent_op *op = data;
    (void)sb;
    /* runc runs prestart and createRuntime at create, with the task pid known (ours: QEMU's,
     * or the netns holder's for a claimed pooled VM under CRI) */
    if (create_step_ok(op, r, RPC_UNAVAILABLE, msg, "sandbox VM failed"))
        task_run_hooks(op, HOOK_PRESTART, "creating", prestart_done);
}

/* The sandbox's group id (pod or group annotation), else the container's own: standalone. */
static const char *sandbox_group(json_t *ann, const char *id, bool *standalone)
{
    const char *g = json_string_value(json_object_get(ann, SHIM_ANN_SANDBOX_ID));
    if (!g || !shim_valid_identifier(g))
        g = json_string_value(json_object_get(ann, SHIM_ANN_GROUP));
    *standalone = !g || !shim_valid_identifier(g);
    return *standalone ? id : g;
}

/* The helper pids of a VM into the sandbox's host cgroup: a claimed pooled VM was booted
 * outside it (README "Warm VM pool": what it was charged before stays where it was). */
/* runc's shim_cgroup: `start` moved the daemon there already (the same options reach its stdin,
 * as runc's shim takes them); joined again here for a client whose start carried none, a no-op
 * otherwise (before the VM starts, or, for a claimed warm shim, before it serves a container). */
static int join_runc_shim_cgroup(const Google__Protobuf__Any *opts, struct cvm_err *err)
{
    char shim_cg[HCG_PATH_MAX];
    int r = runc_options_check(opts, shim_cg, sizeof(shim_cg), err);
    if (r == 0 && shim_cg[0] && (r = host_cgroup_join_existing(shim_cg, getpid(), err)) == 0)
        log_info("shim moved into cgroup %s (runc option shim_cgroup)", shim_cg);
    return r;
}

static int host_cgroup_move_vm(struct sandbox *sb, struct host_cgroup *hcg, struct cvm_err *err)
{
    int fds[HV_MAX_CGROUP_FDS], n, r = 0;
    pid_t pids[3] = {sb->qemu_pid, 0, 0};
    hv_helper_pids(sb->vm, &pids[1], &pids[2]);
    n = host_cgroup_procs_fds(hcg, fds, ELEMENTSOF(fds), err);
    if (n < 0)
        return n;
    for (int i = 0; i < n; i++) {
        for (size_t k = 0; k < ELEMENTSOF(pids) && r == 0; k++) {
            char buf[24];
            int len = snprintf(buf, sizeof(buf), "%d", (int)pids[k]);
            if (pids[k] > 0 && write(fds[i], buf, (size_t)len) != len && errno != ESRCH)
                r = cvm_err_set(err, -errno, "host cgroup: move pid %d: %m", (int)pids[k]);
        }
        safe_close(fds[i]);
    }
    return r;
}

/* The first Create of a sandbox whose shim was a claimed warm one (shim/pool): the VM is up
 * already; what a cold boot gets from the spec is applied to it now: the host cgroup (QEMU and
 * its helpers move in), the group and standalone-ness. The shape was checked by `start`
 * (pool_fit); a config that sizes the guest otherwise fails here rather than run mis-sized. */
static int adopt_pooled(struct shim *s, const Containerd__Task__V2__CreateTaskRequest *req,
                        json_t *spec, const char *id, struct cvm_err *err)
{
    json_t *ann = json_object_get(spec, "annotations");
    struct sandbox *sb = s->sb;
    struct cfg cfg;
    bool standalone;
    int r;

    r = load_config(req->options, ann, NULL, &cfg, err);
    if (r < 0 || (r = host_ns_check(spec, cfg.host_namespaces_vm, err)) < 0)
        return r;
    if ((r = join_runc_shim_cgroup(req->options, err)) < 0)
        return r;
    struct host_cgroup *hcg = NULL;
    struct hcg_overhead ov = {0};
    r = host_cgroup_for_sandbox(spec, &cfg, &hcg, &ov, err);
    if (r == 0 && (cfg.vcpus != sb->cfg.vcpus || cfg.memory_mib != sb->cfg.memory_mib))
        r = cvm_err_set(err, -EXDEV,
                        "pooled VM has %u vCPU(s) and %u MiB, the sandbox asks for %u and %u",
                        sb->cfg.vcpus, sb->cfg.memory_mib, cfg.vcpus, cfg.memory_mib);
    if (r == 0 && hcg && (r = host_cgroup_move_vm(sb, hcg, err)) == 0) {
        (void)host_cgroup_record(hcg, sb->run_dir); /* for `delete` after a crash */
        sb->host_cg = hcg;
        hcg = NULL;
        snprintf(sb->host_cg_owner, sizeof(sb->host_cg_owner), "%s", id);
        sb->host_ov = ov;
    }
    host_cgroup_remove(hcg);
    if (r < 0)
        return r;
    if (cfg.debug)
        log_set_level(LOG_LVL_DEBUG);
    const char *g = sandbox_group(ann, id, &standalone);
    snprintf(sb->id, sizeof(sb->id), "%s", g);
    /* CRI's pod netns (CNI done): the taps go there, the task pid lives there */
    if (spec_netns(spec) && (r = sandbox_net_adopt(sb, spec_netns(spec), err)) < 0)
        return r;
    sb->standalone = standalone;
    sb->pooled = false;
    log_info("pooled VM adopted by sandbox %s (qemu pid %d)", sb->id, (int)sb->qemu_pid);
    return 0;
}

static int ensure_sandbox(struct shim *s, const Containerd__Task__V2__CreateTaskRequest *req,
                          json_t *spec, const char *id, struct cvm_err *err)
{
    json_t *ann = json_object_get(spec, "annotations");
    struct cfg cfg;
    int r;

    if (s->sb && s->sb->pooled && TAILQ_EMPTY(&s->sb->containers)) {
        r = adopt_pooled(s, req, spec, id, err);
        if (r < 0)
            return r;
    }
    if (s->sb) {
        /* Later containers join the running VM; their cvm annotations must still be valid. */
        r = load_config(NULL, ann, s->sb, &cfg, err);
        if (r < 0 || (r = host_ns_check(spec, cfg.host_namespaces_vm, err)) < 0)
            return r;
        if (s->sb->state != SB_BOOTING && s->sb->state != SB_READY)
            return cvm_err_setc(err, RPC_FAILED_PRECONDITION, -EBUSY,
                                "sandbox %s is not running (%s): failed precondition", s->sb->id,
                                s->sb->dead_reason[0] ? s->sb->dead_reason : "stopped");
        return 0;
    }
    r = load_config(req->options, ann, NULL, &cfg, err);
    if (r < 0 || (r = host_ns_check(spec, cfg.host_namespaces_vm, err)) < 0)
        return r;
    if (cfg.debug)
        log_set_level(LOG_LVL_DEBUG);
    r = assets_resolve(&cfg, err);
    if (r < 0)
        return r;
    if ((r = join_runc_shim_cgroup(req->options, err)) < 0)
        return r;
    /* linux.cgroupsPath: the VM's host cgroup, with the guest sized to the memory limit */
    struct host_cgroup *hcg = NULL;
    struct hcg_overhead ov = {0};
    r = host_cgroup_for_sandbox(spec, &cfg, &hcg, &ov, err);
    if (r == 0)
        r = cfg_check_host_memory(cfg.memory_mib, host_mem_kib(), err);
    if (r < 0) {
        host_cgroup_remove(hcg);
        return r;
    }
    bool standalone;
    const char *g = sandbox_group(ann, id, &standalone);
    char run_dir[sizeof(s->sb->run_dir)];
    shim_run_dir(s->hash, run_dir, sizeof(run_dir));
    r = sandbox_new(s, s->loop, &task_sandbox_owner, g, run_dir, &cfg, spec_netns(spec), hcg,
                    &s->sb, err);
    if (r == 0) {
        const char *origin = getenv("CVM_POOL_ORIGIN"); /* `start`'s choice, when a pool is on */
        snprintf(s->sb->origin, sizeof(s->sb->origin), "%s", origin ? origin : "");
    }
    if (r == 0)
        s->sb->standalone = standalone; /* a pod or group keeps its VM until the sandbox goes */
    if (r == 0 && hcg) {
        snprintf(s->sb->host_cg_owner, sizeof(s->sb->host_cg_owner), "%s", id);
        s->sb->host_ov = ov;
    }
    return r;
}

void task_create(struct ttrpc_call *call, const uint8_t *pl, size_t n, void *ud)
{
    struct shim *s = ud;
    struct cvm_err err = {0};
    _cleanup_free_ char *raw = NULL;
    size_t raw_len = 0;
    json_t *spec = NULL;
    struct container *c = NULL;
    struct oci_hooks hooks = {0};
    _cleanup_close_ int cfd = -EBADF;
    char staging[SHARE_STAGING_LEN] = ""; /* the share directory's name until published */
    char name[SHARE_NAME_LEN] = "";       /* and after */
    int r;

    TTRPC_DECODE(Containerd__Task__V2__CreateTaskRequest, containerd__task__v2__create_task_request,
                 req, call, pl, n);
    if (!req->id || !shim_valid_identifier(req->id) || strlen(req->id) > 64)
        return (void)ttrpc_call_reply_error(call, RPC_INVALID_ARGUMENT,
                                            "invalid container id \"%.80s\": invalid argument",
                                            req->id ? req->id : "");
    if (!req->bundle || req->bundle[0] != '/' || strlen(req->bundle) >= sizeof(c->bundle))
        return (void)ttrpc_call_reply_error(call, RPC_INVALID_ARGUMENT,
                                            "invalid bundle path: invalid argument");
    if (shim_find_container(s, req->id))
        return (void)ttrpc_call_reply_error(call, RPC_ALREADY_EXISTS,
                                            "container %s: already exists", req->id);
    if (req->checkpoint && *req->checkpoint)
        return (void)ttrpc_call_reply_error(call, RPC_UNIMPLEMENTED,
                                            "restore from checkpoint: not implemented");
    if (s->shutting_down)
        return (void)ttrpc_call_reply_error(call, RPC_FAILED_PRECONDITION,
                                            "shim is shutting down: failed precondition");

    {
        char unused[HCG_PATH_MAX];
        r = runc_options_check(req->options, unused, sizeof(unused), &err);
        if (r < 0) {
            log_error("create %s: %s", req->id, err.msg);
            return (void)ttrpc_call_reply_errno(call, r, &err);
        }
    }
    r = read_spec(req->bundle, &raw, &raw_len, &err);
    if (r == 0 && !(spec = json_loadb(raw, raw_len, 0, NULL)))
        r = cvm_err_set(&err, -EINVAL, "config.json: invalid JSON");
    if (r == 0 && !json_is_object(spec))
        r = cvm_err_set(&err, -EINVAL, "config.json: not an object");
    if (r == 0) /* before the VM boots: a spec we cannot honour fails at once */
        r = hooks_parse(spec, &hooks, &err);
    if (r == 0)
        r = ensure_sandbox(s, req, spec, req->id, &err);
    if (r < 0)
        goto fail;

    c = calloc(1, sizeof(*c));
    if (!c || !(c->init = proc_new(c, ""))) {
        r = cvm_err_set(&err, -ENOMEM, "out of memory");
        goto fail;
    }
    c->sb = s->sb;
    c->hooks = hooks;
    memset(&hooks, 0, sizeof(hooks));
    c->annotations = json_incref(json_object_get(spec, "annotations"));
    snprintf(c->id, sizeof(c->id), "%s", req->id);
    snprintf(c->bundle, sizeof(c->bundle), "%s", req->bundle);
    TAILQ_INIT(&c->execs);
    TAILQ_INSERT_TAIL(&s->sb->containers, c, link);
    struct proc_io *io = &c->init->io;
    snprintf(io->path[STREAM_STDIN], sizeof(io->path[0]), "%s", req->stdin ? req->stdin : "");
    snprintf(io->path[STREAM_STDOUT], sizeof(io->path[0]), "%s", req->stdout ? req->stdout : "");
    snprintf(io->path[STREAM_STDERR], sizeof(io->path[0]), "%s", req->stderr ? req->stderr : "");
    io->terminal = req->terminal;

    r = map_namespaces(c, spec, &err);
    if (r == 0)
        r = share_container_dir(&s->sb->share, c->id, staging, name, &cfd, &err);
    if (r == 0)
        r = mount_rootfs(c, name, cfd, req, spec, &err);
    if (r == 0)
        r = share_bind_mounts(c, name, cfd, spec, &err);
    if (r == 0 && (r = share_publish_container(&s->sb->share, staging, name, &err)) == 0) {
        snprintf(c->share_name, sizeof(c->share_name), "%s", name);
        staging[0] = 0;
    }
    if (r == 0) {
        c->spec_json = json_dumps(spec, JSON_COMPACT);
        c->spec_len = c->spec_json ? strlen(c->spec_json) : 0;
        if (!c->spec_json || c->spec_len > SPEC_MAX)
            r = cvm_err_set(&err, -E2BIG, "rewritten spec too large");
    }
    if (r == 0)
        r = proc_io_open(c->init, &err);
    if (r < 0)
        goto fail;
    json_decref(spec);
    struct agent_op *op = op_new(s, c, c->init, call);
    if (!op) {
        create_rollback(c);
        ttrpc_call_reply_error(call, RPC_RESOURCE_EXHAUSTED, "out of memory");
        return;
    }
    sandbox_when_ready(s->sb, sandbox_ready, op);
    return;
fail:
    hooks_free(&hooks);
    if (spec)
        json_decref(spec);
    if (c && c->sb && staging[0])
        (void)share_remove_container(&c->sb->share, staging);
    if (c && c->sb)
        create_rollback(c);
    else if (c) {
        free(c->init);
        free(c);
    }
    log_error("create %s: %s", req->id, err.msg);
    ttrpc_call_reply_errno(call, r, &err);
}
