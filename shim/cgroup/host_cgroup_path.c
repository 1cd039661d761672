/* Pure parsers for the host cgroup: cgroupsPath (cgroupfs and systemd forms), the lines of
 * /proc/<pid>/cgroup and /proc/self/mountinfo. See host_cgroup_path.h. */
#include "cgroup/host_cgroup_path.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define COMPONENT_MAX 255 /* NAME_MAX: a cgroup is a directory */

static bool has_ctl(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return true;
    return false;
}

/* Append "/comp" (len bytes) to out (length *olen); -ENAMETOOLONG past n. */
static int push(char *out, size_t n, size_t *olen, const char *comp, size_t len)
{
    if (*olen + 1 + len + 1 > n)
        return -ENAMETOOLONG;
    out[(*olen)++] = '/';
    memcpy(out + *olen, comp, len);
    *olen += len;
    out[*olen] = '\0';
    return 0;
}

/* runc's CleanPath: resolve "." and ".." lexically against a root nothing climbs above.
 * out gets "/a/b" ("/" for the root). */
static int clean_path(const char *in, char *out, size_t n, struct cvm_err *err)
{
    size_t olen = 0;
    out[0] = '\0';
    for (const char *p = in; *p;) {
        while (*p == '/')
            p++;
        const char *e = strchrnul(p, '/');
        size_t len = (size_t)(e - p);
        if (len == 0)
            break;
        if (len > COMPONENT_MAX)
            return cvm_err_set(err, -EINVAL, "cgroupsPath: a component is longer than %d bytes",
                               COMPONENT_MAX);
        if (len == 1 && p[0] == '.') {
            /* nothing */
        } else if (len == 2 && p[0] == '.' && p[1] == '.') {
            char *slash = strrchr(out, '/');
            if (slash) {
                *slash = '\0';
                olen = (size_t)(slash - out);
            }
        } else if (push(out, n, &olen, p, len) < 0) {
            return cvm_err_set(err, -EINVAL, "cgroupsPath longer than %zu bytes", n - 1);
        }
        p = e;
    }
    if (olen == 0)
        snprintf(out, n, "/");
    return 0;
}

int hcg_expand_slice(const char *slice, char *out, size_t n)
{
    static const char suffix[] = ".slice";
    size_t sl = strlen(slice), xl = sizeof(suffix) - 1, olen = 0;
    char prefix[HCG_PATH_MAX];
    size_t plen = 0;

    if (n < 2 || sl <= xl || strcmp(slice + sl - xl, suffix) != 0 || strchr(slice, '/'))
        return -EINVAL;
    size_t name_len = sl - xl;
    if (name_len == 1 && slice[0] == '-') {
        snprintf(out, n, "/");
        return 0;
    }
    out[0] = '\0';
    for (size_t i = 0; i <= name_len;) {
        size_t j = i;
        while (j < name_len && slice[j] != '-')
            j++;
        if (j == i) /* "-a.slice", "a--b.slice", "a-.slice" */
            return -EINVAL;
        /* component: prefix + slice[i..j) + ".slice" */
        if (plen + (j - i) + xl + 1 > sizeof(prefix))
            return -ENAMETOOLONG;
        char comp[HCG_PATH_MAX];
        int cl = snprintf(comp, sizeof(comp), "%.*s%.*s%s", (int)plen, prefix, (int)(j - i),
                          slice + i, suffix);
        if (cl < 0 || (size_t)cl >= sizeof(comp) || cl > COMPONENT_MAX)
            return -ENAMETOOLONG;
        if (push(out, n, &olen, comp, (size_t)cl) < 0)
            return -ENAMETOOLONG;
        memcpy(prefix + plen, slice + i, j - i);
        plen += j - i;
        prefix[plen++] = '-';
        i = j + 1;
    }
    return 0;
}

