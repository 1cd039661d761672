/* QEMU's file mappings, paged out once the guest runs and whenever QEMU goes idle.
 *
 * QEMU maps its own binary (~9 MB of text, relocations and read-only data for ours, ~20 MB
 * for Debian's with its ~50 libraries), its libraries, and the guest kernel and initrd (the
 * PVH kernel's ELF segments are ROM blobs it would copy into guest RAM again on a reset, the
 * initrd is fw_cfg data the guest firmware reads once; QEMU maps the kernel rw-p, clean). Booting touches a lot of that once:
 * 15.8 MB of our vmlinux, 0.5 MB of initrd and ~20 MB of QEMU's own files measured in one
 * idle QEMU's PSS, after the guest RAM the largest item (PSS splits a page between the
 * processes mapping it, so one sandbox alone carries all of it). An idle QEMU runs ~3 MB.
 *
 * process_madvise(MADV_PAGEOUT) on QEMU's pidfd takes those clean file pages out of its page
 * tables and out of the page cache; the kernel leaves a page that another process maps too
 * (another QEMU, any user of libc), so this never costs the rest of the host. It is a hint:
 * QEMU's view of its files does not change, and what it runs again faults back in (an exec
 * into an idle sandbox measured 0.16 s after the pageout against 0.13 s). So it runs at
 * moments QEMU does not need them: HV_PAGEOUT_FIRST_MS after QMP ready (the guest has its
 * kernel and initrd by then), and then at the first idle tick after a busy one, once per busy
 * period. A tick is HV_IDLE_TICK_MS; in a busy one QEMU used at least HV_BUSY_MIN_PERMILLE of
 * a CPU, in an idle one under HV_IDLE_MAX_PERMILLE (its utime + stime from /proc/PID/stat);
 * between the two nothing changes, so an idle guest's jitter never pages out again what its
 * idle loop runs (that would read it back from disk each time). A VM that keeps busy is never
 * paged out; an idle one costs a read of its stat file per tick. A guest that toggles busy
 * and idle makes its QEMU read back what it runs every other tick at most: its own I/O. A
 * warm pool's VM is held (hv_hold_pageout) until its claim: its claim runs those pages.
 *
 * The ranges come from /proc/PID/maps: QEMU's private and read-only mappings of regular files
 * (proc_maps.h: its written pages in them are anonymous, which the kernel pages out only to
 * swap), never its guest RAM, TCG cache, devices or anonymous memory. QEMU may be
 * hostile and map what it likes, but the worst a forged line does is page out more of QEMU
 * itself. Needs CAP_SYS_NICE (the shim is root); failures are logged and cost memory, never
 * correctness. */
#define LOG_MODULE "hv"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "cleanup.h"
#include "hv_internal.h"
#include "log.h"
#include "loop.h"
#include "proc_maps.h"
#include "proc_stat.h"

#ifndef SYS_process_madvise
#define SYS_process_madvise 440
#endif
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif

/* QEMU's maps: ~300 lines, ~30 KiB, ~210 of them files to page out. Anything beyond MAPS_MAX is
 * not read and beyond RANGES_MAX not advised (a hostile QEMU mapping thousands of regions
 * only loses its own pageout). */
#define MAPS_MAX (1024 * 1024)
#define RANGES_MAX 1024 /* UIO_MAXIOV: process_madvise takes no more in one call */

