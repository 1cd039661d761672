/* Giving back the part of TCG's translation cache that holds only flushed code.
 *
 * A VM started with hv_config.tcg_trimmable (-accel tcg,tb-size=N,split-wx=on: the warm pool's,
 * and every one-vCPU VM while config tcg_idle_reset_s is set) has its translation cache in a
 * memfd, "tcg-jit", mapped twice: written through an rw-s mapping, run through an r-xs one.
 * (QEMU's default is an anonymous rwx mapping, which it asks for as transparent huge pages;
 * the memfd's are 4 KiB pages where the host's shmem_enabled is "never", Debian's default. A
 * cold `ctr run` measured ~100 ms slower of ~1.7 s with split-wx, within the spread, and CPU
 * work in a running pod no slower: README "Memory".) A flush (the cache was full) drops every
 * translation and starts again from the front, so after one, the bytes beyond what was
 * generated since are dead code nothing can jump to; but their pages stay host memory of
 * ours. A warm pool's VM has just been flushed on purpose, and so has an idle sandbox's
 * (shim/sandbox/code_cache_reset.h), so most of its cache is such pages.
 *
 * x-query-jit says how much was generated since the flush (`used`, of `capacity`); with one
 * vCPU, QEMU 7.2 gives the whole cache to one region that fills from the front after the
 * prologue, so everything live lies within the first (size - capacity) + used bytes. We keep
 * that plus a margin and punch a hole in the rest (fallocate PUNCH_HOLE: the pages leave both
 * mappings; QEMU writes fresh zero pages when it gets there). With several vCPUs the cache is
 * split into regions used in turn, and nothing is trimmed.
 *
 * The VM is not paused: QMP stop/cont stops and restarts the vhost-user devices, and the
 * guest's vsock connections did not survive it (measured: the agent connection was lost). The
 * punch follows the figures in the same loop callback instead, with a margin (TRIM_MARGIN, 4
 * MiB) far above what TCG generates meanwhile: a boot generates ~34 MiB in ~1.2 s, under
 * 30 MB/s at full speed, so 4 MiB is over 100 ms of translating; a warm VM is idle, at
 * SCHED_IDLE behind this shim's SCHED_OTHER, and an idle sandbox has been idle for seconds
 * (under 5 % of a CPU) before its reset, whose fresh code is the last thing it ran. Should a
 * guest outrun it anyway, QEMU runs a zeroed page and that VM, and only it, dies.
 *
 * The memfd is reached through /proc/PID/map_files/<range> of our QEMU (root only; QEMU is
 * our child, so its pid cannot be reused before we reap it, which happens on this loop). A
 * hostile QEMU chooses its mappings: the file opened must be a deleted regular file mapped
 * rw-s at offset 0 by QEMU both before and after we opened it, so QEMU itself could write,
 * and punch, whatever we punch. */
#define LOG_MODULE "hv"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cleanup.h"
#include "errmap.h"
#include "hv_internal.h"
#include "jit_stats.h"
#include "proc_maps.h"

#define TCG_JIT_MAP "/memfd:tcg-jit (deleted)"
#define TRIM_MARGIN (4ull << 20) /* kept past the live code: see above */
#define PAGE 4096ull

struct trim {
    struct hv_vm *vm;
    hv_trim_cb cb;
    void *data;
    uint64_t bytes; /* memory given back */
    char msg[200];
};

/* The one rw-s mapping of the cache in QEMU's maps, or -errno. */
static int find_cache(pid_t pid, struct proc_maps_mapping *m)
{
    _cleanup_free_ char *maps = NULL;
    size_t len = 0, n;
    int r = hv_read_proc_maps(pid, &maps, &len);
    if (r < 0)
        return r;
    n = proc_maps_named(maps, len, "rw-s", TCG_JIT_MAP, m, 1);
    if (n != 1 || m->offset != 0)
        return n == 0 ? -ENOENT : -EPROTO;
    return 0;
}

