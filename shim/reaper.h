/* Catch-all reaping for a subreaper: orphans re-parented to the shim (children of a dead
 * virtiofsd, a logger's children) are reaped, without stealing the exits of children that a
 * pidfd source owns (those are reaped by their source in the same loop turn). A zombie that
 * is still there one sweep later has no owner and is reaped here. */
#ifndef CVM_SHIM_REAPER_H
#define CVM_SHIM_REAPER_H

struct loop;
struct reaper;

int reaper_new(struct loop *l, struct reaper **ret);
void reaper_free(struct reaper *r);
/* One sweep (exposed for tests): returns the number of orphans reaped. */
int reaper_sweep(struct reaper *r);

#endif
