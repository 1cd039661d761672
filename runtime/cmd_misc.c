/* update, ps, events: the calls the clients make beside the lifecycle.
 *
 * ps --format json answers host pids, as runc's does: Docker's `top` runs the host's ps and
 * keeps the rows of those pids. The container's processes live in the guest, so the one host
 * process that stands for the container is given: the monitor. The table format lists the
 * guest's processes (guest pids). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cgroups/v2/metrics.pb-c.h"
#include "cleanup.h"
#include "containerd/task/v2/shim.pb-c.h"
#include "fd.h"
#include "rt.h"

#define RESOURCES_MAX (1u << 20)
#define RESOURCES_URL "types.containerd.io/opencontainers/runtime-spec/1/LinuxResources"

static int connect_running(struct rt_ctx *ctx, const char *id, struct rt_shim **sh)
{
    struct rt_state st;
    int r = rt_state_load(ctx, id, &st);
    if (r == -ENOENT)
        return rt_err(ctx, "container does not exist");
    if (r < 0)
        return rt_err(ctx, "state of %s: %s", id, strerror(-r));
    if (rt_shim_connect(ctx, id, sh) < 0)
        return rt_err(ctx, "container not running");
    return 0;
}

/* runc's single-value flags, as the LinuxResources members they set. */
static int resources_from_flags(const struct rt_args *a, json_t *res)
{
    static const struct {
        const char *flag, *group, *key;
        bool str;
    } map[] = {
        {"memory", "memory", "limit", false},
        {"memory-reservation", "memory", "reservation", false},
        {"memory-swap", "memory", "swap", false},
        {"cpu-period", "cpu", "period", false},
        {"cpu-quota", "cpu", "quota", false},
        {"cpu-share", "cpu", "shares", false},
        {"cpuset-cpus", "cpu", "cpus", true},
        {"cpuset-mems", "cpu", "mems", true},
        {"pids-limit", "pids", "limit", false},
        {"blkio-weight", "blockIO", "weight", false},
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        const char *v = rt_flag(a, map[i].flag);
        if (!v)
            continue;
        json_t *g = json_object_get(res, map[i].group);
        if (!g) {
            g = json_object();
            json_object_set_new(res, map[i].group, g);
        }
        if (map[i].str) {
            json_object_set_new(g, map[i].key, json_string(v));
            continue;
        }
        char *end;
        errno = 0;
        long long n = strtoll(v, &end, 10);
        if (errno || *end || end == v)
            return -EINVAL;
        json_object_set_new(g, map[i].key, json_integer(n));
    }
    return 0;
}