/* "slice:prefix:name" -> "<expanded slice>/<unit>" */
static int parse_systemd(const char *spec, struct hcg_path *out, struct cvm_err *err)
{
    const char *c1 = strchr(spec, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    char slice[HCG_PATH_MAX], prefix[HCG_PATH_MAX], name[HCG_PATH_MAX], unit[HCG_PATH_MAX * 2];
    char expanded[HCG_PATH_MAX];
    int r;

    snprintf(slice, sizeof(slice), "%.*s", (int)(c1 - spec), spec);
    snprintf(prefix, sizeof(prefix), "%.*s", (int)(c2 - c1 - 1), c1 + 1);
    snprintf(name, sizeof(name), "%s", c2 + 1);
    if (!name[0])
        return cvm_err_set(err, -EINVAL,
                           "cgroupsPath \"%.200s\": systemd form slice:prefix:name "
                           "with an empty name",
                           spec);
    if (strchr(prefix, '/') || strchr(name, '/') || strcmp(name, "..") == 0 ||
        strcmp(name, ".") == 0)
        return cvm_err_set(err, -EINVAL,
                           "cgroupsPath \"%.200s\": the prefix and name of the "
                           "systemd form slice:prefix:name cannot contain '/'",
                           spec);
    r = hcg_expand_slice(slice[0] ? slice : "system.slice", expanded, sizeof(expanded));
    if (r < 0)
        return cvm_err_set(err, -EINVAL,
                           "cgroupsPath \"%.200s\": invalid slice name \"%.200s\" "
                           "(systemd: NAME.slice, '-' separates its parents, no '/')",
                           spec, slice);
    size_t ul = strlen(name);
    if (ul > 6 && strcmp(name + ul - 6, ".slice") == 0)
        snprintf(unit, sizeof(unit), "%s", name);
    else
        snprintf(unit, sizeof(unit), "%s-%s.scope", prefix, name);
    if (strlen(unit) > COMPONENT_MAX)
        return cvm_err_set(err, -EINVAL, "cgroupsPath \"%.200s\": unit name longer than %d bytes",
                           spec, COMPONENT_MAX);
    int n = snprintf(out->path, sizeof(out->path), "%s/%s",
                     strcmp(expanded, "/") == 0 ? "" : expanded, unit);
    if (n < 0 || (size_t)n >= sizeof(out->path))
        return cvm_err_set(err, -EINVAL, "cgroupsPath \"%.200s\": expansion longer than %zu bytes",
                           spec, sizeof(out->path) - 1);
    out->systemd = true;
    out->relative = false;
    return 0;
}

int hcg_path_parse(const char *spec, struct hcg_path *out, struct cvm_err *err)
{
    memset(out, 0, sizeof(*out));
    if (!spec || !*spec)
        return cvm_err_set(err, -EINVAL, "cgroupsPath is empty");
    if (strlen(spec) >= HCG_PATH_MAX)
        return cvm_err_set(err, -EINVAL, "cgroupsPath longer than %d bytes", HCG_PATH_MAX - 1);
    if (has_ctl(spec))
        return cvm_err_set(err, -EINVAL, "cgroupsPath contains a control character");
    const char *c1 = strchr(spec, ':');
    if (spec[0] != '/' && c1 && strchr(c1 + 1, ':') && !strchr(strchr(c1 + 1, ':') + 1, ':'))
        return parse_systemd(spec, out, err);
    int r = clean_path(spec, out->path, sizeof(out->path), err);
    if (r < 0)
        return r;
    out->relative = spec[0] != '/';
    if (out->relative) /* "a/b" from our own cgroup: keep it without the leading '/' */
        memmove(out->path, out->path + 1, strlen(out->path));
    if (out->relative && !out->path[0])
        snprintf(out->path, sizeof(out->path), ".");
    return 0;
}

int hcg_parse_proc_cgroup_line(const char *line, char *ctrls, size_t nc, char *path, size_t np)
{
    const char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c1 || !c2 || c1 == line || nc == 0 || np == 0)
        return -EINVAL;
    for (const char *p = line; p < c1; p++)
        if (*p < '0' || *p > '9')
            return -EINVAL;
    size_t cl = (size_t)(c2 - c1 - 1), pl = strcspn(c2 + 1, "\n");
    if (cl >= nc || pl >= np || pl == 0 || c2[1] != '/')
        return -EINVAL;
    memcpy(ctrls, c1 + 1, cl);
    ctrls[cl] = '\0';
    memcpy(path, c2 + 1, pl);
    path[pl] = '\0';
    return 0;
}

/* Next space-separated field of *p into out (octal escapes such as \040 decoded). */
static int field(const char **p, char *out, size_t n)
{
    const char *s = *p;
    size_t o = 0;
    while (*s == ' ')
        s++;
    if (!*s || *s == '\n')
        return -EINVAL;
    for (; *s && *s != ' ' && *s != '\n'; s++) {
        char c = *s;
        if (c == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' && s[3] >= '0' &&
            s[3] <= '7') {
            c = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
            s += 3;
        }
        if (o + 1 >= n)
            return -EINVAL;
        out[o++] = c;
    }
    out[o] = '\0';
    *p = s;
    return 0;
}

