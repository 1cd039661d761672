/* Catch-all reaping for a subreaper: orphans re-parented to the shim (children of a dead
 * virtiofsd, a logger's children) are reaped on SIGCHLD, without ever stealing the exit of a
 * child that a pidfd source owns (loop_child_watched()): that source reaps it and reports
 * its real status. */
#ifndef CVM_SHIM_REAPER_H
#define CVM_SHIM_REAPER_H

struct loop;
struct reaper;

int reaper_new(struct loop *l, struct reaper **ret);
void reaper_free(struct reaper *r);
/* One sweep (exposed for tests): returns the number of orphans reaped. */
int reaper_sweep(struct reaper *r);

#endif
