/* Fuzz the host cgroup parsers (shim/host_cgroup_path.c, host_cgroup_limits.c): the same bytes
 * as a cgroupsPath, a /proc/<pid>/cgroup line, a mountinfo line, a line of the crash record
 * (<run dir>/host_cgroup) and a linux.resources JSON.
 * Invariants: a parsed path is bounded, rooted ("/...") unless relative, has no "." or ".."
 * component and no "//"; parsing its own output gives it back (cleaning is idempotent);
 * systemd expansions end in ".scope" or ".slice"; the writes for any parsed resources are
 * bounded and name a known controller; a record line that parses names a non-empty directory
 * without control characters, and formatting it back parses to the same (created or joined). */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../shim/cgroup/host_cgroup_limits.h"
#include "../../shim/cgroup/host_cgroup_path.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_path(const struct hcg_path *p)
{
    size_t n = strnlen(p->path, sizeof(p->path));
    if (n == 0 || n >= sizeof(p->path))
        abort();
    if (!p->relative && p->path[0] != '/')
        abort();
    if (strstr(p->path, "//") || strstr(p->path, "/../") || strstr(p->path, "/./"))
        abort();
    if (n >= 3 && strcmp(p->path + n - 3, "/..") == 0)
        abort();
    if (p->systemd && !(n > 6 && (strcmp(p->path + n - 6, ".scope") == 0 || strcmp(p->path + n - 6, ".slice") == 0)))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    struct hcg_path p, q;
    struct cvm_err e = {0};
    char c[HCG_CTRLS_MAX], a[512], b[512];
    bool v2;
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    if (hcg_path_parse(s, &p, &e) == 0) {
        check_path(&p);
        if (!p.systemd && !p.relative) { /* cleaning again changes nothing */
            if (hcg_path_parse(p.path, &q, &e) != 0 || strcmp(p.path, q.path) != 0)
                abort();
        }
    }
    (void)hcg_parse_proc_cgroup_line(s, c, sizeof(c), a, sizeof(a));
    int created = hcg_parse_record_line(s, a, sizeof(a));
    if (created >= 0) {
        char line[sizeof(a) + 16];
        if (created > 1 || !a[0] || strlen(a) >= sizeof(a))
            abort();
        for (const char *t = a; *t; t++)
            if ((unsigned char)*t < 0x20 || *t == 0x7f)
                abort();
        if (hcg_format_record_line(created, a, line, sizeof(line)) != 0 ||
            hcg_parse_record_line(line, b, sizeof(b)) != created || strcmp(a, b) != 0)
            abort();
    }
    if (hcg_parse_mountinfo_line(s, &v2, c, sizeof(c), a, sizeof(a), b, sizeof(b)) == 1 && v2 && c[0])
        abort();
    json_t *j = json_loadb(s, size, 0, NULL);
    if (j) {
        struct hcg_resources g, h;
        struct hcg_overhead o = {.guest_ram = 256ull << 20, .vmm_memory = 64ull << 20, .vmm_tasks = 128};
        struct hcg_write w[HCG_WRITES_MAX];
        if (hcg_resources_parse(j, &g, &e) == 0) {
            hcg_host_values(&g, &o, &h);
            for (int v = 0; v < 2; v++) {
                size_t n = hcg_writes(&h, v, w);
                if (n > HCG_WRITES_MAX)
                    abort();
                for (size_t i = 0; i < n; i++)
                    if (strcmp(w[i].ctrl, "memory") && strcmp(w[i].ctrl, "cpu") && strcmp(w[i].ctrl, "pids"))
                        abort();
            }
        }
        json_decref(j);
    }
    free(s);
    return 0;
}