/* The super options of a v1 cgroup mount minus the plain mount options: its controllers. */
static int v1_controllers(const char *opts, char *ctrls, size_t nc)
{
    static const char *const not_ctrl[] = {"rw",
                                           "ro",
                                           "xattr",
                                           "noprefix",
                                           "clone_children",
                                           "cpuset_v2_mode",
                                           "favordynmods",
                                           "nofavordynmods"};
    size_t o = 0;
    ctrls[0] = '\0';
    for (const char *p = opts; *p;) {
        const char *e = strchrnul(p, ',');
        size_t len = (size_t)(e - p);
        bool skip = len == 0 || (len > 14 && strncmp(p, "release_agent=", 14) == 0);
        for (size_t i = 0; !skip && i < sizeof(not_ctrl) / sizeof(not_ctrl[0]); i++)
            skip = strlen(not_ctrl[i]) == len && strncmp(p, not_ctrl[i], len) == 0;
        if (!skip) {
            if (o + len + 2 > nc)
                return -EINVAL;
            if (o)
                ctrls[o++] = ',';
            memcpy(ctrls + o, p, len);
            o += len;
            ctrls[o] = '\0';
        }
        p = *e ? e + 1 : e;
    }
    return o ? 0 : -EINVAL;
}

int hcg_parse_mountinfo_line(const char *line, bool *v2, char *ctrls, size_t nc, char *mnt,
                             size_t nm, char *root, size_t nr)
{
    char tmp[HCG_PATH_MAX], fstype[64], opts[512];
    const char *p = line;
    if (nc == 0)
        return -EINVAL;
    /* id parent maj:min root mountpoint options [optional...] - fstype source superopts */
    for (int i = 0; i < 3; i++)
        if (field(&p, tmp, sizeof(tmp)) < 0)
            return -EINVAL;
    if (field(&p, root, nr) < 0 || field(&p, mnt, nm) < 0)
        return -EINVAL;
    for (;;) {
        if (field(&p, tmp, sizeof(tmp)) < 0)
            return -EINVAL;
        if (strcmp(tmp, "-") == 0)
            break;
    }
    if (field(&p, fstype, sizeof(fstype)) < 0 || field(&p, tmp, sizeof(tmp)) < 0 ||
        field(&p, opts, sizeof(opts)) < 0)
        return -EINVAL;
    if (strcmp(fstype, "cgroup2") == 0) {
        *v2 = true;
        ctrls[0] = '\0';
        return 1;
    }
    if (strcmp(fstype, "cgroup") != 0)
        return 0;
    *v2 = false;
    return v1_controllers(opts, ctrls, nc) < 0 ? -EINVAL : 1;
}

bool hcg_has_controller(const char *ctrls, const char *name)
{
    size_t len = strlen(name);
    if (!len)
        return false;
    for (const char *p = ctrls; *p;) {
        const char *e = strchrnul(p, ',');
        if ((size_t)(e - p) == len && strncmp(p, name, len) == 0)
            return true;
        p = *e ? e + 1 : e;
    }
    return false;
}

#define REC_CREATED "created "
#define REC_JOINED "joined "

int hcg_format_record_line(bool created, const char *dir, char *out, size_t n)
{
    int len = snprintf(out, n, "%s%s\n", created ? REC_CREATED : REC_JOINED, dir);
    return len < 0 || (size_t)len >= n ? -ENAMETOOLONG : 0;
}

int hcg_parse_record_line(const char *line, char *dir, size_t n)
{
    int created;
    size_t len;
    if (strncmp(line, REC_CREATED, strlen(REC_CREATED)) == 0)
        created = 1, line += strlen(REC_CREATED);
    else if (strncmp(line, REC_JOINED, strlen(REC_JOINED)) == 0)
        created = 0, line += strlen(REC_JOINED);
    else
        return -EINVAL;
    len = strcspn(line, "\n");
    if (len == 0 || len >= n || (line[len] == '\n' && line[len + 1] != '\0'))
        return -EINVAL;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
            return -EINVAL;
    memcpy(dir, line, len);
    dir[len] = '\0';
    return created;
}
