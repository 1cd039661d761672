/* cgroup v2 files -> io.containerd.cgroups.v2.Metrics (the fields containerd's cgroups
 * library fills from the same files). Files a controller does not provide stay zero. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup.h"
#include "cleanup.h"
#include "fd.h"

static uint64_t read_u64(const char *cg, const char *file)
{
    char b[64];
    if (cgroup_read_file(cg, file, b, sizeof(b)) < 0 || strncmp(b, "max", 3) == 0)
        return 0;
    return strtoull(b, NULL, 10);
}

#define KV(text, key, dst)                                                                         \
    do {                                                                                           \
        unsigned long long _v;                                                                     \
        if (cgroup_kv_get(text, key, &_v) == 0)                                                    \
            (dst) = _v;                                                                            \
    } while (0)

void cgroup_metrics_free(Io__Containerd__Cgroups__V2__Metrics *m)
{
    free(m->pids);
    free(m->cpu);
    free(m->memory);
    free(m->memory_events);
    if (m->io) {
        for (size_t i = 0; i < m->io->n_usage; i++)
            free(m->io->usage[i]);
        free(m->io->usage);
        free(m->io);
    }
    io__containerd__cgroups__v2__metrics__init(m);
}

static void fill_io(const char *cg, Io__Containerd__Cgroups__V2__Metrics *m, char *buf, size_t sz)
{
    m->io = calloc(1, sizeof(*m->io));
    if (!m->io)
        return;
    io__containerd__cgroups__v2__iostat__init(m->io);
    if (cgroup_read_file(cg, "io.stat", buf, sz) < 0)
        return;
    size_t n = 0;
    for (const char *l = buf; *l; n++) {
        l = strchr(l, '\n');
        if (!l)
            break;
        l++;
    }
    if (n == 0 || n > 256)
        return;
    m->io->usage = calloc(n, sizeof(*m->io->usage));
    if (!m->io->usage)
        return;
    for (char *l = buf, *next; l && *l; l = next) {
        unsigned maj, min;
        next = strchr(l, '\n');
        if (next)
            *next++ = '\0';
        if (m->io->n_usage >= n || sscanf(l, "%u:%u", &maj, &min) != 2)
            continue;
        Io__Containerd__Cgroups__V2__IOEntry *e = calloc(1, sizeof(*e));
        if (!e)
            return;
        io__containerd__cgroups__v2__ioentry__init(e);
        e->major = maj;
        e->minor = min;
        for (char *t = strchr(l, ' '); t; t = strchr(t + 1, ' ')) {
            unsigned long long v;
            char k[16];
            if (sscanf(t + 1, "%15[a-z]=%llu", k, &v) != 2)
                continue;
            if (!strcmp(k, "rbytes"))
                e->rbytes = v;
            else if (!strcmp(k, "wbytes"))
                e->wbytes = v;
            else if (!strcmp(k, "rios"))
                e->rios = v;
            else if (!strcmp(k, "wios"))
                e->wios = v;
        }
        m->io->usage[m->io->n_usage++] = e;
    }
}

int cgroup_stats(const char *cg, Io__Containerd__Cgroups__V2__Metrics *m)
{
    char *buf = malloc(16384);
    if (!buf)
        return -ENOMEM;
    io__containerd__cgroups__v2__metrics__init(m);
    m->pids = calloc(1, sizeof(*m->pids));
    m->cpu = calloc(1, sizeof(*m->cpu));
    m->memory = calloc(1, sizeof(*m->memory));
    m->memory_events = calloc(1, sizeof(*m->memory_events));
    if (!m->pids || !m->cpu || !m->memory || !m->memory_events) {
        free(buf);
        cgroup_metrics_free(m);
        return -ENOMEM;
    }
    io__containerd__cgroups__v2__pids_stat__init(m->pids);
    io__containerd__cgroups__v2__cpustat__init(m->cpu);
    io__containerd__cgroups__v2__memory_stat__init(m->memory);
    io__containerd__cgroups__v2__memory_events__init(m->memory_events);

    m->pids->current = read_u64(cg, "pids.current");
    m->pids->limit = read_u64(cg, "pids.max");
    if (cgroup_read_file(cg, "cpu.stat", buf, 16384) >= 0) {
        KV(buf, "usage_usec", m->cpu->usage_usec);
        KV(buf, "user_usec", m->cpu->user_usec);
        KV(buf, "system_usec", m->cpu->system_usec);
        KV(buf, "nr_periods", m->cpu->nr_periods);
        KV(buf, "nr_throttled", m->cpu->nr_throttled);
        KV(buf, "throttled_usec", m->cpu->throttled_usec);
    }
    Io__Containerd__Cgroups__V2__MemoryStat *ms = m->memory;
    if (cgroup_read_file(cg, "memory.stat", buf, 16384) >= 0) {
        KV(buf, "anon", ms->anon);
        KV(buf, "file", ms->file);
        KV(buf, "kernel_stack", ms->kernel_stack);
        KV(buf, "slab", ms->slab);
        KV(buf, "sock", ms->sock);
        KV(buf, "shmem", ms->shmem);
        KV(buf, "file_mapped", ms->file_mapped);
        KV(buf, "file_dirty", ms->file_dirty);
        KV(buf, "file_writeback", ms->file_writeback);
        KV(buf, "anon_thp", ms->anon_thp);
        KV(buf, "inactive_anon", ms->inactive_anon);
        KV(buf, "active_anon", ms->active_anon);
        KV(buf, "inactive_file", ms->inactive_file);
        KV(buf, "active_file", ms->active_file);
        KV(buf, "unevictable", ms->unevictable);
        KV(buf, "slab_reclaimable", ms->slab_reclaimable);
        KV(buf, "slab_unreclaimable", ms->slab_unreclaimable);
        KV(buf, "pgfault", ms->pgfault);
        KV(buf, "pgmajfault", ms->pgmajfault);
        KV(buf, "workingset_refault", ms->workingset_refault);
        KV(buf, "workingset_activate", ms->workingset_activate);
        KV(buf, "workingset_nodereclaim", ms->workingset_nodereclaim);
        KV(buf, "pgrefill", ms->pgrefill);
        KV(buf, "pgscan", ms->pgscan);
        KV(buf, "pgsteal", ms->pgsteal);
        KV(buf, "pgactivate", ms->pgactivate);
        KV(buf, "pgdeactivate", ms->pgdeactivate);
        KV(buf, "pglazyfree", ms->pglazyfree);
        KV(buf, "pglazyfreed", ms->pglazyfreed);
        KV(buf, "thp_fault_alloc", ms->thp_fault_alloc);
        KV(buf, "thp_collapse_alloc", ms->thp_collapse_alloc);
    }
    ms->usage = read_u64(cg, "memory.current");
    ms->usage_limit = read_u64(cg, "memory.max");
    ms->swap_usage = read_u64(cg, "memory.swap.current");
    ms->swap_limit = read_u64(cg, "memory.swap.max");
    if (cgroup_read_file(cg, "memory.events", buf, 16384) >= 0) {
        KV(buf, "low", m->memory_events->low);
        KV(buf, "high", m->memory_events->high);
        KV(buf, "max", m->memory_events->max);
        KV(buf, "oom", m->memory_events->oom);
        KV(buf, "oom_kill", m->memory_events->oom_kill);
    }
    fill_io(cg, m, buf, 16384);
    free(buf);
    return 0;
}