int rt_cmd_update(struct rt_ctx *ctx)
{
    const char *id = rt_id_operand(ctx), *rfile = rt_flag(ctx->a, "resources"), *msg;
    struct rt_shim *sh;
    json_error_t je;
    json_t *res;
    if (!id)
        return 1;
    if (rfile) {
        int fd = strcmp(rfile, "-") == 0 ? 0 : open(rfile, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return rt_err(ctx, "open %s: %m", rfile);
        _cleanup_free_ char *buf = malloc(RESOURCES_MAX);
        ssize_t n = buf ? read_all(fd, buf, RESOURCES_MAX) : -ENOMEM;
        if (fd != 0)
            close(fd);
        if (n < 0)
            return rt_err(ctx, "read %s: %s", rfile, strerror((int)-n));
        res = json_loadb(buf, (size_t)n, 0, &je);
        if (!res || !json_is_object(res)) {
            json_decref(res);
            return rt_err(ctx, "decode resources: %s", je.text);
        }
    } else {
        res = json_object();
    }
    if (resources_from_flags(ctx->a, res) < 0) {
        json_decref(res);
        return rt_err(ctx, "update: a numeric flag has a value that is not a number");
    }
    _cleanup_free_ char *text = json_dumps(res, JSON_COMPACT);
    json_decref(res);
    if (!text)
        return rt_err(ctx, "out of memory");
    if (connect_running(ctx, id, &sh))
        return 1;
    Containerd__Task__V2__UpdateTaskRequest req = CONTAINERD__TASK__V2__UPDATE_TASK_REQUEST__INIT;
    Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
    any.type_url = RESOURCES_URL;
    any.value.data = (uint8_t *)text;
    any.value.len = strlen(text);
    req.id = (char *)id;
    req.resources = &any;
    int r = rt_shim_call(sh, "Update", &req.base, RT_CALL_TIMEOUT_NS, NULL, NULL, &msg);
    rt_shim_close(sh);
    return r < 0 ? rt_err(ctx, "update %s: %s", id, msg) : 0;
}

int rt_cmd_ps(struct rt_ctx *ctx)
{
    const char *id = rt_id_operand(ctx), *fmt = rt_flag(ctx->a, "format"), *msg;
    struct rt_shim *sh;
    if (!id)
        return 1;
    if (fmt && strcmp(fmt, "json") != 0 && strcmp(fmt, "table") != 0)
        return rt_err(ctx, "invalid format option");
    if (connect_running(ctx, id, &sh))
        return 1;
    if (fmt && strcmp(fmt, "json") == 0) {
        rt_shim_close(sh);
        pid_t mon = rt_monitor_pid(ctx, id, NULL);
        if (mon > 0)
            printf("[%d]\n", (int)mon);
        else
            printf("[]\n");
        return 0;
    }
    Containerd__Task__V2__PidsRequest req = CONTAINERD__TASK__V2__PIDS_REQUEST__INIT;
    _cleanup_free_ uint8_t *out = NULL;
    size_t len;
    req.id = (char *)id;
    int r = rt_shim_call(sh, "Pids", &req.base, RT_CALL_TIMEOUT_NS, &out, &len, &msg);
    rt_shim_close(sh);
    if (r < 0)
        return rt_err(ctx, "ps %s: %s", id, msg);
    Containerd__Task__V2__PidsResponse *p =
        containerd__task__v2__pids_response__unpack(NULL, len, out);
    if (!p)
        return rt_err(ctx, "ps %s: undecodable answer", id);
    printf("GUEST-PID\n");
    for (size_t i = 0; i < p->n_processes; i++)
        printf("%u\n", p->processes[i]->pid);
    containerd__task__v2__pids_response__free_unpacked(p, NULL);
    return 0;
}

/* One runc "stats" event from the guest cgroup's metrics (cgroup v2 names, runc's layout). */
static int print_stats(struct rt_ctx *ctx, struct rt_shim *sh, const char *id)
{
    Containerd__Task__V2__StatsRequest req = CONTAINERD__TASK__V2__STATS_REQUEST__INIT;
    _cleanup_free_ uint8_t *out = NULL;
    size_t len;
    const char *msg;
    req.id = (char *)id;
    if (rt_shim_call(sh, "Stats", &req.base, RT_CALL_TIMEOUT_NS, &out, &len, &msg) < 0)
        return rt_err(ctx, "events %s: %s", id, msg);
    Containerd__Task__V2__StatsResponse *sr =
        containerd__task__v2__stats_response__unpack(NULL, len, out);
    Io__Containerd__Cgroups__V2__Metrics *m = NULL;
    if (sr && sr->stats && sr->stats->type_url &&
        strcmp(sr->stats->type_url, "io.containerd.cgroups.v2.Metrics") == 0)
        m = io__containerd__cgroups__v2__metrics__unpack(NULL, sr->stats->value.len,
                                                         sr->stats->value.data);
    if (sr)
        containerd__task__v2__stats_response__free_unpacked(sr, NULL);
    if (!m)
        return rt_err(ctx, "events %s: no cgroup v2 metrics in the answer", id);
    json_t *data = json_object();
    if (m->cpu)
        json_object_set_new(data, "cpu",
                            json_pack("{s:{s:I, s:I, s:I}, s:{s:I, s:I, s:I}}", "usage", "total",
                                      (json_int_t)(m->cpu->usage_usec * 1000), "user",
                                      (json_int_t)(m->cpu->user_usec * 1000), "kernel",
                                      (json_int_t)(m->cpu->system_usec * 1000), "throttling",
                                      "periods", (json_int_t)m->cpu->nr_periods, "throttledPeriods",
                                      (json_int_t)m->cpu->nr_throttled, "throttledTime",
                                      (json_int_t)(m->cpu->throttled_usec * 1000)));
    if (m->memory)
        json_object_set_new(data, "memory",
                            json_pack("{s:{s:I, s:I}}", "usage", "usage",
                                      (json_int_t)m->memory->usage, "limit",
                                      (json_int_t)m->memory->usage_limit));
    if (m->pids)
        json_object_set_new(data, "pids",
                            json_pack("{s:I, s:I}", "current", (json_int_t)m->pids->current,
                                      "limit", (json_int_t)m->pids->limit));
    io__containerd__cgroups__v2__metrics__free_unpacked(m, NULL);
    json_t *ev = json_pack("{s:s, s:s, s:o}", "type", "stats", "id", id, "data", data);
    _cleanup_free_ char *s = ev ? json_dumps(ev, JSON_COMPACT) : NULL;
    json_decref(ev);
    if (!s)
        return rt_err(ctx, "out of memory");
    printf("%s\n", s);
    fflush(stdout);
    return 0;
}

/* events --stats: one stats event. events: a stats event every --interval (default 5 s) until
 * the container stops (runc also streams OOM events; the guest's OOM kills show in the exit
 * status here). */
int rt_cmd_events(struct rt_ctx *ctx)
{
    const char *id = rt_id_operand(ctx), *iv = rt_flag(ctx->a, "interval");
    struct rt_shim *sh;
    long secs = 5;
    if (!id)
        return 1;
    if (iv && (parse_long(iv, 1, 3600, &secs) < 0))
        return rt_err(ctx, "events: --interval takes whole seconds (1..3600)");
    if (connect_running(ctx, id, &sh))
        return 1;
    int r = print_stats(ctx, sh, id);
    while (r == 0 && !rt_flag_bool(ctx->a, "stats")) {
        struct timespec ts = {secs, 0};
        nanosleep(&ts, NULL);
        r = print_stats(ctx, sh, id);
    }
    rt_shim_close(sh);
    return rt_flag_bool(ctx->a, "stats") ? r : 0;
}
