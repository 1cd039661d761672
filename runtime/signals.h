/* Signal names as runc's `kill` takes them (pure): "15", "TERM", "SIGTERM", "sigterm",
 * "RTMIN+3". */
#ifndef CVM_RT_SIGNALS_H
#define CVM_RT_SIGNALS_H

/* The signal number (1..SIGRTMAX), or -EINVAL. */
int rt_signal_parse(const char *s);

#endif
