/* See args.h. */
#include "args.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

struct flag_spec {
    const char *name;
    char alias; /* single-letter alias, 0 = none */
    bool value; /* takes a value */
};

struct cmd_spec {
    const char *name;
    const struct flag_spec *flags;
    bool operands_end_flags; /* after the first operand everything is an operand (exec) */
};

#define END                                                                                        \
    {                                                                                              \
        NULL, 0, false                                                                             \
    }

static const struct flag_spec global_flags[] = {
    {"root", 0, true},
    {"log", 0, true},
    {"log-format", 0, true},
    {"cvm-config", 0, true},
    {"systemd-cgroup", 0, false},
    {"debug", 0, false},
    {"criu", 0, true},
    {"rootless", 0, true},
    {"help", 'h', false},
    {"version", 'v', false},
    END,
};

static const struct flag_spec create_flags[] = {
    {"bundle", 'b', true},
    {"pid-file", 0, true},
    {"console-socket", 0, true},
    {"no-pivot", 0, false},
    {"no-new-keyring", 0, false},
    {"preserve-fds", 0, true},
    END,
};
static const struct flag_spec run_flags[] = {
    {"bundle", 'b', true},  {"pid-file", 0, true},        {"console-socket", 0, true},
    {"no-pivot", 0, false}, {"no-new-keyring", 0, false}, {"preserve-fds", 0, true},
    {"detach", 'd', false}, {"keep", 0, false},           END,
};
static const struct flag_spec none_flags[] = {END};
static const struct flag_spec kill_flags[] = {{"all", 'a', false}, END};
static const struct flag_spec delete_flags[] = {{"force", 'f', false}, END};
static const struct flag_spec list_flags[] = {{"format", 'f', true}, {"quiet", 'q', false}, END};
static const struct flag_spec ps_flags[] = {{"format", 'f', true}, END};
static const struct flag_spec exec_flags[] = {
    {"process", 'p', true},
    {"detach", 'd', false},
    {"pid-file", 0, true},
    {"tty", 't', false},
    {"console-socket", 0, true},
    {"cwd", 0, true},
    {"env", 'e', true},
    {"user", 'u', true},
    {"additional-gids", 'g', true},
    {"no-new-privs", 0, false},
    {"cap", 'c', true},
    {"preserve-fds", 0, true},
    {"process-label", 0, true},
    {"apparmor", 0, true},
    {"cgroup", 0, true},
    END,
};
static const struct flag_spec update_flags[] = {
    {"resources", 'r', true},        {"blkio-weight", 0, true},
    {"cpu-period", 0, true},         {"cpu-quota", 0, true},
    {"cpu-share", 0, true},          {"cpu-rt-period", 0, true},
    {"cpu-rt-runtime", 0, true},     {"cpuset-cpus", 0, true},
    {"cpuset-mems", 0, true},        {"memory", 0, true},
    {"memory-reservation", 0, true}, {"memory-swap", 0, true},
    {"pids-limit", 0, true},         {"l3-cache-schema", 0, true},
    {"mem-bw-schema", 0, true},      END,
};
static const struct flag_spec events_flags[] = {{"stats", 0, false}, {"interval", 0, true}, END};

static const struct cmd_spec cmds[] = {
    {"create", create_flags, false}, {"run", run_flags, false},     {"start", none_flags, false},
    {"state", none_flags, false},    {"kill", kill_flags, false},   {"delete", delete_flags, false},
    {"list", list_flags, false},     {"ps", ps_flags, true},        {"exec", exec_flags, true},
    {"pause", none_flags, false},    {"resume", none_flags, false}, {"update", update_flags, false},
    {"events", events_flags, false},
};

static const struct flag_spec *find_flag(const struct flag_spec *t, const char *name, size_t len)
{
    for (; t->name; t++) {
        if (len == 1 && t->alias == name[0])
            return t;
        if (strlen(t->name) == len && strncmp(t->name, name, len) == 0)
            return t;
    }
    return NULL;
}

static bool is_bool_text(const char *v)
{
    return strcmp(v, "true") == 0 || strcmp(v, "false") == 0;
}

