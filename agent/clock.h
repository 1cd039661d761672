/* The guest's wall clock kept in step with the host's (Health carries the host's time). */
#ifndef CVM_AGENT_CLOCK_H
#define CVM_AGENT_CLOCK_H

#include <stdint.h>

/* Pure: the step (ns, host minus guest) to apply, or 0 when the two are closer than min_ns. */
int64_t clock_step_for(uint64_t host_ns, uint64_t guest_ns, int64_t min_ns);

/* Step CLOCK_REALTIME to host_ns when it is min_ns or more off. 0 (*stepped = the step, 0 if
 * none) or -errno. host_ns 0 means "no time given": nothing is done. */
int clock_sync_to_host(uint64_t host_ns, int64_t min_ns, int64_t *stepped);

#endif
