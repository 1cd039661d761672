/* Go's flag package rules: -name value, -name=value, --name, --name=value; booleans take no
 * separate value (only -name=true|false...); parsing stops at the first non-flag word or "--". */
#include "cli/flags.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int parse_bool(const char *v, bool *out)
{
    static const char *const t[] = {"1", "t", "T", "true", "TRUE", "True"};
    static const char *const f[] = {"0", "f", "F", "false", "FALSE", "False"};
    for (unsigned i = 0; i < 6; i++) {
        if (strcmp(v, t[i]) == 0)
            return *out = true, 0;
        if (strcmp(v, f[i]) == 0)
            return *out = false, 0;
    }
    return -EINVAL;
}

int shim_flags_parse(int argc, char *const *argv, struct shim_flags *f, char *errbuf,
                     unsigned errlen)
{
    int i;

    memset(f, 0, sizeof(*f));
    f->action = SHIM_SERVE;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *name, *eq, *val = NULL;
        char nbuf[64];
        size_t nlen;

        if (a[0] != '-' || a[1] == 0)
            break;
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        name = a + 1 + (a[1] == '-');
        if (*name == 0 || *name == '-' || *name == '=') {
            snprintf(errbuf, errlen, "bad flag syntax: %s", a);
            return -EINVAL;
        }
        eq = strchr(name, '=');
        nlen = eq ? (size_t)(eq - name) : strlen(name);
        if (nlen >= sizeof(nbuf))
            nlen = sizeof(nbuf) - 1;
        memcpy(nbuf, name, nlen);
        nbuf[nlen] = 0;
        if (eq)
            val = eq + 1;

        bool *bp = strcmp(nbuf, "debug") == 0  ? &f->debug
                   : strcmp(nbuf, "v") == 0    ? &f->version
                   : strcmp(nbuf, "info") == 0 ? &f->info
                                               : NULL;
        if (bp) {
            if (val && parse_bool(val, bp) < 0) {
                snprintf(errbuf, errlen, "invalid boolean value \"%s\" for -%s", val, nbuf);
                return -EINVAL;
            }
            if (!val)
                *bp = true;
            continue;
        }
        const char **sp = strcmp(nbuf, "namespace") == 0        ? &f->namespace_
                          : strcmp(nbuf, "id") == 0             ? &f->id
                          : strcmp(nbuf, "address") == 0        ? &f->address
                          : strcmp(nbuf, "publish-binary") == 0 ? &f->publish_binary
                          : strcmp(nbuf, "bundle") == 0         ? &f->bundle
                          : strcmp(nbuf, "socket") == 0         ? &f->socket
                          : strcmp(nbuf, "debug-socket") == 0   ? &f->debug_socket
                                                                : NULL;
        if (!sp) {
            if (!f->unknown)
                f->unknown = a;
            continue; /* unknown flag: ignored (forward compatibility, spec §2.3) */
        }
        if (!val) {
            if (i + 1 >= argc) {
                snprintf(errbuf, errlen, "flag needs an argument: -%s", nbuf);
                return -EINVAL;
            }
            val = argv[++i];
        }
        *sp = val;
    }
    if (i < argc) {
        if (strcmp(argv[i], "start") == 0)
            f->action = SHIM_START;
        else if (strcmp(argv[i], "delete") == 0)
            f->action = SHIM_DELETE;
        else {
            snprintf(errbuf, errlen, "unknown action \"%s\"", argv[i]);
            return -EINVAL;
        }
    }
    if (f->version)
        f->action = SHIM_VERSION;
    else if (f->info)
        f->action = SHIM_INFO;
    return 0;
}
