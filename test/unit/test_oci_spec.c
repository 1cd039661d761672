/* agent/oci_spec.c: a strict, bounded config.json parser. */
#include <check.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>

#include "check_main.h"
#include "../../agent/oci_spec.h"

static const char *FULL =
    "{\"ociVersion\":\"1.0.2\","
    "\"process\":{\"terminal\":true,\"consoleSize\":{\"height\":40,\"width\":120},"
    " \"user\":{\"uid\":1000,\"gid\":1001,\"umask\":18,\"additionalGids\":[10,20]},"
    " \"args\":[\"sh\",\"-c\",\"echo hi\"],\"env\":[\"PATH=/bin\",\"A=b=c\"],\"cwd\":\"/tmp\","
    " \"capabilities\":{\"bounding\":[\"CAP_CHOWN\",\"CAP_KILL\"],\"effective\":[\"CAP_KILL\"],"
    "   \"permitted\":[\"CAP_KILL\"],\"inheritable\":[],\"ambient\":[\"cap_net_bind_service\"]},"
    " \"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":100,\"hard\":200},{\"type\":\"RLIMIT_CORE\",\"soft\":0,\"hard\":0}],"
    " \"noNewPrivileges\":true,\"oomScoreAdj\":-500},"
    "\"root\":{\"path\":\"rootfs\",\"readonly\":true},\"hostname\":\"h1\","
    "\"mounts\":[{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},"
    " {\"destination\":\"/data\",\"type\":\"bind\",\"source\":\"vol/data\",\"options\":[\"rbind\",\"ro\",\"rslave\"]},"
    " {\"destination\":\"/dev\",\"type\":\"tmpfs\",\"source\":\"tmpfs\",\"options\":[\"nosuid\",\"mode=755\",\"size=65536k\"]}],"
    "\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"network\",\"path\":\"/var/run/netns/x\"},"
    "   {\"type\":\"mount\"},{\"type\":\"ipc\",\"path\":\"/proc/7/ns/ipc\"}],"
    " \"maskedPaths\":[\"/proc/kcore\"],\"readonlyPaths\":[\"/proc/sys\",\"/proc/bus\"],"
    " \"sysctl\":{\"net.ipv4.ip_forward\":\"1\"},"
    " \"resources\":{\"memory\":{\"limit\":67108864,\"swap\":134217728},\"cpu\":{\"shares\":512,\"quota\":50000,\"period\":100000,\"cpus\":\"0-1\"},\"pids\":{\"limit\":-1}},"
    " \"seccomp\":{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":38,\"architectures\":[\"SCMP_ARCH_X86_64\",\"SCMP_ARCH_X86\"],"
    "   \"syscalls\":[{\"names\":[\"read\",\"write\"],\"action\":\"SCMP_ACT_ALLOW\"},"
    "     {\"names\":[\"personality\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":[{\"index\":0,\"value\":8,\"op\":\"SCMP_CMP_EQ\"}]},"
    "     {\"names\":[\"mkdir\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":1}]},"
    " \"rootfsPropagation\":\"rslave\"}}";

static struct oci_spec *parse_ok(const char *json)
{
    struct oci_spec *s = NULL;
    struct cvm_err err = {0};
    int r = oci_spec_parse(json, strlen(json), &s, &err);
    ck_assert_msg(r == 0, "parse failed: %d %s", r, err.msg);
    return s;
}

