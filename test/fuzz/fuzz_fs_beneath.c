/* Fuzz the pure path rule of fs_beneath (fsb_path_check, fsb_next_component), which decides
 * what a host operation under a guest-writable tree may name. Invariants: an accepted path is
 * relative, at most FSB_PATH_MAX bytes, and splits into non-empty components of at most NAME_MAX
 * bytes, none "." or "..", none containing '/', whose lengths plus separators add up to the
 * whole; a path with any of those properties violated is refused. */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fs_beneath.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char buf[FSB_PATH_MAX * 2 + 2];
    if (size >= sizeof(buf))
        size = sizeof(buf) - 1;
    memcpy(buf, data, size);
    buf[size] = 0;
    size_t len = strlen(buf);
    int r = fsb_path_check(buf);
    bool bad = len == 0 || len > FSB_PATH_MAX || buf[0] == '/' || buf[len - 1] == '/' ||
               strstr(buf, "//") != NULL;
    if (r == 0) {
        const char *p = buf, *s;
        size_t n, total = 0, parts = 0;
        if (bad)
            abort();
        while ((n = fsb_next_component(&p, &s)) > 0) {
            if (n > NAME_MAX || memchr(s, '/', n) || (n == 1 && s[0] == '.') ||
                (n == 2 && s[0] == '.' && s[1] == '.'))
                abort();
            total += n;
            parts++;
        }
        if (*p != 0 || total + parts - 1 != len)
            abort();
    } else if (!bad) {
        /* refused although well-formed: then some component must be "." , ".." or too long */
        const char *p = buf, *s;
        size_t n;
        bool why = false;
        while ((n = fsb_next_component(&p, &s)) > 0)
            why |= n > NAME_MAX || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.');
        if (!why)
            abort();
    }
    return 0;
}
