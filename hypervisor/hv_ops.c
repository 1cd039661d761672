/* QMP operations on a running VM (pause, resume, status, TCG cache figures) and the VM's
 * accessors. */
#define LOG_MODULE "hv"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "console.h"
#include "errmap.h"
#include "hv_internal.h"
#include "hv_proc.h"
#include "jit_stats.h"
#include "log.h"
#include "qmp.h"

struct op {
    struct hv_vm *vm;
    hv_done_cb done;
    hv_status_cb status;
    hv_jit_cb jit;
    void *data;
};

/* x-query-jit's reply: {"human-readable-text": "..."} (QEMU's "info jit"). */
static void jit_reply(struct op *op, int r, json_t *ret)
{
    struct jit_stats st = {0};
    const char *text = json_string_value(json_object_get(ret, "human-readable-text"));
    if (r == 0)
        r = text ? jit_stats_parse(text, strlen(text), &st) : -EPROTO;
    op->jit(op->vm, r, r == 0 ? &st : NULL, op->data);
}

static void on_reply(struct qmp *q, int r, json_t *ret, const char *cls, const char *desc,
                     void *data)
{
    struct op *op = data;
    struct hv_vm *vm = op->vm;
    (void)q;
    (void)cls;
    vm->in_callback++;
    if (op->jit) {
        jit_reply(op, r, ret);
    } else if (op->done) {
        op->done(vm, r, r == -EIO ? desc : NULL, op->data);
    } else {
        const char *st = json_string_value(json_object_get(ret, "status"));
        bool running = json_is_true(json_object_get(ret, "running"));
        if (r == 0 && !st)
            r = -EPROTO;
        op->status(vm, r, r == 0 ? st : (r == -EIO ? desc : NULL), running, op->data);
    }
    vm->in_callback--;
    free(op);
}

static int run(struct hv_vm *vm, const char *cmd, const struct op *proto, struct cvm_err *err)
{
    struct op *op;
    int r;
    if (vm->state != HV_ST_READY || !vm->qmp || !qmp_is_ready(vm->qmp))
        return cvm_err_set(err, -ENOTCONN, "%s: the VM is not running", cmd);
    op = calloc(1, sizeof(*op));
    if (!op)
        return cvm_err_set(err, -ENOMEM, "%s", cmd);
    *op = *proto;
    op->vm = vm;
    r = qmp_execute(vm->qmp, cmd, NULL, on_reply, op);
    if (r < 0) {
        free(op);
        return cvm_err_set(err, r, "QMP %s", cmd);
    }
    return 0;
}

int hv_pause(struct hv_vm *vm, hv_done_cb cb, void *data, struct cvm_err *err)
{
    return run(vm, "stop", &(struct op){.done = cb, .data = data}, err);
}

int hv_resume(struct hv_vm *vm, hv_done_cb cb, void *data, struct cvm_err *err)
{
    return run(vm, "cont", &(struct op){.done = cb, .data = data}, err);
}

int hv_query_status(struct hv_vm *vm, hv_status_cb cb, void *data, struct cvm_err *err)
{
    return run(vm, "query-status", &(struct op){.status = cb, .data = data}, err);
}

int hv_query_jit(struct hv_vm *vm, hv_jit_cb cb, void *data, struct cvm_err *err)
{
    return run(vm, "x-query-jit", &(struct op){.jit = cb, .data = data}, err);
}

int hv_console_tail(const struct hv_vm *vm, char *buf, size_t n)
{
    _cleanup_close_ int fd = -EBADF;
    struct stat st;
    off_t start;
    ssize_t got;
    char *nl;

    if (n == 0)
        return -EINVAL;
    buf[0] = '\0';
    fd = open(vm->console_path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0 || fstat(fd, &st) < 0)
        return -errno;
    start = st.st_size > (off_t)(n - 1) ? st.st_size - (off_t)(n - 1) : 0;
    got = pread(fd, buf, n - 1, start);
    if (got < 0)
        return -errno;
    buf[got] = '\0';
    /* Drop trailing newlines, then a partial first line when we started mid-file. */
    while (got > 0 && (buf[got - 1] == '\n' || buf[got - 1] == '\r'))
        buf[--got] = '\0';
    if (start > 0 && (nl = strchr(buf, '\n')) && nl[1]) {
        got -= nl + 1 - buf;
        memmove(buf, nl + 1, (size_t)got + 1);
    }
    return (int)got;
}

pid_t hv_qemu_pid(const struct hv_vm *vm)
{
    return hv_proc_pid(vm->qemu);
}

void hv_helper_pids(const struct hv_vm *vm, pid_t *ret_virtiofsd, pid_t *ret_vsockd)
{
    if (ret_virtiofsd)
        *ret_virtiofsd = hv_proc_pid(vm->virtiofsd);
    if (ret_vsockd)
        *ret_vsockd = hv_proc_pid(vm->vsockd);
}

uint32_t hv_guest_cid(const struct hv_vm *vm)
{
    return vm->cid;
}

enum hv_vsock_mode hv_vsock_mode(const struct hv_vm *vm)
{
    return vm->mode;
}

const char *hv_console_path(const struct hv_vm *vm)
{
    return vm->console_path;
}

const char *hv_id(const struct hv_vm *vm)
{
    return vm->id;
}

const char *hv_vsock_uds_path(const struct hv_vm *vm)
{
    return vm->mode == HV_VSOCK_HYBRID ? vm->vsock_uds : NULL;
}

uint32_t hv_sandbox_uid(const struct hv_vm *vm)
{
    return vm->uid;
}

unsigned long long hv_qemu_spawn_time_ns(const struct hv_vm *vm)
{
    return vm->qemu_spawn_ns;
}

unsigned long long hv_first_output_ns(const struct hv_vm *vm)
{
    return hv_console_first_byte_ns(vm->console);
}

const struct accel_choice *hv_accel(const struct hv_vm *vm)
{
    return &vm->accel;
}
