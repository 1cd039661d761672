/* Reading a cgroup's files (cgroup_file.c). */
#ifndef CVM_AGENT_CGROUP_FILE_H
#define CVM_AGENT_CGROUP_FILE_H

#include <stddef.h>

/* Parse "key value\n" lines (memory.stat, cpu.stat): value of key or -ENOENT. Pure. */
int cgroup_kv_get(const char *text, const char *key, unsigned long long *out);
/* Read <cg>/<file> (no symlinks) NUL-terminated into buf; returns the length or -errno. */
int cgroup_read_file(const char *cg, const char *file, char *buf, size_t sz);

#endif