START_TEST(full_spec)
{
    struct oci_spec *s = parse_ok(FULL);
    const struct oci_process *p = &s->process;
    ck_assert(s->has_process);
    ck_assert(p->terminal);
    ck_assert_uint_eq(p->console_width, 120);
    ck_assert_uint_eq(p->user.uid, 1000);
    ck_assert_uint_eq(p->user.gid, 1001);
    ck_assert(p->user.has_umask);
    ck_assert_uint_eq(p->user.umask, 18);
    ck_assert_uint_eq(p->user.n_gids, 2);
    ck_assert_uint_eq(p->user.gids[1], 20);
    ck_assert_uint_eq(p->n_args, 3);
    ck_assert_str_eq(p->args[2], "echo hi");
    ck_assert_ptr_null(p->args[3]);
    ck_assert_str_eq(p->env[1], "A=b=c");
    ck_assert_str_eq(p->cwd, "/tmp");
    ck_assert(p->caps.present);
    ck_assert_uint_eq(p->caps.bounding, (1ull << 0) | (1ull << 5));
    ck_assert_uint_eq(p->caps.effective, 1ull << 5);
    ck_assert_uint_eq(p->caps.inheritable, 0);
    ck_assert_uint_eq(p->caps.ambient, 1ull << 10);
    ck_assert_uint_eq(p->n_rlimits, 2);
    ck_assert_int_eq(p->rlimits[0].resource, RLIMIT_NOFILE);
    ck_assert_uint_eq(p->rlimits[0].soft, 100);
    ck_assert_uint_eq(p->rlimits[0].hard, 200);
    ck_assert(p->no_new_privileges);
    ck_assert(p->has_oom_score_adj);
    ck_assert_int_eq(p->oom_score_adj, -500);
    ck_assert_str_eq(s->root_path, "rootfs");
    ck_assert(s->root_readonly);
    ck_assert_str_eq(s->hostname, "h1");
    ck_assert_uint_eq(s->n_mounts, 3);
    ck_assert(!s->mounts[0].bind);
    ck_assert(s->mounts[1].bind && s->mounts[1].recursive);
    ck_assert_uint_eq(s->mounts[1].flags, MS_RDONLY);
    ck_assert_uint_eq(s->mounts[1].propagation, MS_SLAVE | MS_REC);
    ck_assert_str_eq(s->mounts[1].source, "vol/data");
    ck_assert_uint_eq(s->mounts[2].flags, MS_NOSUID);
    ck_assert_str_eq(s->mounts[2].data, "mode=755,size=65536k");
    /* network is skipped: the VM is the network namespace */
    ck_assert_uint_eq(s->n_namespaces, 3);
    ck_assert_int_eq(s->namespaces[0].type, CLONE_NEWPID);
    ck_assert_ptr_null(s->namespaces[0].path);
    ck_assert_int_eq(s->namespaces[2].type, CLONE_NEWIPC);
    ck_assert_str_eq(s->namespaces[2].path, "/proc/7/ns/ipc");
    ck_assert_uint_eq(s->n_masked, 1);
    ck_assert_uint_eq(s->n_readonly, 2);
    ck_assert_uint_eq(s->n_sysctls, 1);
    ck_assert_str_eq(s->sysctls[0].key, "net.ipv4.ip_forward");
    ck_assert_str_eq(s->sysctls[0].value, "1");
    ck_assert_int_eq(s->resources.memory_limit, 67108864);
    ck_assert_int_eq(s->resources.memory_swap, 134217728);
    ck_assert_uint_eq(s->resources.cpu_shares, 512);
    ck_assert_int_eq(s->resources.cpu_quota, 50000);
    ck_assert_uint_eq(s->resources.cpu_period, 100000);
    ck_assert_str_eq(s->resources.cpuset_cpus, "0-1");
    ck_assert(s->resources.pids_set);
    ck_assert_int_eq(s->resources.pids_limit, 0);
    ck_assert_ptr_nonnull(s->seccomp);
    ck_assert_int_eq(s->seccomp->default_action, OCI_SCMP_ERRNO);
    ck_assert_int_eq(s->seccomp->default_errno, 38);
    ck_assert_uint_eq(s->seccomp->n_arches, 2);
    ck_assert_str_eq(s->seccomp->arches[0], "x86_64");
    ck_assert_str_eq(s->seccomp->arches[1], "x86");
    ck_assert_uint_eq(s->seccomp->n_rules, 3);
    ck_assert_uint_eq(s->seccomp->rules[0].n_names, 2);
    ck_assert_int_eq(s->seccomp->rules[1].n_args, 1);
    ck_assert_uint_eq(s->seccomp->rules[1].args[0].value, 8);
    ck_assert_int_eq(s->seccomp->rules[1].args[0].op, OCI_CMP_EQ);
    ck_assert_int_eq(s->seccomp->rules[2].action, OCI_SCMP_ERRNO);
    ck_assert_int_eq(s->seccomp->rules[2].errno_ret, 1);
    ck_assert_uint_eq(s->rootfs_propagation, MS_SLAVE | MS_REC);
    oci_spec_free(s);
}
END_TEST

