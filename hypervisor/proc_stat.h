/* PURE: a process's CPU time, from the text of /proc/PID/stat. */
#ifndef CVM_PROC_STAT_H
#define CVM_PROC_STAT_H

#include <stddef.h>
#include <stdint.h>

/* utime + stime (fields 14 and 15), in clock ticks, of a /proc/PID/stat text (len bytes, need
 * not be NUL-terminated). The command name (field 2) is the process's own choice and may
 * hold blanks and parentheses, so fields are counted from the LAST ')'. 0, or -EINVAL when
 * the text has no such fields, a field is not a number, or the sum overflows. */
int proc_stat_cpu_ticks(const char *text, size_t len, uint64_t *ticks);

#endif
