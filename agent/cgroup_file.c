/* Reading a cgroup's files: what the group's setup (cgroup.c), its asynchronous freeze and
 * removal (cgroup_async.c), OOM watch and stats all read. */
#include "cgroup_file.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fd.h"

int cgroup_read_file(const char *cg, const char *file, char *buf, size_t sz)
{
    return (int)file_read_str(cg, file, buf, sz);
}

int cgroup_kv_get(const char *text, const char *key, unsigned long long *out)
{
    size_t kl = strlen(key);
    for (const char *l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
        if (strncmp(l, key, kl) == 0 && l[kl] == ' ') {
            char *end;
            errno = 0;
            unsigned long long v = strtoull(l + kl + 1, &end, 10);
            if (errno || end == l + kl + 1)
                return -EINVAL;
            *out = v;
            return 0;
        }
    }
    return -ENOENT;
}
