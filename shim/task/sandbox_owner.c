/* What the sandbox reports up to the task service (sandbox.h, struct sandbox_owner): a ready
 * guest gets its OOM watch; a dead VM ends every process of it; a sandbox being freed takes its
 * containers with it. */
#include "task/model.h"
#include "task/oom_watch.h"

static void owner_ready(struct sandbox *sb)
{
    sandbox_oom_watch(sb);
}

/* Every task of a dead VM exits with 255 (spec: kill -9 of QEMU), or its vm_death_status. */
static void owner_vm_died(struct sandbox *sb)
{
    struct container *c;
    struct proc *p;
    TAILQ_FOREACH(c, &sb->containers, link)
    {
        TAILQ_FOREACH(p, &c->execs, link)
        proc_vm_died(p);
        if (c->init)
            proc_vm_died(c->init);
    }
}

static void owner_freeing(struct sandbox *sb)
{
    struct container *c;
    while ((c = TAILQ_FIRST(&sb->containers))) {
        TAILQ_REMOVE(&sb->containers, c, link);
        shim_container_free(c);
    }
    sandbox_oom_unwatch(sb);
}

const struct sandbox_owner task_sandbox_owner = {
    .ready = owner_ready,
    .vm_died = owner_vm_died,
    .freeing = owner_freeing,
};
