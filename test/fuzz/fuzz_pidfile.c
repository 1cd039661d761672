/* Fuzz the pure pid-file layer: the same bytes as a pid file and as a /proc/<pid>/stat line.
 * Invariants: a parsed pid file formats back to text that parses to the same identity; a full
 * stat parse agrees with the starttime-only parse; the identity check never matches a pid or
 * starttime that differs. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../shim/sandbox/pidfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    struct pid_ident id, back;
    struct proc_stat st;
    unsigned long long t = 0;
    static char buf[PATH_MAX + 64];

    if (pidfile_parse(text, size, &id) == 0) {
        int n = pidfile_format(&id, buf, sizeof(buf));
        if (n <= 0 || pidfile_parse(buf, (size_t)n, &back) != 0 || back.pid != id.pid ||
            back.starttime != id.starttime || strcmp(back.exe, id.exe) != 0)
            abort();
    }
    if (proc_stat_parse(text, size, &st) == 0) {
        if (proc_stat_starttime(text, size, &t) != 0 || t != st.starttime)
            abort();
        (void)proc_stat_exiting(&st);
        memset(&id, 0, sizeof(id));
        strcpy(id.exe, "/x");
        id.pid = st.pid;
        id.starttime = st.starttime + 1;
        if (pid_ident_check(&id, &st, "/x") == 0)
            abort();
        id.pid = st.pid ^ 1;
        id.starttime = st.starttime;
        if (pid_ident_check(&id, &st, "/x") == 0)
            abort();
    } else {
        (void)proc_stat_starttime(text, size, &t);
    }
    return 0;
}
