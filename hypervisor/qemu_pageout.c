/* QEMU's mappings of the guest kernel and initrd, paged out once the guest runs.
 *
 * QEMU maps both files for the life of the VM: the PVH kernel's ELF segments are ROM blobs it
 * would copy into guest RAM again on a reset, the initrd is fw_cfg data the guest firmware
 * reads once. After boot nothing reads them (the guest has its copies in its own RAM), yet
 * the pages stay in QEMU's page tables: 15.8 MB of our vmlinux and 0.5 MB of initrd measured
 * in one idle QEMU's RSS, the largest single item after the guest RAM and the TCG cache (PSS
 * splits it between sandboxes, so one sandbox alone carries all of it).
 *
 * process_madvise(MADV_PAGEOUT) on QEMU's pidfd takes those file pages out of its page
 * tables (and out of the page cache when nothing else maps them). It is a hint: QEMU's view
 * of the files does not change, a reset that reads them again faults them back in from the
 * file. The ranges come from /proc/PID/maps, matched by device and inode of the very files
 * QEMU inherited (never by path); QEMU may be hostile and map what it likes, but the worst a
 * forged match does is page out more of QEMU itself. Needs CAP_SYS_NICE (the shim is root);
 * failures are logged and cost memory, never correctness. */
#define LOG_MODULE "hv"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <unistd.h>

#include "cleanup.h"
#include "hv_internal.h"
#include "log.h"
#include "loop.h"

#ifndef SYS_process_madvise
#define SYS_process_madvise 440
#endif
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif

/* QEMU's maps: ~300 lines, ~30 KiB. Anything beyond MAPS_MAX is not read (a hostile QEMU
 * mapping thousands of regions only loses its own pageout). */
#define MAPS_MAX (1024 * 1024)
#define RANGES_MAX 16 /* per file: each PT_LOAD segment is one mapping, vmlinux has 4 */

void hv_qemu_boot_files_note(struct hv_vm *vm, int kernel_fd, int initrd_fd)
{
    int fds[2] = {kernel_fd, initrd_fd};
    struct stat st;
    vm->n_boot_files = 0;
    for (size_t i = 0; i < ELEMENTSOF(fds); i++) {
        if (fds[i] < 0 || fstat(fds[i], &st) < 0)
            continue;
        vm->boot_files[vm->n_boot_files++] = (struct proc_maps_file){
            .major = major(st.st_dev), .minor = minor(st.st_dev), .ino = (uint64_t)st.st_ino};
    }
}

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

int hv_qemu_pageout_boot_files(struct hv_vm *vm)
{
    struct iovec iov[RANGES_MAX * ELEMENTSOF(vm->boot_files)];
    struct proc_maps_range r[RANGES_MAX];
    _cleanup_free_ char *maps = NULL;
    size_t len = 0, n_iov = 0, bytes = 0;
    pid_t pid = hv_proc_pid(vm->qemu);
    int pidfd = hv_proc_pidfd(vm->qemu), ret;

    if (pid <= 0 || pidfd < 0)
        return -ESRCH;
    ret = hv_read_proc_maps(pid, &maps, &len);
    if (ret < 0)
        return ret;
    for (unsigned f = 0; f < vm->n_boot_files; f++) {
        size_t n = proc_maps_file_ranges(maps, len, &vm->boot_files[f], r, RANGES_MAX);
        for (size_t i = 0; i < MIN(n, (size_t)RANGES_MAX); i++) {
            iov[n_iov++] = (struct iovec){(void *)(uintptr_t)r[i].start, r[i].end - r[i].start};
            bytes += r[i].end - r[i].start;
        }
    }
    if (n_iov == 0)
        return 0;
    /* The pidfd names our QEMU even if the pid read above was reused meanwhile: at worst the
     * ranges are stale and the hint lands on nothing. */
    if (syscall(SYS_process_madvise, pidfd, iov, n_iov, MADV_PAGEOUT, 0) < 0)
        return -errno;
    return (int)MIN(bytes, (size_t)INT32_MAX);
}

static void on_pageout(struct loop_source *s, void *data)
{
    struct hv_vm *vm = data;
    int r;
    (void)s;
    vm->pageout_timer = loop_source_free(vm->pageout_timer);
    if (!hv_proc_running(vm->qemu))
        return;
    r = hv_qemu_pageout_boot_files(vm);
    if (r < 0)
        log_info("QEMU's kernel/initrd mappings stay resident (process_madvise: %s)", strerror(-r));
    else
        log_debug("paged out QEMU's kernel/initrd mappings (%d KiB of address space)", r / 1024);
}

void hv_qemu_pageout_arm(struct hv_vm *vm)
{
    int r;
    if (vm->n_boot_files == 0 || vm->pageout_timer)
        return;
    r = loop_add_timer(vm->loop, (uint64_t)HV_PAGEOUT_DELAY_MS * 1000, on_pageout, vm,
                       &vm->pageout_timer);
    if (r < 0)
        log_info("no pageout of QEMU's kernel/initrd mappings (timer: %s)", strerror(-r));
}
