/* What create and exec share (cmd_create.c): a pty when asked, the monitor (forked first, so
 * it holds nothing of ours but its end of the sync pipe), and the stdio paths the shim opens:
 * /proc/<monitor>/fd/{0,1,2}. The shim opens its own file descriptions of the very pipes (or
 * pty slave) the monitor holds, so output goes to the caller without a relay of ours. */
#ifndef CVM_RT_LAUNCH_H
#define CVM_RT_LAUNCH_H

#include <sys/types.h>

#include "rt.h"

struct launch {
    int master, slave;
    int sync[2];
    pid_t monitor;
    char in[64], out[64], err[64];
};

int rt_launch_begin(const struct rt_ctx *ctx, const char *id, const char *exec_id, bool terminal,
                    struct launch *l);
/* The pty master to the console socket (if any), the pid file (if any), the monitor released. */
int rt_launch_commit(const struct rt_ctx *ctx, struct launch *l, const char *console,
                     const char *pid_file);
/* The monitor sees EOF on its sync pipe, exits and is reaped. */
void rt_launch_abort(struct launch *l);
int rt_start_id(struct rt_ctx *ctx, const char *id);

#endif