/* One flag at argv[*i] (which starts with '-'). *i moves past its value. */
static int take_flag(int argc, char **argv, int *i, const struct flag_spec *t, const char *where,
                     const struct flag_spec **ret, const char **ret_value, char *err, size_t n)
{
    const char *a = argv[*i], *name = a + 1, *eq;
    if (*name == '-')
        name++;
    eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    const struct flag_spec *f = len ? find_flag(t, name, len) : NULL;
    if (!f) {
        snprintf(err, n, "flag provided but not defined: %s%.*s", where,
                 (int)(len + (size_t)(name - a)), a);
        return -EINVAL;
    }
    if (!f->value) {
        if (eq && !is_bool_text(eq + 1)) {
            snprintf(err, n, "invalid boolean value \"%s\" for -%s", eq + 1, f->name);
            return -EINVAL;
        }
        *ret_value = eq ? eq + 1 : "true";
    } else if (eq) {
        *ret_value = eq + 1;
    } else if (*i + 1 < argc) {
        *ret_value = argv[++*i];
    } else {
        snprintf(err, n, "flag needs an argument: -%s", f->name);
        return -EINVAL;
    }
    *ret = f;
    return 0;
}

static void set_global(struct rt_args *r, const char *name, const char *v)
{
    bool on = strcmp(v, "false") != 0;
    if (strcmp(name, "root") == 0)
        r->root = v;
    else if (strcmp(name, "log") == 0)
        r->log = v;
    else if (strcmp(name, "log-format") == 0)
        r->log_format = v;
    else if (strcmp(name, "cvm-config") == 0)
        r->cvm_config = v;
    else if (strcmp(name, "systemd-cgroup") == 0)
        r->systemd_cgroup = on;
    else if (strcmp(name, "debug") == 0)
        r->debug = on;
    else if (strcmp(name, "help") == 0)
        r->help = on;
    else if (strcmp(name, "version") == 0)
        r->version = on;
    /* criu, rootless: accepted, nothing to do in a VM */
}

int rt_args_parse(int argc, char **argv, struct rt_args *r, char *err, size_t n)
{
    const struct cmd_spec *cmd = NULL;
    int i = 1;

    memset(r, 0, sizeof(*r));
    err[0] = 0;
    for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
        const struct flag_spec *f;
        const char *v;
        if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        }
        if (take_flag(argc, argv, &i, global_flags, "", &f, &v, err, n) < 0)
            return -EINVAL;
        set_global(r, f->name, v);
    }
    if (i >= argc) {
        if (r->help || r->version)
            return 0;
        snprintf(err, n, "no command given");
        return -EINVAL;
    }
    for (size_t k = 0; k < sizeof(cmds) / sizeof(cmds[0]); k++)
        if (strcmp(cmds[k].name, argv[i]) == 0)
            cmd = &cmds[k];
    if (!cmd) {
        snprintf(err, n, "No help topic for '%s'", argv[i]);
        return -EINVAL;
    }
    r->cmd = cmd->name;
    bool flags_done = false;
    for (i++; i < argc; i++) {
        const char *a = argv[i];
        if (!flags_done && strcmp(a, "--") == 0) {
            flags_done = true;
            continue;
        }
        if (!flags_done && a[0] == '-' && a[1]) {
            const struct flag_spec *f;
            const char *v;
            if (take_flag(argc, argv, &i, cmd->flags, "", &f, &v, err, n) < 0)
                return -EINVAL;
            if (r->n_flags >= RT_MAX_FLAGS) {
                snprintf(err, n, "too many flags");
                return -EINVAL;
            }
            r->flags[r->n_flags++] = (struct rt_flag_val){f->name, v};
            continue;
        }
        if (r->n_operands >= RT_MAX_OPERANDS) {
            snprintf(err, n, "too many arguments");
            return -EINVAL;
        }
        r->operands[r->n_operands++] = a;
        if (cmd->operands_end_flags)
            flags_done = true;
    }
    return 0;
}

const char *rt_flag(const struct rt_args *a, const char *name)
{
    const char *v = NULL;
    for (size_t i = 0; i < a->n_flags; i++)
        if (strcmp(a->flags[i].name, name) == 0)
            v = a->flags[i].value;
    return v;
}

bool rt_flag_bool(const struct rt_args *a, const char *name)
{
    const char *v = rt_flag(a, name);
    return v && strcmp(v, "false") != 0;
}