/* Which containers' orphans the agent must kill when their init dies (process.c). */
START_TEST(own_pid_namespace)
{
    static const struct {
        const char *ns;
        bool own;
    } cases[] = {
        {"[{\"type\":\"pid\"},{\"type\":\"mount\"}]", true},
        {"[{\"type\":\"mount\"}]", false},                                   /* the guest's */
        {"[{\"type\":\"pid\",\"path\":\"/proc/9/ns/pid\"}]", false},          /* another's */
        {"[]", false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char j[512];
        snprintf(j, sizeof(j),
                 "{\"process\":{\"user\":{\"uid\":0,\"gid\":0},\"args\":[\"sh\"],\"cwd\":\"/\"},"
                 "\"root\":{\"path\":\"r\"},"
                 "\"linux\":{\"namespaces\":%s}}", cases[i].ns);
        struct oci_spec *s = parse_ok(j);
        ck_assert_msg(oci_spec_has_own_pidns(s) == cases[i].own, "%s", cases[i].ns);
        oci_spec_free(s);
    }
}
END_TEST

START_TEST(defaults)
{
    struct oci_spec *s = parse_ok("{\"process\":{\"user\":{\"uid\":0,\"gid\":0},\"args\":[\"true\"],\"cwd\":\"/\"},\"root\":{\"path\":\"/r\"}}");
    ck_assert(!s->process.caps.present);
    ck_assert(!s->process.user.has_umask);
    ck_assert_ptr_nonnull(s->process.env);
    ck_assert_ptr_null(s->process.env[0]);
    ck_assert_ptr_null(s->seccomp);
    ck_assert_int_eq(s->resources.memory_limit, -1);
    ck_assert(!s->resources.pids_set);
    ck_assert(!s->root_readonly);
    oci_spec_free(s);
    /* no process is fine for the parser (create requires it) */
    s = parse_ok("{\"root\":{\"path\":\"r\"}}");
    ck_assert(!s->has_process);
    oci_spec_free(s);
}
END_TEST

#define P0 "{\"process\":{\"user\":{\"uid\":0,\"gid\":0},\"args\":[\"true\"],\"cwd\":\"/\""
#define R0 "\"root\":{\"path\":\"r\"}"

static const struct {
    const char *json;
    const char *in_msg;
    int code;
} bad[] = {
    {"", "invalid JSON", RPC_INVALID_ARGUMENT},
    {"[]", "expected an object", RPC_INVALID_ARGUMENT},
    {"{\"a\":1,\"a\":2}", "invalid JSON", RPC_INVALID_ARGUMENT},
    {"{\"process\":{\"args\":\"sh\"}}", "process.user: required", RPC_INVALID_ARGUMENT},
    {P0 ",\"args\":\"sh\"}," R0 "}", "invalid JSON", RPC_INVALID_ARGUMENT}, /* duplicate key */
    {"{\"process\":{\"user\":{\"uid\":0,\"gid\":0},\"args\":\"sh\",\"cwd\":\"/\"}," R0 "}", "process.args: expected an array", RPC_INVALID_ARGUMENT},
    {"{\"process\":{\"user\":{\"uid\":0,\"gid\":0},\"args\":[],\"cwd\":\"/\"}," R0 "}", "process.args: at least one", RPC_INVALID_ARGUMENT},
    {"{\"process\":{\"user\":{\"uid\":0,\"gid\":0},\"args\":[1],\"cwd\":\"/\"}," R0 "}", "process.args[0]: expected a string", RPC_INVALID_ARGUMENT},
    {"{\"process\":{\"user\":{\"uid\":-1,\"gid\":0},\"args\":[\"a\"],\"cwd\":\"/\"}," R0 "}", "process.user.uid", RPC_INVALID_ARGUMENT},
    {"{\"process\":{\"user\":{\"uid\":4294967296,\"gid\":0},\"args\":[\"a\"],\"cwd\":\"/\"}," R0 "}", "process.user.uid", RPC_INVALID_ARGUMENT},
    {"{\"process\":{\"user\":{\"uid\":0,\"gid\":0},\"args\":[\"a\"],\"cwd\":\"tmp\"}," R0 "}", "not an absolute path", RPC_INVALID_ARGUMENT},
    {"{\"process\":{\"user\":{\"uid\":0,\"gid\":0},\"args\":[\"a\"],\"cwd\":\"/a/../b\"}," R0 "}", "\"..\" is not allowed", RPC_INVALID_ARGUMENT},
    {"{\"process\":{\"user\":{\"uid\":0,\"gid\":0},\"args\":[\"a\"],\"cwd\":\"/\",\"env\":[\"NOEQUALS\"]}," R0 "}", "process.env[0]", RPC_INVALID_ARGUMENT},
    {P0 ",\"capabilities\":{\"bounding\":[\"CAP_FLY\"]}}," R0 "}", "unknown capability", RPC_INVALID_ARGUMENT},
    {P0 ",\"rlimits\":[{\"type\":\"RLIMIT_FOO\",\"soft\":1,\"hard\":1}]}," R0 "}", "unknown rlimit", RPC_INVALID_ARGUMENT},
    {P0 ",\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":2,\"hard\":1}]}," R0 "}", "soft limit above hard", RPC_INVALID_ARGUMENT},
    {P0 ",\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":1,\"hard\":1},{\"type\":\"RLIMIT_NOFILE\",\"soft\":1,\"hard\":1}]}," R0 "}", "duplicate rlimit", RPC_INVALID_ARGUMENT},
    {P0 ",\"oomScoreAdj\":1001}," R0 "}", "process.oomScoreAdj", RPC_INVALID_ARGUMENT},
    {P0 ",\"terminal\":\"yes\"}," R0 "}", "process.terminal", RPC_INVALID_ARGUMENT},
    {P0 "}}", "root: required", RPC_INVALID_ARGUMENT},
    {P0 "},\"root\":{\"path\":\"\"}}", "root.path: empty", RPC_INVALID_ARGUMENT},
    {P0 "}," R0 ",\"mounts\":[{\"destination\":\"rel\",\"type\":\"tmpfs\"}]}", "mounts[0].destination", RPC_INVALID_ARGUMENT},
    {P0 "}," R0 ",\"mounts\":[{\"destination\":\"/a/../../etc\",\"type\":\"tmpfs\"}]}", "\"..\"", RPC_INVALID_ARGUMENT},
    {P0 "}," R0 ",\"mounts\":[{\"destination\":\"/a\",\"type\":\"bind\"}]}", "needs a source", RPC_INVALID_ARGUMENT},
    {P0 "}," R0 ",\"mounts\":[{\"destination\":\"/a\"}]}", "type required", RPC_INVALID_ARGUMENT},
    {P0 "}," R0 ",\"mounts\":[{\"destination\":\"/a\",\"type\":\"tmpfs\",\"options\":[\"a,b\"]}]}", "','", RPC_INVALID_ARGUMENT},
    {P0 "}," R0 ",\"hostname\":\"a/b\"}", "hostname", RPC_INVALID_ARGUMENT},
    {P0 "}," R0 ",\"linux\":{\"namespaces\":[{\"type\":\"user\"}]}}", "not supported", RPC_UNIMPLEMENTED},
    {P0 "}," R0 ",\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"pid\"}]}}", "duplicate", RPC_INVALID_ARGUMENT},
    {P0 "}," R0 ",\"linux\":{\"namespaces\":[{\"type\":\"bogus\"}]}}", "unknown namespace", RPC_INVALID_ARGUMENT},
    {P0 "}," R0 ",\"linux\":{\"uidMappings\":[{\"containerID\":0,\"hostID\":1000,\"size\":1}]}}", "user namespaces", RPC_UNIMPLEMENTED},
    {P0 "}," R0 ",\"linux\":{\"sysctl\":{\"../../etc/x\":\"1\"}}}", "bad sysctl name", RPC_INVALID_ARGUMENT},
    {P0 "}," R0 ",\"linux\":{\"sysctl\":{\"kernel.x\":1}}}", "linux.sysctl.kernel.x", RPC_INVALID_ARGUMENT},
    {P0 "}," R0 ",\"linux\":{\"resources\":{\"cpu\":{\"period\":10}}}}", "period", RPC_INVALID_ARGUMENT},
    {P0 "}," R0 ",\"linux\":{\"resources\":{\"cpu\":{\"cpus\":\"0-1;rm\"}}}}", "CPU list", RPC_INVALID_ARGUMENT},
    {P0 "}," R0 ",\"linux\":{\"resources\":{\"memory\":{\"limit\":100,\"swap\":50}}}}", "swap", RPC_INVALID_ARGUMENT},
    {P0 "}," R0 ",\"linux\":{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_NOTIFY\"}}}", "unsupported seccomp action", RPC_INVALID_ARGUMENT},
    {P0 "}," R0 ",\"linux\":{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":[\"x86_64\"]}}}", "unknown architecture", RPC_INVALID_ARGUMENT},
    {P0 "}," R0 ",\"linux\":{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"kill\"],\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":6,\"value\":0,\"op\":\"SCMP_CMP_EQ\"}]}]}}}", "index over 5", RPC_INVALID_ARGUMENT},
    {P0 "}," R0 ",\"linux\":{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"kill\"],\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":1,\"value\":0,\"op\":\"SCMP_CMP_LIKE\"}]}]}}}", "unknown comparison", RPC_INVALID_ARGUMENT},
    {P0 "}," R0 ",\"linux\":{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"action\":\"SCMP_ACT_ERRNO\"}]}}}", "names: required", RPC_INVALID_ARGUMENT},
    {P0 "}," R0 ",\"linux\":{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"kill\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":5000}]}}}", "errnoRet", RPC_INVALID_ARGUMENT},
    {P0 "}," R0 ",\"linux\":{\"rootfsPropagation\":\"weird\"}}", "rootfsPropagation", RPC_INVALID_ARGUMENT},
};

START_TEST(rejects)
{
    const char *j = bad[_i].json;
    struct oci_spec *s = NULL;
    struct cvm_err err = {0};
    int r = oci_spec_parse(j, strlen(j), &s, &err);
    ck_assert_msg(r < 0, "case %d parsed: %s", _i, j);
    ck_assert_ptr_null(s);
    ck_assert_msg(strstr(err.msg, bad[_i].in_msg), "case %d: message \"%s\" lacks \"%s\"", _i, err.msg, bad[_i].in_msg);
    int code = err.code ? err.code : rpc_code_from_errno(r);
    ck_assert_msg(code == bad[_i].code, "case %d: code %d want %d (%s)", _i, code, bad[_i].code, err.msg);
}
END_TEST

START_TEST(bounds)
{
    struct cvm_err err = {0};
    struct oci_spec *s = NULL;
    /* over the document limit */
    size_t big = OCI_MAX_JSON + 10;
    char *j = malloc(big + 1);
    memset(j, ' ', big);
    j[big] = '\0';
    ck_assert_int_eq(oci_spec_parse(j, big, &s, &err), -E2BIG);
    free(j);
    /* too many args */
    size_t cap = 64 + (OCI_MAX_ARGS + 1) * 4 + 200;
    j = malloc(cap);
    size_t n = (size_t)snprintf(j, cap, "{\"process\":{\"user\":{\"uid\":0,\"gid\":0},\"cwd\":\"/\",\"args\":[");
    for (unsigned i = 0; i <= OCI_MAX_ARGS; i++)
        n += (size_t)snprintf(j + n, cap - n, "%s\"a\"", i ? "," : "");
    n += (size_t)snprintf(j + n, cap - n, "]},\"root\":{\"path\":\"r\"}}");
    memset(&err, 0, sizeof(err));
    ck_assert_int_eq(oci_spec_parse(j, n, &s, &err), -E2BIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "process.args"));
    free(j);
    /* an embedded NUL in a string */
    static const char nul[] = "{\"process\":{\"user\":{\"uid\":0,\"gid\":0},\"cwd\":\"/\",\"args\":[\"a\\u0000b\"]},\"root\":{\"path\":\"r\"}}";
    memset(&err, 0, sizeof(err));
    ck_assert_int_lt(oci_spec_parse(nul, sizeof(nul) - 1, &s, &err), 0);
    /* arguments as long as Linux allows (MAX_ARG_STRLEN), not one byte more; a path past
     * OCI_MAX_STR */
    static const struct {
        const char *field;
        size_t len;
        int want;
    } longs[] = {{"args", 20000, 0}, {"args", OCI_MAX_ARG_STR, 0}, {"args", OCI_MAX_ARG_STR + 1, -E2BIG},
                 {"env", OCI_MAX_ARG_STR, 0}, {"env", OCI_MAX_ARG_STR + 1, -E2BIG},
                 {"cwd", OCI_MAX_STR + 1, -E2BIG}};
    for (size_t k = 0; k < sizeof(longs) / sizeof(longs[0]); k++) {
        bool cwd = strcmp(longs[k].field, "cwd") == 0;
        cap = longs[k].len + 400;
        j = malloc(cap);
        bool env = strcmp(longs[k].field, "env") == 0;
        size_t lead = cwd ? 1 : env ? 2 : 0; /* "/" of a path, "K=" of an environment entry */
        n = (size_t)snprintf(j, cap, "{\"process\":{\"user\":{\"uid\":0,\"gid\":0},%s\"%s\":%s\"%s",
                             cwd ? "\"args\":[\"a\"]," : "\"cwd\":\"/\",", longs[k].field,
                             cwd ? "" : "[", cwd ? "/" : env ? "K=" : "");
        memset(j + n, 'x', longs[k].len - lead);
        n += longs[k].len - lead;
        n += (size_t)snprintf(j + n, cap - n, "\"%s%s},\"root\":{\"path\":\"r\"}}", cwd ? "" : "]",
                              env ? ",\"args\":[\"a\"]" : "");
        memset(&err, 0, sizeof(err));
        int r = oci_spec_parse(j, n, &s, &err);
        ck_assert_msg(r == longs[k].want, "%s of %zu bytes: %d (%s)", longs[k].field, longs[k].len, r, err.msg);
        if (r == 0) {
            oci_spec_free(s);
            s = NULL;
        }
        else
            ck_assert_msg(strstr(err.msg, longs[k].field), "%s", err.msg);
        free(j);
    }
}
END_TEST

START_TEST(process_and_resources)
{
    struct oci_process p;
    struct oci_resources r;
    struct cvm_err err = {0};
    const char *pj = "{\"user\":{\"uid\":5,\"gid\":6},\"args\":[\"cat\"],\"cwd\":\"/\",\"terminal\":true}";
    ck_assert_int_eq(oci_process_parse(pj, strlen(pj), &p, &err), 0);
    ck_assert_uint_eq(p.user.uid, 5);
    ck_assert(p.terminal);
    oci_process_done(&p);
    ck_assert_int_lt(oci_process_parse("{\"args\":[\"cat\"]}", 16, &p, &err), 0);
    ck_assert_ptr_nonnull(strstr(err.msg, "process.user"));

    const char *rj = "{\"memory\":{\"limit\":1048576},\"pids\":{\"limit\":20},\"cpu\":{\"quota\":-1}}";
    memset(&err, 0, sizeof(err));
    ck_assert_int_eq(oci_resources_parse(rj, strlen(rj), &r, &err), 0);
    ck_assert_int_eq(r.memory_limit, 1048576);
    ck_assert_int_eq(r.pids_limit, 20);
    ck_assert_int_eq(r.cpu_quota, -1);
    oci_resources_done(&r);
    const char *bad_r = "{\"memory\":{\"limit\":\"1G\"}}";
    ck_assert_int_lt(oci_resources_parse(bad_r, strlen(bad_r), &r, &err), 0);
    ck_assert_ptr_nonnull(strstr(err.msg, "resources.memory.limit"));
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("oci_spec");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, full_spec);
    tcase_add_test(tc, defaults);
    tcase_add_test(tc, own_pid_namespace);
    tcase_add_loop_test(tc, rejects, 0, (int)(sizeof(bad) / sizeof(bad[0])));
    tcase_add_test(tc, bounds);
    tcase_add_test(tc, process_and_resources);
    suite_add_tcase(s, tc);
    return s;
}

CVM_CHECK_MAIN(suite)
