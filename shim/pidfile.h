/* Pid files in the sandbox run dir (shim.pid, qemu.pid) so `delete` can clean up after a
 * dead daemon. */
#ifndef CVM_SHIM_PIDFILE_H
#define CVM_SHIM_PIDFILE_H

#include <sys/types.h>

/* Running (exists and is not a zombie). */
int pid_alive(pid_t pid);
int pidfile_write(const char *dir, const char *name, pid_t pid);
/* The pid, or 0 when missing/invalid/not running. With comm_substr, the process's
 * /proc/<pid>/cmdline must contain it (guards against pid reuse). */
pid_t pidfile_read(const char *dir, const char *name, const char *comm_substr);

#endif