static int trim_now(struct trim *t, const struct jit_stats *st)
{
    struct proc_maps_mapping m, again;
    pid_t pid = hv_proc_pid(t->vm->qemu);
    char path[96];
    _cleanup_close_ int fd = -EBADF;
    struct stat before, after;
    uint64_t keep;
    int r;

    if (pid <= 0)
        return -ESRCH;
    r = find_cache(pid, &m);
    if (r < 0) {
        snprintf(t->msg, sizeof(t->msg), "QEMU has no single writable %s mapping", TCG_JIT_MAP);
        return r;
    }
    snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx", (int)pid,
             (unsigned long long)m.range.start, (unsigned long long)m.range.end);
    fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        r = -errno;
        snprintf(t->msg, sizeof(t->msg), "%s: %s", path, strerror(-r));
        return r;
    }
    if (fstat(fd, &before) < 0)
        return -errno;
    if (!S_ISREG(before.st_mode) || before.st_nlink != 0 || before.st_ino != m.file.ino ||
        major(before.st_dev) != m.file.major || minor(before.st_dev) != m.file.minor ||
        (uint64_t)before.st_size < st->code_capacity ||
        (uint64_t)before.st_size < m.range.end - m.range.start) {
        snprintf(t->msg, sizeof(t->msg), "%s is not QEMU's translation cache", path);
        return -EPROTO;
    }
    /* still QEMU's writable mapping of that very file, now that we hold it */
    r = find_cache(pid, &again);
    if (r < 0 || again.file.ino != m.file.ino || again.file.major != m.file.major ||
        again.file.minor != m.file.minor) {
        snprintf(t->msg, sizeof(t->msg), "QEMU's %s mapping changed while opened", TCG_JIT_MAP);
        return r < 0 ? r : -EPROTO;
    }
    keep = (uint64_t)before.st_size - st->code_capacity + st->code_used + TRIM_MARGIN;
    keep = (keep + PAGE - 1) & ~(PAGE - 1);
    if (keep >= (uint64_t)before.st_size)
        return 0;
    if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)keep,
                  (off_t)((uint64_t)before.st_size - keep)) < 0) {
        r = -errno;
        snprintf(t->msg, sizeof(t->msg), "punching %s: %s", path, strerror(-r));
        return r;
    }
    if (fstat(fd, &after) == 0 && after.st_blocks < before.st_blocks)
        t->bytes = (uint64_t)(before.st_blocks - after.st_blocks) * 512;
    return 0;
}

static void measured(struct hv_vm *vm, int r, const struct jit_stats *st, void *data)
{
    struct trim *t = data;
    struct trim done = *t;
    free(t);
    if (r == 0)
        r = trim_now(&done, st);
    else if (r != -ECANCELED)
        snprintf(done.msg, sizeof(done.msg), "QMP x-query-jit: %s", strerror(-r));
    if (r < 0 && !done.msg[0])
        snprintf(done.msg, sizeof(done.msg), "%s", strerror(-r));
    done.cb(vm, r, r < 0 ? done.msg : NULL, done.bytes, done.data);
}

int hv_trim_code_cache(struct hv_vm *vm, hv_trim_cb cb, void *data, struct cvm_err *err)
{
    struct trim *t;
    int r;
    if (vm->accel.kvm)
        return cvm_err_set(err, -EOPNOTSUPP, "no translation cache under KVM");
    if (!vm->tcg_trimmable)
        return cvm_err_set(err, -EOPNOTSUPP, "the VM was started without split-wx");
    if (vm->vcpus > 1)
        return cvm_err_set(err, -EOPNOTSUPP,
                           "%u vCPUs: the translation cache is split into regions used in turn",
                           vm->vcpus);
    t = calloc(1, sizeof(*t));
    if (!t)
        return cvm_err_set(err, -ENOMEM, "trim");
    *t = (struct trim){.vm = vm, .cb = cb, .data = data};
    r = hv_query_jit(vm, measured, t, err);
    if (r < 0)
        free(t);
    return r;
}
