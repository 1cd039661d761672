/* PURE: see proc_maps.h. The kernel prints each line as
 *   "%08lx-%08lx %c%c%c%c %08llx %02x:%02x %lu %s"   (start-end perms offset major:minor inode)
 * followed by padding and the path; everything is hex but the inode. The text is read from a
 * process that may be hostile (QEMU, after a guest escape): it chooses what it maps and the
 * names of its mappings (the kernel escapes a newline in a path, but memfd names and paths
 * are still theirs), so nothing here trusts a field beyond its syntax, and a bad line costs
 * only that line. */
#include "proc_maps.h"

#include <stdbool.h>
#include <string.h>

static bool digit(char c, unsigned base, unsigned *v)
{
    if (c >= '0' && c <= '9')
        *v = (unsigned)(c - '0');
    else if (base == 16 && c >= 'a' && c <= 'f')
        *v = (unsigned)(c - 'a' + 10);
    else
        return false;
    return true;
}

/* A number in `base` at *p, up to `end`; advances *p. Fails on no digits or on overflow. */
static bool num(const char **p, const char *end, unsigned base, uint64_t *ret)
{
    uint64_t v = 0;
    unsigned d, n = 0;
    for (; *p < end && digit(**p, base, &d); (*p)++, n++) {
        if (v > (UINT64_MAX - d) / base)
            return false;
        v = v * base + d;
    }
    if (n == 0)
        return false;
    *ret = v;
    return true;
}

static bool lit(const char **p, const char *end, char c)
{
    if (*p >= end || **p != c)
        return false;
    (*p)++;
    return true;
}

/* One line (p..end, no newline): its range and file; *perms points at its 4 permission
 * characters, *off is the file offset, *rest the text after the inode (its padding and path). */
static bool parse_line(const char *p, const char *end, struct proc_maps_range *r,
                       struct proc_maps_file *f, const char **perms, uint64_t *off,
                       const char **rest)
{
    uint64_t maj, min;
    if (!num(&p, end, 16, &r->start) || !lit(&p, end, '-') || !num(&p, end, 16, &r->end) ||
        !lit(&p, end, ' '))
        return false;
    *perms = p;
    for (int i = 0; i < 4; i++, p++)
        if (p >= end || *p == ' ' || *p == '\n')
            return false;
    if (!lit(&p, end, ' ') || !num(&p, end, 16, off) || !lit(&p, end, ' ') ||
        !num(&p, end, 16, &maj) || !lit(&p, end, ':') || !num(&p, end, 16, &min) ||
        !lit(&p, end, ' ') || !num(&p, end, 10, &f->ino))
        return false;
    if (p < end && *p != ' ')
        return false;
    if (maj > 0xfff || min > 0xfffff)
        return false; /* the kernel's dev_t: 12-bit major, 20-bit minor */
    f->major = (unsigned)maj;
    f->minor = (unsigned)min;
    *rest = p;
    return r->end > r->start;
}

/* The next parseable line at or after *p (the text ends at end): its mapping, permissions and
 * path (padding skipped, up to *path_end); *p moves past it. False at the end of the text. */
static bool next_mapping(const char **p, const char *end, struct proc_maps_mapping *m,
                         const char **perms, const char **path, const char **path_end)
{
    while (*p < end) {
        const char *line = *p, *eol = *p, *rest;
        while (eol < end && *eol != '\n')
            eol++;
        *p = eol < end ? eol + 1 : end;
        if (!parse_line(line, eol, &m->range, &m->file, perms, &m->offset, &rest))
            continue;
        while (rest < eol && *rest == ' ')
            rest++;
        *path = rest;
        *path_end = eol;
        return true;
    }
    return false;
}

size_t proc_maps_named(const char *text, size_t len, const char *perms, const char *path,
                       struct proc_maps_mapping *out, size_t max)
{
    const char *p = text, *end = text + len, *pm, *name, *name_end;
    struct proc_maps_mapping m;
    size_t n = 0, plen = strlen(path);
    if (strlen(perms) != 4 || plen == 0)
        return 0;
    while (next_mapping(&p, end, &m, &pm, &name, &name_end))
        if (memcmp(pm, perms, 4) == 0 && (size_t)(name_end - name) == plen &&
            memcmp(name, path, plen) == 0) {
            if (n < max)
                out[n] = m;
            n++;
        }
    return n;
}

static bool ends_with(const char *s, const char *end, const char *suffix)
{
    size_t n = strlen(suffix);
    return (size_t)(end - s) >= n && memcmp(end - n, suffix, n) == 0;
}

static bool starts_with(const char *s, const char *end, const char *prefix)
{
    size_t n = strlen(prefix);
    return (size_t)(end - s) >= n && memcmp(s, prefix, n) == 0;
}

size_t proc_maps_file_backed(const char *text, size_t len, struct proc_maps_range *out, size_t max)
{
    const char *p = text, *end = text + len, *pm, *name, *name_end;
    struct proc_maps_mapping m;
    size_t n = 0;
    while (next_mapping(&p, end, &m, &pm, &name, &name_end))
        if ((pm[3] == 'p' || pm[1] != 'w') && m.file.ino != 0 && starts_with(name, name_end, "/") &&
            !starts_with(name, name_end, "/memfd:") && !starts_with(name, name_end, "/dev/") &&
            !ends_with(name, name_end, " (deleted)")) {
            if (n < max)
                out[n] = m.range;
            n++;
        }
    return n;
}
