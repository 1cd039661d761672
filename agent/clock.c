/* The guest's wall clock. It starts from the RTC (whole seconds: up to 1 s off at boot) and,
 * under TCG, lags the host; containers read it (date, log lines, certificates) and users
 * compare it with the host's, so the agent steps it to the time every Health call brings.
 * A step, not a slew: adjtime's 0.5 ms/s would need minutes to take back a boot offset. */
#include "clock.h"

#include <errno.h>
#include <time.h>

int64_t clock_step_for(uint64_t host_ns, uint64_t guest_ns, int64_t min_ns)
{
    /* both are realistic wall-clock values (< 2^63): the difference fits */
    int64_t d = (int64_t)(host_ns - guest_ns);
    if (host_ns > INT64_MAX || guest_ns > INT64_MAX)
        return 0;
    return (d >= min_ns || d <= -min_ns) ? d : 0;
}

int clock_sync_to_host(uint64_t host_ns, int64_t min_ns, int64_t *stepped)
{
    struct timespec now, to;
    *stepped = 0;
    if (!host_ns)
        return 0;
    if (clock_gettime(CLOCK_REALTIME, &now) < 0)
        return -errno;
    uint64_t guest_ns = (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;
    int64_t d = clock_step_for(host_ns, guest_ns, min_ns);
    if (!d)
        return 0;
    to.tv_sec = (time_t)(host_ns / 1000000000ull);
    to.tv_nsec = (long)(host_ns % 1000000000ull);
    if (clock_settime(CLOCK_REALTIME, &to) < 0)
        return -errno;
    *stepped = d;
    return 0;
}
