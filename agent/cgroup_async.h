/* The cgroup operations that complete asynchronously in the kernel, as timer-driven state
 * machines on the agent's loop (nothing sleeps on it): a freeze or thaw, done when
 * cgroup.events agrees; a removal, done when rmdir succeeds once the group's last members
 * have gone. Each polls on a timer and ends with done(0) or done(-ETIMEDOUT) at its
 * deadline; done never runs from inside the start call. */
#ifndef CVM_AGENT_CGROUP_ASYNC_H
#define CVM_AGENT_CGROUP_ASYNC_H

#include <stdbool.h>

struct loop;
struct cgroup_op;

#define CGROUP_FREEZE_TIMEOUT_MS 1000u /* freeze or thaw must be seen by then */
#define CGROUP_REMOVE_TIMEOUT_MS 1000u /* the group's members must be gone by then */

typedef void (*cgroup_done_fn)(int r, void *data);

/* Write cgroup.freeze, then poll cgroup.events "frozen" every few ms. -errno at once when the
 * write fails (done is not called then). */
int cgroup_freeze_start(struct loop *l, const char *cg, bool frozen, unsigned timeout_ms,
                        cgroup_done_fn done, void *data, struct cgroup_op **ret);
/* rmdir cg, retried while busy (EBUSY: members still exiting, ENOTEMPTY). done may be NULL
 * (the removal goes on unowned; ret may be NULL then). A group already gone is done(0). */
int cgroup_remove_start(struct loop *l, const char *cg, unsigned timeout_ms, cgroup_done_fn done,
                        void *data, struct cgroup_op **ret);
/* Stop without calling done. Accepts NULL. */
void cgroup_op_cancel(struct cgroup_op *op);
/* A new container takes the group of this path over: a removal of it still under way stops
 * (its done gets -ECANCELED), or it would remove the new container's group once empty.
 * Returns whether one was under way. */
bool cgroup_remove_abandon(const char *cg);
/* At exit: end every operation still running with done(-ECANCELED). */
void cgroup_ops_cancel_all(void);

#endif
