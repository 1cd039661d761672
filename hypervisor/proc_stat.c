/* PURE: see proc_stat.h. The kernel prints "pid (comm) state ppid ..." with single blanks;
 * the text comes from a process that may be hostile (QEMU after a guest escape), which picks
 * its comm (prctl PR_SET_NAME, 15 bytes of anything but NUL), hence the last ')'. */
#include "proc_stat.h"

#include <errno.h>
#include <stdbool.h>

static bool field_num(const char **p, const char *end, uint64_t *ret)
{
    uint64_t v = 0;
    unsigned n = 0;
    for (; *p < end && **p >= '0' && **p <= '9'; (*p)++, n++) {
        unsigned d = (unsigned)(**p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    if (n == 0 || (*p < end && **p != ' ' && **p != '\n'))
        return false;
    *ret = v;
    return true;
}

int proc_stat_cpu_ticks(const char *text, size_t len, uint64_t *ticks)
{
    const char *p = NULL, *end = text + len;
    uint64_t utime, stime;
    for (const char *q = text; q < end; q++)
        if (*q == ')')
            p = q;
    if (!p)
        return -EINVAL;
    /* after ')': " state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt
     * utime stime": utime is the 12th blank-separated field after the ')' */
    p++;
    for (int field = 0; field < 12; field++) {
        if (p >= end || *p != ' ')
            return -EINVAL;
        p++;
        if (field == 11)
            break;
        if (p >= end || *p == ' ')
            return -EINVAL; /* an empty field: not the kernel's text */
        while (p < end && *p != ' ')
            p++;
    }
    if (!field_num(&p, end, &utime) || p >= end || *p != ' ')
        return -EINVAL;
    p++;
    if (!field_num(&p, end, &stime) || utime > UINT64_MAX - stime)
        return -EINVAL;
    *ticks = utime + stime;
    return 0;
}
