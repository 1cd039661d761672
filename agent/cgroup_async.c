/* See cgroup_async.h. */
#include "cgroup_async.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <unistd.h>

#include "cgroup.h"
#include "fd.h"
#include "loop.h"

#define FREEZE_POLL_US 5000u  /* freezing takes a few ms per task set */
#define REMOVE_POLL_US 10000u /* exiting members leave within ms of their SIGKILL */

enum op_kind { OP_FREEZE, OP_REMOVE };

struct cgroup_op {
    enum op_kind kind;
    bool frozen;
    char *cg;
    uint64_t deadline_ns;
    struct loop_source *timer;
    cgroup_done_fn done;
    void *data;
    LIST_ENTRY(cgroup_op) link;
};
static LIST_HEAD(, cgroup_op) ops = LIST_HEAD_INITIALIZER(ops);

static void op_free(struct cgroup_op *op)
{
    LIST_REMOVE(op, link);
    loop_source_free(op->timer);
    free(op->cg);
    free(op);
}

/* 1 done, 0 not yet, -errno failed. */
static int step(struct cgroup_op *op)
{
    if (op->kind == OP_FREEZE) {
        char ev[256];
        unsigned long long f;
        if (cgroup_read_file(op->cg, "cgroup.events", ev, sizeof(ev)) >= 0 &&
            cgroup_kv_get(ev, "frozen", &f) == 0 && f == (op->frozen ? 1u : 0u))
            return 1;
        return 0;
    }
    if (rmdir(op->cg) == 0 || errno == ENOENT)
        return 1;
    return errno == EBUSY || errno == ENOTEMPTY ? 0 : -errno;
}

static void finish(struct cgroup_op *op, int r)
{
    cgroup_done_fn done = op->done;
    void *data = op->data;
    op_free(op);
    if (done)
        done(r, data);
}

static void on_timer(struct loop_source *s, void *data)
{
    struct cgroup_op *op = data;
    int r = step(op);
    (void)s;
    if (r != 0)
        return finish(op, r < 0 ? r : 0);
    if (now_ns() >= op->deadline_ns)
        return finish(op, -ETIMEDOUT);
    (void)loop_timer_set(op->timer, op->kind == OP_FREEZE ? FREEZE_POLL_US : REMOVE_POLL_US);
}

static int start(struct loop *l, enum op_kind kind, const char *cg, bool frozen,
                 unsigned timeout_ms, cgroup_done_fn done, void *data, struct cgroup_op **ret)
{
    struct cgroup_op *op = calloc(1, sizeof(*op));
    int r;
    if (!op || !(op->cg = strdup(cg))) {
        free(op);
        return -ENOMEM;
    }
    op->kind = kind;
    op->frozen = frozen;
    op->done = done;
    op->data = data;
    op->deadline_ns = now_ns() + (uint64_t)timeout_ms * 1000000ull;
    /* The first look right after this batch: done never runs inside the start call. */
    r = loop_add_timer(l, 1, on_timer, op, &op->timer);
    if (r < 0) {
        free(op->cg);
        free(op);
        return r;
    }
    LIST_INSERT_HEAD(&ops, op, link);
    if (ret)
        *ret = op;
    return 0;
}

int cgroup_freeze_start(struct loop *l, const char *cg, bool frozen, unsigned timeout_ms,
                        cgroup_done_fn done, void *data, struct cgroup_op **ret)
{
    int r = file_write_str(cg, "cgroup.freeze", frozen ? "1" : "0");
    if (r < 0)
        return r;
    return start(l, OP_FREEZE, cg, frozen, timeout_ms, done, data, ret);
}

int cgroup_remove_start(struct loop *l, const char *cg, unsigned timeout_ms, cgroup_done_fn done,
                        void *data, struct cgroup_op **ret)
{
    return start(l, OP_REMOVE, cg, false, timeout_ms, done, data, ret);
}

void cgroup_op_cancel(struct cgroup_op *op)
{
    if (op)
        op_free(op);
}

bool cgroup_remove_abandon(const char *cg)
{
    struct cgroup_op *op;
    LIST_FOREACH(op, &ops, link)
    if (op->kind == OP_REMOVE && strcmp(op->cg, cg) == 0) {
        finish(op, -ECANCELED);
        return true;
    }
    return false;
}

void cgroup_ops_cancel_all(void)
{
    while (!LIST_EMPTY(&ops))
        finish(LIST_FIRST(&ops), -ECANCELED);
}
