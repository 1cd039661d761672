/* Duties of the initrd's PID 1 before serving: console, kernel modules, a pivotable tmpfs
 * root (pivot_root cannot leave the initramfs), early mounts, cgroup delegation. */
#ifndef CVM_AGENT_PID1_H
#define CVM_AGENT_PID1_H

#define PID1_CGROUP_ROOT "/sys/fs/cgroup/cvm"
#define PID1_SHARE_ROOT "/run/cvm/share"

/* 0, or -errno with a console message already printed. */
int pid1_early(void);
/* Print to the console, sync, power off. Never returns. */
_Noreturn void pid1_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Console message without the logging module (works before anything is set up). */
void pid1_console(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