int hv_read_proc_maps(pid_t pid, char **ret, size_t *ret_len)
{
    char path[64];
    _cleanup_close_ int fd = -EBADF;
    _cleanup_free_ char *buf = NULL;
    size_t len = 0, cap = 64 * 1024;
    snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    buf = malloc(cap);
    if (!buf)
        return -ENOMEM;
    for (;;) {
        ssize_t n;
        if (len == cap) {
            char *nb;
            if (cap >= MAPS_MAX)
                break;
            cap *= 2;
            nb = realloc(buf, cap);
            if (!nb)
                return -ENOMEM;
            buf = nb;
        }
        n = read(fd, buf + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            break;
        len += (size_t)n;
    }
    *ret = TAKE_PTR(buf);
    *ret_len = len;
    return 0;
}

int hv_qemu_pageout_files(struct hv_vm *vm)
{
    static struct iovec iov[RANGES_MAX]; /* 16 KiB; one loop, no threads */
    static struct proc_maps_range r[RANGES_MAX];
    _cleanup_free_ char *maps = NULL;
    size_t len = 0, n, bytes = 0;
    pid_t pid = hv_proc_pid(vm->qemu);
    int pidfd = hv_proc_pidfd(vm->qemu), ret;

    if (pid <= 0 || pidfd < 0)
        return -ESRCH;
    ret = hv_read_proc_maps(pid, &maps, &len);
    if (ret < 0)
        return ret;
    n = MIN(proc_maps_file_backed(maps, len, r, RANGES_MAX), (size_t)RANGES_MAX);
    for (size_t i = 0; i < n; i++) {
        iov[i] = (struct iovec){(void *)(uintptr_t)r[i].start, r[i].end - r[i].start};
        bytes += r[i].end - r[i].start;
    }
    if (n == 0)
        return 0;
    /* The pidfd names our QEMU even if the pid read above was reused meanwhile: at worst the
     * ranges are stale and the hint lands on nothing. One range QEMU unmapped meanwhile ends
     * the call there (-ENOMEM): the rest waits for the next idle tick. */
    if (syscall(SYS_process_madvise, pidfd, iov, n, MADV_PAGEOUT, 0) < 0)
        return -errno;
    return (int)MIN(bytes, (size_t)INT32_MAX);
}

/* QEMU's CPU time so far, in clock ticks. */
static int qemu_cpu_ticks(struct hv_vm *vm, uint64_t *ticks)
{
    char path[64], buf[1024];
    _cleanup_close_ int fd = -EBADF;
    pid_t pid = hv_proc_pid(vm->qemu);
    ssize_t n;
    if (pid <= 0)
        return -ESRCH;
    /* our unreaped child: the pid stays QEMU's until we reap it */
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    n = read(fd, buf, sizeof(buf));
    if (n < 0)
        return -errno;
    return proc_stat_cpu_ticks(buf, (size_t)n, ticks);
}

void hv_hold_pageout(struct hv_vm *vm, bool hold)
{
    if (!vm)
        return;
    vm->pageout_held = hold;
    if (!hold)
        vm->pageout_busy = true; /* the claim's start is busy: page out once it is idle */
}

static void pageout(struct hv_vm *vm, const char *when)
{
    int r;
    if (vm->pageout_held)
        return;
    r = hv_qemu_pageout_files(vm);
    if (r < 0)
        log_info("QEMU's file mappings stay resident (%s; process_madvise: %s)", when,
                 strerror(-r));
    else
        log_debug("paged out QEMU's file mappings (%s; %d KiB of address space)", when, r / 1024);
}

static void rearm(struct hv_vm *vm)
{
    if (loop_timer_set(vm->pageout_timer, (uint64_t)HV_IDLE_TICK_MS * 1000) < 0)
        vm->pageout_timer = loop_source_free(vm->pageout_timer);
}

static void report_idle(struct hv_vm *vm)
{
    rearm(vm);
    if (!vm->cb.idle || vm->free_requested)
        return;
    vm->in_callback++;
    vm->cb.idle(vm, vm->cb.data);
    vm->in_callback--;
}

static void on_idle_tick(struct loop_source *s, void *data)
{
    struct hv_vm *vm = data;
    uint64_t ticks = 0, used, permille;
    long hz = sysconf(_SC_CLK_TCK);
    (void)s;
    if (!hv_proc_running(vm->qemu)) {
        vm->pageout_timer = loop_source_free(vm->pageout_timer);
        return;
    }
    if (qemu_cpu_ticks(vm, &ticks) < 0 || hz <= 0) {
        /* nothing to judge idleness by: page out the boot's once, as if always busy */
        if (!vm->pageout_first_done)
            pageout(vm, "after boot");
        vm->pageout_timer = loop_source_free(vm->pageout_timer);
        return;
    }
    used = ticks - MIN(ticks, vm->pageout_cpu_ticks);
    vm->pageout_cpu_ticks = ticks;
    permille = used * 1000 * 1000 / ((uint64_t)hz * HV_IDLE_TICK_MS);
    if (!vm->pageout_first_done) {
        vm->pageout_first_done = true;
        vm->pageout_busy = false;
        pageout(vm, "after boot");
    } else if (permille >= HV_BUSY_MIN_PERMILLE) {
        vm->pageout_busy = true;
        vm->idle_ticks = 0;
        vm->idle_reported = false;
    } else if (permille < HV_IDLE_MAX_PERMILLE) {
        if (vm->pageout_busy) {
            vm->pageout_busy = false;
            pageout(vm, "idle");
        }
        vm->idle_ticks++;
        if (vm->idle_ms && !vm->idle_reported &&
            (uint64_t)vm->idle_ticks * HV_IDLE_TICK_MS >= vm->idle_ms) {
            vm->idle_reported = true;
            report_idle(vm);
            return; /* re-armed before the call: hv_free from it defers the release */
        }
    } else {
        vm->idle_ticks = 0;
    }
    rearm(vm);
}

void hv_qemu_pageout_arm(struct hv_vm *vm)
{
    int r;
    if (vm->pageout_timer)
        return;
    vm->pageout_first_done = vm->pageout_busy = vm->idle_reported = false;
    vm->pageout_cpu_ticks = 0;
    vm->idle_ticks = 0;
    r = loop_add_timer(vm->loop, (uint64_t)HV_PAGEOUT_FIRST_MS * 1000, on_idle_tick, vm,
                       &vm->pageout_timer);
    if (r < 0)
        log_info("no pageout of QEMU's file mappings (timer: %s)", strerror(-r));
}
