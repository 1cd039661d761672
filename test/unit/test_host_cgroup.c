/* shim/host_cgroup_path.c and host_cgroup_limits.c (pure): cgroupsPath in runc's cgroupfs and
 * systemd forms, /proc/<pid>/cgroup and mountinfo lines, the crash record's lines,
 * linux.resources -> the VM's host values and the v1/v2 files they go to;
 * shim/host_cgroup_sandbox.c: runc's shim options. As root, shim/host_cgroup.c on the host's
 * cgroupfs (case "host"): a cgroup that existed, holding a process that is not ours, is joined,
 * never emptied, never limited, never removed (also by the crash path); a fresh one is. */
#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../shim/cgroup/host_cgroup.h"
#include "loop.h"
#include "../../shim/cgroup/host_cgroup_limits.h"
#include "../../shim/cgroup/host_cgroup_path.h"
#include "../../shim/cgroup/host_cgroup_sandbox.h"
#include "check_main.h"
#include "containerd/linux/runc/runctypes.pb-c.h"
#include "containerd/runc/v1/options.pb-c.h"

static const struct {
    const char *in;
    int rc;
    const char *out;
    bool relative, systemd;
} path_cases[] = {
    {"/default/c1", 0, "/default/c1", false, false},
    {"/a//b/./c/", 0, "/a/b/c", false, false},
    {"/../../etc", 0, "/etc", false, false},        /* never above the root (runc CleanPath) */
    {"/a/b/../../..", 0, "/", false, false},
    {"/", 0, "/", false, false},
    {"a/b", 0, "a/b", true, false},                 /* below our own cgroup */
    {"../x", 0, "x", true, false},
    {"./", 0, ".", true, false},
    /* systemd: slice:prefix:name */
    {"kubepods-besteffort-pod1.slice:cri-containerd:abc", 0,
     "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice/cri-containerd-abc.scope",
     false, true},
    {"system.slice:docker:x", 0, "/system.slice/docker-x.scope", false, true},
    {":cvm:x", 0, "/system.slice/cvm-x.scope", false, true},     /* empty slice: system.slice */
    {"-.slice:p:n", 0, "/p-n.scope", false, true},              /* the root slice */
    {"a.slice::n", 0, "/a.slice/-n.scope", false, true},        /* empty prefix, as runc names it */
    {"a-b.slice:p:c.slice", 0, "/a.slice/a-b.slice/c.slice", false, true}, /* a slice as the unit */
    {"a--b.slice:p:n", -EINVAL, NULL, false, false},
    {"-a.slice:p:n", -EINVAL, NULL, false, false},
    {"a-.slice:p:n", -EINVAL, NULL, false, false},
    {"a:p:n", -EINVAL, NULL, false, false},                     /* no .slice */
    {".slice:p:n", -EINVAL, NULL, false, false},
    {"a.slice:p:", -EINVAL, NULL, false, false},                /* empty name */
    {"a.slice:p/q:n", -EINVAL, NULL, false, false},
    {"a.slice:p:n/m", -EINVAL, NULL, false, false},
    {"a/b.slice:p:n", -EINVAL, NULL, false, false},             /* '/' in the slice */
    {"a:b:c:d", 0, "a:b:c:d", true, false},                     /* three ':': a cgroupfs name */
    {"/a.slice:p:n", 0, "/a.slice:p:n", false, false},          /* absolute: cgroupfs */
    {"", -EINVAL, NULL, false, false},
    {"/a\nb", -EINVAL, NULL, false, false},
};

START_TEST(test_path_table)
{
    struct hcg_path p;
    struct cvm_err e = {0};
    int rc = hcg_path_parse(path_cases[_i].in, &p, &e);
    ck_assert_msg(rc == path_cases[_i].rc, "'%s': rc %d (%s)", path_cases[_i].in, rc, e.msg);
    if (rc == 0) {
        ck_assert_str_eq(p.path, path_cases[_i].out);
        ck_assert_int_eq(p.relative, path_cases[_i].relative);
        ck_assert_int_eq(p.systemd, path_cases[_i].systemd);
    } else {
        ck_assert_msg(e.msg[0], "no message for '%s'", path_cases[_i].in);
    }
}
END_TEST

START_TEST(test_path_limits)
{
    char big[HCG_PATH_MAX + 10], comp[300];
    struct hcg_path p;
    struct cvm_err e = {0};
    memset(big, 'a', sizeof(big) - 1);
    big[0] = '/';
    big[sizeof(big) - 1] = '\0';
    ck_assert_int_eq(hcg_path_parse(big, &p, &e), -EINVAL);
    memset(comp, 'b', sizeof(comp) - 1);
    comp[0] = '/';
    comp[sizeof(comp) - 1] = '\0';
    ck_assert_int_eq(hcg_path_parse(comp, &p, &e), -EINVAL); /* a component past NAME_MAX */
    ck_assert_int_eq(hcg_path_parse(NULL, &p, &e), -EINVAL);
    char out[8];
    ck_assert_int_lt(hcg_expand_slice("abcdefgh.slice", out, sizeof(out)), 0); /* no room */
    ck_assert_int_eq(hcg_expand_slice("a-b.slice", big, sizeof(big)), 0);
    ck_assert_str_eq(big, "/a.slice/a-b.slice");
}
END_TEST

START_TEST(test_proc_cgroup_lines)
{
    char c[HCG_CTRLS_MAX], p[256];
    ck_assert_int_eq(hcg_parse_proc_cgroup_line("4:memory:/a/b\n", c, sizeof(c), p, sizeof(p)), 0);
    ck_assert_str_eq(c, "memory");
    ck_assert_str_eq(p, "/a/b");
    ck_assert_int_eq(hcg_parse_proc_cgroup_line("0::/", c, sizeof(c), p, sizeof(p)), 0);
    ck_assert_str_eq(c, "");
    ck_assert_str_eq(p, "/");
    ck_assert_int_eq(hcg_parse_proc_cgroup_line("9:name=systemd:/x:y", c, sizeof(c), p, sizeof(p)), 0);
    ck_assert_str_eq(c, "name=systemd");
    ck_assert_str_eq(p, "/x:y");
    ck_assert_int_eq(hcg_parse_proc_cgroup_line("x:memory:/a", c, sizeof(c), p, sizeof(p)), -EINVAL);
    ck_assert_int_eq(hcg_parse_proc_cgroup_line("4:memory", c, sizeof(c), p, sizeof(p)), -EINVAL);
    ck_assert_int_eq(hcg_parse_proc_cgroup_line("4:memory:rel", c, sizeof(c), p, sizeof(p)), -EINVAL);
    ck_assert_int_eq(hcg_parse_proc_cgroup_line(":memory:/a", c, sizeof(c), p, sizeof(p)), -EINVAL);
}
END_TEST

START_TEST(test_mountinfo_lines)
{
    char c[HCG_CTRLS_MAX], m[256], r[256];
    bool v2 = true;
    ck_assert_int_eq(hcg_parse_mountinfo_line("30 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:9 - cgroup cgroup rw,cpu,cpuacct\n",
                                              &v2, c, sizeof(c), m, sizeof(m), r, sizeof(r)), 1);
    ck_assert(!v2);
    ck_assert_str_eq(c, "cpu,cpuacct");
    ck_assert_str_eq(m, "/sys/fs/cgroup/cpu,cpuacct");
    ck_assert_str_eq(r, "/");
    ck_assert_int_eq(hcg_parse_mountinfo_line("31 25 0:27 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,release_agent=/x,name=systemd",
                                              &v2, c, sizeof(c), m, sizeof(m), r, sizeof(r)), 1);
    ck_assert_str_eq(c, "name=systemd");
    ck_assert_int_eq(hcg_parse_mountinfo_line("32 25 0:28 /sub /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw,nsdelegate",
                                              &v2, c, sizeof(c), m, sizeof(m), r, sizeof(r)), 1);
    ck_assert(v2);
    ck_assert_str_eq(c, "");
    ck_assert_str_eq(r, "/sub");
    ck_assert_int_eq(hcg_parse_mountinfo_line("33 25 0:29 / /mnt/a\\040b rw - ext4 /dev/sda rw",
                                              &v2, c, sizeof(c), m, sizeof(m), r, sizeof(r)), 0);
    ck_assert_str_eq(m, "/mnt/a b");
    ck_assert_int_eq(hcg_parse_mountinfo_line("33 25 0:29 / /x rw", &v2, c, sizeof(c), m, sizeof(m), r, sizeof(r)), -EINVAL);
    ck_assert_int_eq(hcg_parse_mountinfo_line("33 25 0:29 / /x rw - cgroup cgroup rw", &v2, c, sizeof(c), m, sizeof(m), r, sizeof(r)), -EINVAL);
    ck_assert(hcg_has_controller("cpu,cpuacct", "cpu"));
    ck_assert(hcg_has_controller("cpu,cpuacct", "cpuacct"));
    ck_assert(!hcg_has_controller("cpuacct,cpuset", "cpu"));
    ck_assert(!hcg_has_controller("", "cpu"));
}
END_TEST

static void parse(const char *json, struct hcg_resources *r, int want_rc)
{
    json_t *j = json_loads(json, 0, NULL);
    struct cvm_err e = {0};
    ck_assert_ptr_nonnull(j);
    ck_assert_msg(hcg_resources_parse(j, r, &e) == want_rc, "%s: %s", json, e.msg);
    json_decref(j);
}

START_TEST(test_resources_and_host_values)
{
    struct hcg_resources g, h;
    struct hcg_overhead o = {.guest_ram = 256ull << 20, .vmm_memory = 80ull << 20, .vmm_tasks = 128};
    struct hcg_write w[HCG_WRITES_MAX];

    parse("{\"memory\":{\"limit\":33554432},\"cpu\":{\"shares\":512,\"quota\":50000,\"period\":100000},\"pids\":{\"limit\":40}}", &g, 0);
    ck_assert(g.has_memory && g.memory == 33554432);
    hcg_host_values(&g, &o, &h);
    ck_assert_int_eq(h.memory, (int64_t)(336ull << 20)); /* the VM's bound, not the container's */
    ck_assert_int_eq(h.pids, 168);
    ck_assert_uint_eq(h.shares, 512);
    ck_assert_int_eq(h.quota, 50000);
    size_t n = hcg_writes(&h, false, w);
    ck_assert_uint_eq(n, 5);
    ck_assert_str_eq(w[0].file, "memory.limit_in_bytes");
    ck_assert_str_eq(w[0].value, "352321536");
    ck_assert_str_eq(w[1].file, "cpu.shares");
    ck_assert_str_eq(w[2].file, "cpu.cfs_period_us"); /* before the quota: the kernel checks it */
    ck_assert_str_eq(w[3].file, "cpu.cfs_quota_us");
    ck_assert_str_eq(w[3].value, "50000");
    ck_assert_str_eq(w[4].value, "168");
    n = hcg_writes(&h, true, w);
    ck_assert_uint_eq(n, 4);
    ck_assert_str_eq(w[0].file, "memory.max");
    ck_assert_str_eq(w[1].file, "cpu.weight");
    ck_assert_str_eq(w[1].value, "20"); /* runc: 1 + (510 * 9999) / 262142 */
    ck_assert_str_eq(w[2].file, "cpu.max");
    ck_assert_str_eq(w[2].value, "50000 100000");
    ck_assert_str_eq(w[3].file, "pids.max");

    /* unlimited stays unlimited; 0 means unset (runc) */
    parse("{\"memory\":{\"limit\":-1},\"cpu\":{\"quota\":-1},\"pids\":{\"limit\":-1}}", &g, 0);
    hcg_host_values(&g, &o, &h);
    n = hcg_writes(&h, true, w);
    ck_assert_uint_eq(n, 3);
    ck_assert_str_eq(w[0].value, "max");
    ck_assert_str_eq(w[1].value, "max 100000");
    ck_assert_str_eq(w[2].value, "max");
    n = hcg_writes(&h, false, w);
    ck_assert_str_eq(w[0].value, "-1");
    ck_assert_str_eq(w[1].value, "-1");
    parse("{\"memory\":{\"limit\":0},\"pids\":{\"limit\":0},\"cpu\":{\"shares\":0}}", &g, 0);
    ck_assert_uint_eq(hcg_writes(&g, false, w), 0);
    parse("{}", &g, 0);
    ck_assert_uint_eq(hcg_writes(&g, true, w), 0);
    ck_assert_int_eq(hcg_resources_parse(NULL, &g, NULL), 0);

    /* refused with the key named */
    parse("{\"memory\":{\"limit\":\"1G\"}}", &g, -EINVAL);
    parse("{\"memory\":{\"limit\":-2}}", &g, -EINVAL);
    parse("{\"cpu\":{\"shares\":1}}", &g, -EINVAL);
    parse("{\"cpu\":{\"shares\":262145}}", &g, -EINVAL);
    parse("{\"cpu\":{\"period\":999}}", &g, -EINVAL);
    parse("{\"cpu\":{\"quota\":500}}", &g, -EINVAL);
    parse("{\"pids\":{\"limit\":-5}}", &g, -EINVAL);
    ck_assert_uint_eq(hcg_shares_to_weight(2), 1);
    ck_assert_uint_eq(hcg_shares_to_weight(262144), 10000);
    ck_assert_uint_eq(hcg_shares_to_weight(1024), 39);
}
END_TEST

static int check_opts(Containerd__Runc__V1__Options *o, char *cg, size_t n, struct cvm_err *e)
{
    uint8_t buf[512];
    Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
    any.type_url = RUNC_OPTIONS_URL;
    any.value.data = buf;
    any.value.len = containerd__runc__v1__options__pack(o, buf);
    return runc_options_check(&any, cg, n, e);
}

START_TEST(test_runc_options)
{
    char cg[256];
    struct cvm_err e = {0};
    Containerd__Runc__V1__Options o = CONTAINERD__RUNC__V1__OPTIONS__INIT;
    ck_assert_int_eq(check_opts(&o, cg, sizeof(cg), &e), 0);
    ck_assert_str_eq(cg, "");
    o.shim_cgroup = "/shims/a";
    o.systemd_cgroup = true;
    ck_assert_int_eq(check_opts(&o, cg, sizeof(cg), &e), 0);
    ck_assert_str_eq(cg, "/shims/a");
    o.io_uid = 1000;
    ck_assert_int_eq(check_opts(&o, cg, sizeof(cg), &e), -EINVAL);
    ck_assert_int_eq(e.code, RPC_INVALID_ARGUMENT);
    ck_assert_msg(strstr(e.msg, "containerd.runc.v1.Options.io_uid"), "%s", e.msg);
    o.io_uid = 0;
    o.binary_name = "/usr/bin/runc";
    e = (struct cvm_err){0}; /* the first message stays otherwise */
    ck_assert_int_eq(check_opts(&o, cg, sizeof(cg), &e), -EINVAL);
    ck_assert_msg(strstr(e.msg, "binary_name"), "%s", e.msg);
    o.binary_name = "";
    o.criu_work_path = "/w";
    e = (struct cvm_err){0};
    ck_assert_int_eq(check_opts(&o, cg, sizeof(cg), &e), -EINVAL);
    ck_assert_msg(strstr(e.msg, "criu_work_path"), "%s", e.msg);
    /* not runc's options: nothing to say */
    Google__Protobuf__Any other = GOOGLE__PROTOBUF__ANY__INIT;
    other.type_url = "runtimeoptions.v1.Options";
    ck_assert_int_eq(runc_options_check(&other, cg, sizeof(cg), &e), 0);
    ck_assert_int_eq(runc_options_check(NULL, cg, sizeof(cg), &e), 0);
    /* garbage under runc's type URL */
    uint8_t junk[] = {0xff, 0xff, 0xff};
    other.type_url = RUNC_OPTIONS_URL;
    other.value.data = junk;
    other.value.len = sizeof(junk);
    ck_assert_int_eq(runc_options_check(&other, cg, sizeof(cg), &e), -EINVAL);
}
END_TEST

/* containerd 1.x's WithShimCgroup for a runtime not named io.containerd.runc.* sends
 * containerd.linux.runc.CreateOptions (TestShimInCgroup): shim_cgroup taken, the rest refused. */
START_TEST(test_runctypes_create_options)
{
    char cg[256];
    uint8_t buf[512];
    struct cvm_err e = {0};
    Containerd__Linux__Runc__CreateOptions o = CONTAINERD__LINUX__RUNC__CREATE_OPTIONS__INIT;
    Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
    any.type_url = RUNCTYPES_CREATE_OPTIONS_URL;
    any.value.data = buf;
    o.shim_cgroup = "/containerd/TestShimInCgroup";
    any.value.len = containerd__linux__runc__create_options__pack(&o, buf);
    ck_assert_int_eq(runc_options_check(&any, cg, sizeof(cg), &e), 0);
    ck_assert_str_eq(cg, "/containerd/TestShimInCgroup");
    o.no_pivot_root = true;
    any.value.len = containerd__linux__runc__create_options__pack(&o, buf);
    ck_assert_int_eq(runc_options_check(&any, cg, sizeof(cg), &e), -EINVAL);
    ck_assert_msg(strstr(e.msg, "containerd.linux.runc.CreateOptions.no_pivot_root"), "%s", e.msg);
    uint8_t junk[] = {0xff, 0xff, 0xff};
    any.value.data = junk;
    any.value.len = sizeof(junk);
    ck_assert_int_eq(runc_options_check(&any, cg, sizeof(cg), &e), -EINVAL);
}
END_TEST

/* `start` reads the same options from stdin as a serialized Any (containerd writes the task's
 * Create options there; runc's shim joins shim_cgroup at that moment). */
static size_t any_bytes(const char *url, const uint8_t *v, size_t vlen, uint8_t *out)
{
    Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
    any.type_url = (char *)url;
    any.value.data = (uint8_t *)v;
    any.value.len = vlen;
    return google__protobuf__any__pack(&any, out);
}

START_TEST(test_start_stdin_shim_cgroup)
{
    char cg[256];
    uint8_t v[512], in[1024];
    Containerd__Runc__V1__Options ro = CONTAINERD__RUNC__V1__OPTIONS__INIT;
    Containerd__Linux__Runc__CreateOptions co = CONTAINERD__LINUX__RUNC__CREATE_OPTIONS__INIT;
    /* runc's options (a runtime named io.containerd.runc.*) */
    ro.shim_cgroup = "/containerd/shim";
    size_t n = any_bytes(RUNC_OPTIONS_URL, v, containerd__runc__v1__options__pack(&ro, v), in);
    runc_shim_cgroup_of_start_stdin(in, n, cg, sizeof(cg));
    ck_assert_str_eq(cg, "/containerd/shim");
    /* containerd 1.x's WithShimCgroup for any other runtime name (TestShimInCgroup) */
    co.shim_cgroup = "/containerd/shim2";
    n = any_bytes(RUNCTYPES_CREATE_OPTIONS_URL, v,
                  containerd__linux__runc__create_options__pack(&co, v), in);
    runc_shim_cgroup_of_start_stdin(in, n, cg, sizeof(cg));
    ck_assert_str_eq(cg, "/containerd/shim2");
    /* a field Create refuses: start leaves the cgroup alone (Create names the field) */
    co.no_pivot_root = true;
    n = any_bytes(RUNCTYPES_CREATE_OPTIONS_URL, v,
                  containerd__linux__runc__create_options__pack(&co, v), in);
    runc_shim_cgroup_of_start_stdin(in, n, cg, sizeof(cg));
    ck_assert_str_eq(cg, "");
    /* our own options type, none, a cut Any, bytes that are no Any */
    n = any_bytes("runtimeoptions.v1.Options", (const uint8_t *)"\x0a\x02/x", 4, in);
    runc_shim_cgroup_of_start_stdin(in, n, cg, sizeof(cg));
    ck_assert_str_eq(cg, "");
    runc_shim_cgroup_of_start_stdin(in, 0, cg, sizeof(cg));
    ck_assert_str_eq(cg, "");
    ro.shim_cgroup = "/containerd/shim";
    n = any_bytes(RUNC_OPTIONS_URL, v, containerd__runc__v1__options__pack(&ro, v), in);
    runc_shim_cgroup_of_start_stdin(in, n - 3, cg, sizeof(cg));
    ck_assert_str_eq(cg, "");
    runc_shim_cgroup_of_start_stdin((const uint8_t *)"\xff\xff\xff", 3, cg, sizeof(cg));
    ck_assert_str_eq(cg, "");
    /* a shim_cgroup longer than the caller's buffer is none */
    runc_shim_cgroup_of_start_stdin(in, n, cg, 8);
    ck_assert_str_eq(cg, "");
}
END_TEST

START_TEST(test_record_lines)
{
    char d[64], line[64];
    ck_assert_int_eq(hcg_parse_record_line("created /sys/fs/cgroup/memory/a/b\n", d, sizeof(d)), 1);
    ck_assert_str_eq(d, "/sys/fs/cgroup/memory/a/b");
    ck_assert_int_eq(hcg_parse_record_line("joined /sys/fs/cgroup/a", d, sizeof(d)), 0);
    ck_assert_str_eq(d, "/sys/fs/cgroup/a");
    /* an older record's bare path says nothing of who made it: left alone */
    ck_assert_int_eq(hcg_parse_record_line("/sys/fs/cgroup/memory/a\n", d, sizeof(d)), -EINVAL);
    ck_assert_int_eq(hcg_parse_record_line("created \n", d, sizeof(d)), -EINVAL);
    ck_assert_int_eq(hcg_parse_record_line("created", d, sizeof(d)), -EINVAL);
    ck_assert_int_eq(hcg_parse_record_line("createdx /a", d, sizeof(d)), -EINVAL);
    ck_assert_int_eq(hcg_parse_record_line("created /a\tb", d, sizeof(d)), -EINVAL);
    ck_assert_int_eq(hcg_parse_record_line("created /a\n/b", d, sizeof(d)), -EINVAL);
    ck_assert_int_eq(hcg_parse_record_line("Created /a", d, sizeof(d)), -EINVAL);
    ck_assert_int_eq(hcg_parse_record_line("created /0123456789012345678901234567890123456789"
                                           "012345678901234567890123", d, sizeof(d)), -EINVAL);
    ck_assert_int_eq(hcg_format_record_line(true, "/x/y", line, sizeof(line)), 0);
    ck_assert_str_eq(line, "created /x/y\n");
    ck_assert_int_eq(hcg_parse_record_line(line, d, sizeof(d)), 1);
    ck_assert_int_eq(hcg_format_record_line(false, "/x/y", line, sizeof(line)), 0);
    ck_assert_str_eq(line, "joined /x/y\n");
    ck_assert_int_eq(hcg_parse_record_line(line, d, sizeof(d)), 0);
    ck_assert_int_eq(hcg_format_record_line(true, "/0123456789012345678901234567890123456789"
                                            "01234567890123456789", line, sizeof(line)), -ENAMETOOLONG);
}
END_TEST

/* ---- on the host's cgroupfs (root only) */

static bool can_cgroup(void)
{
    if (geteuid() != 0 || access("/sys/fs/cgroup", W_OK) != 0) {
        fprintf(stderr, "NOTE: host cgroup cases need root and a writable /sys/fs/cgroup: not run\n");
        return false;
    }
    return true;
}

/* The leaf directories of cg, from its crash record, with whether we made them. */
static size_t leaves(struct host_cgroup *cg, const char *run_dir, char dirs[][PATH_MAX], int *created)
{
    char path[PATH_MAX + 32], line[PATH_MAX + 16];
    size_t n = 0;
    ck_assert_int_eq(host_cgroup_record(cg, run_dir), 0);
    snprintf(path, sizeof(path), "%s/host_cgroup", run_dir);
    FILE *f = fopen(path, "re");
    ck_assert_ptr_nonnull(f);
    while (n < HCG_MAX_HIERARCHIES && fgets(line, sizeof(line), f)) {
        created[n] = hcg_parse_record_line(line, dirs[n], PATH_MAX);
        ck_assert_int_ge(created[n], 0);
        n++;
    }
    fclose(f);
    return n;
}

static bool is_dir(const char *d)
{
    struct stat st;
    return stat(d, &st) == 0 && S_ISDIR(st.st_mode);
}

START_TEST(test_host_fresh_removed)
{
    char top[64], path[96], run[] = "/tmp/cvm-hcg-XXXXXX", dirs[HCG_MAX_HIERARCHIES][PATH_MAX];
    int created[HCG_MAX_HIERARCHIES];
    struct host_cgroup *cg = NULL;
    struct cvm_err e = {0};
    if (!can_cgroup())
        return;
    ck_assert_ptr_nonnull(mkdtemp(run));
    snprintf(top, sizeof(top), "/cvmut%d", (int)getpid());
    snprintf(path, sizeof(path), "%s/fresh", top);
    ck_assert_msg(host_cgroup_create(path, &cg, &e) == 0, "%s", e.msg);
    size_t n = leaves(cg, run, dirs, created);
    ck_assert_uint_gt(n, 0);
    for (size_t i = 0; i < n; i++) {
        ck_assert_msg(created[i] == 1 && is_dir(dirs[i]), "%s", dirs[i]);
    }
    ck_assert_int_eq(host_cgroup_remove_once(cg), 0);
    for (size_t i = 0; i < n; i++) {
        ck_assert_msg(!is_dir(dirs[i]), "%s still there", dirs[i]);
        char parent[PATH_MAX];
        snprintf(parent, sizeof(parent), "%.*s", (int)(strrchr(dirs[i], '/') - dirs[i]), dirs[i]);
        (void)rmdir(parent); /* the parent stays, as with runc: the test's own */
    }
    host_cgroup_free(cg);
    char rec[PATH_MAX];
    snprintf(rec, sizeof(rec), "%s/host_cgroup", run);
    unlink(rec);
    rmdir(run);
}
END_TEST

START_TEST(test_host_existing_joined_not_emptied)
{
    char top[64], path[96], run[] = "/tmp/cvm-hcg-XXXXXX", dirs[HCG_MAX_HIERARCHIES][PATH_MAX];
    int created[HCG_MAX_HIERARCHIES], fds[HCG_MAX_HIERARCHIES];
    struct host_cgroup *pre = NULL, *cg = NULL;
    struct cvm_err e = {0};
    pid_t child;
    if (!can_cgroup())
        return;
    ck_assert_ptr_nonnull(mkdtemp(run));
    snprintf(top, sizeof(top), "/cvmut%d", (int)getpid());
    snprintf(path, sizeof(path), "%s/pre", top);
    /* someone else's cgroup, with someone else's process in it */
    ck_assert_msg(host_cgroup_create(path, &pre, &e) == 0, "%s", e.msg);
    child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0) {
        pause();
        _exit(0);
    }
    int nfd = host_cgroup_procs_fds(pre, fds, HCG_MAX_HIERARCHIES, &e);
    ck_assert_msg(nfd > 0, "%s", e.msg);
    char pid[16];
    snprintf(pid, sizeof(pid), "%d", (int)child);
    for (int i = 0; i < nfd; i++) {
        ck_assert_int_eq(write(fds[i], pid, strlen(pid)), (ssize_t)strlen(pid));
        close(fds[i]);
    }
    host_cgroup_free(pre); /* not ours any more: left as it is */

    ck_assert_msg(host_cgroup_create(path, &cg, &e) == 0, "%s", e.msg);
    size_t n = leaves(cg, run, dirs, created);
    ck_assert_uint_gt(n, 0);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(created[i] == 0, "%s recorded as created", dirs[i]);
    /* limits are not written into it */
    struct hcg_resources h = {.has_pids = true, .pids = 7};
    ck_assert_int_eq(host_cgroup_set(cg, &h, &e), 0);
    for (size_t i = 0; i < n; i++) {
        char f[PATH_MAX + 16], v[32] = "";
        snprintf(f, sizeof(f), "%s/pids.max", dirs[i]);
        FILE *pf = fopen(f, "re");
        if (!pf)
            continue;
        ck_assert_ptr_nonnull(fgets(v, sizeof(v), pf));
        fclose(pf);
        ck_assert_msg(strcmp(v, "7\n") != 0, "pids.max of a cgroup not ours was set");
    }
    /* delete, and delete after a crash: nothing is removed, nothing killed */
    ck_assert_int_eq(host_cgroup_remove_once(cg), 0);
    host_cgroup_remove_recorded(run, 100);
    host_cgroup_remove_at_exit(cg);
    int st;
    ck_assert_int_eq(waitpid(child, &st, WNOHANG), 0); /* still alive */
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(is_dir(dirs[i]), "%s was removed", dirs[i]);

    kill(child, SIGKILL);
    ck_assert_int_eq(waitpid(child, &st, 0), child);
    for (size_t i = 0; i < n; i++) {
        for (int t = 0; t < 100 && rmdir(dirs[i]) < 0 && errno == EBUSY; t++)
            usleep(10000);
        char parent[PATH_MAX];
        snprintf(parent, sizeof(parent), "%.*s", (int)(strrchr(dirs[i], '/') - dirs[i]), dirs[i]);
        (void)rmdir(parent);
    }
    char rec[PATH_MAX];
    snprintf(rec, sizeof(rec), "%s/host_cgroup", run);
    unlink(rec);
    rmdir(run);
}
END_TEST

/* A busy cgroup of ours: its process is not killed, the removal waits on the loop's timer
 * and finishes once the process is gone. */
START_TEST(test_host_remove_later_waits)
{
    char path[96], run[] = "/tmp/cvm-hcg-XXXXXX", dirs[HCG_MAX_HIERARCHIES][PATH_MAX];
    int created[HCG_MAX_HIERARCHIES], fds[HCG_MAX_HIERARCHIES], st;
    struct host_cgroup *cg = NULL;
    struct cvm_err e = {0};
    struct loop *l = NULL;
    pid_t child;
    if (!can_cgroup())
        return;
    ck_assert_ptr_nonnull(mkdtemp(run));
    snprintf(path, sizeof(path), "/cvmut%d/busy", (int)getpid());
    ck_assert_msg(host_cgroup_create(path, &cg, &e) == 0, "%s", e.msg);
    size_t n = leaves(cg, run, dirs, created);
    child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0) {
        pause();
        _exit(0);
    }
    int nfd = host_cgroup_procs_fds(cg, fds, HCG_MAX_HIERARCHIES, &e);
    ck_assert_int_gt(nfd, 0);
    char pid[16];
    snprintf(pid, sizeof(pid), "%d", (int)child);
    for (int i = 0; i < nfd; i++) {
        ck_assert_int_eq(write(fds[i], pid, strlen(pid)), (ssize_t)strlen(pid));
        close(fds[i]);
    }
    ck_assert_int_eq(loop_new(&l), 0);
    host_cgroup_remove_later(l, cg); /* busy: pending on a timer */
    for (int i = 0; i < 10; i++)
        (void)loop_run_once(l, 20);
    ck_assert_int_eq(waitpid(child, &st, WNOHANG), 0); /* not killed */
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(is_dir(dirs[i]), "%s removed while busy", dirs[i]);
    kill(child, SIGKILL);
    ck_assert_int_eq(waitpid(child, &st, 0), child);
    bool gone = false;
    for (int i = 0; i < 100 && !gone; i++) {
        (void)loop_run_once(l, 20);
        gone = true;
        for (size_t j = 0; j < n; j++)
            gone = gone && !is_dir(dirs[j]);
    }
    ck_assert_msg(gone, "the cgroup was not removed once empty");
    host_cgroup_remove_at_exit(NULL); /* nothing pending left */
    loop_free(l);
    for (size_t i = 0; i < n; i++) {
        char parent[PATH_MAX];
        snprintf(parent, sizeof(parent), "%.*s", (int)(strrchr(dirs[i], '/') - dirs[i]), dirs[i]);
        (void)rmdir(parent);
    }
    char rec[PATH_MAX];
    snprintf(rec, sizeof(rec), "%s/host_cgroup", run);
    unlink(rec);
    rmdir(run);
}
END_TEST

static Suite *host_cgroup_suite(void)
{
    Suite *s = suite_create("host_cgroup");
    TCase *tc = tcase_create("pure");
    tcase_add_loop_test(tc, test_path_table, 0, (int)(sizeof(path_cases) / sizeof(path_cases[0])));
    tcase_add_test(tc, test_path_limits);
    tcase_add_test(tc, test_proc_cgroup_lines);
    tcase_add_test(tc, test_mountinfo_lines);
    tcase_add_test(tc, test_resources_and_host_values);
    tcase_add_test(tc, test_runc_options);
    tcase_add_test(tc, test_runctypes_create_options);
    tcase_add_test(tc, test_start_stdin_shim_cgroup);
    tcase_add_test(tc, test_record_lines);
    suite_add_tcase(s, tc);
    TCase *host = tcase_create("host");
    tcase_set_timeout(host, 20);
    tcase_add_test(host, test_host_fresh_removed);
    tcase_add_test(host, test_host_existing_joined_not_emptied);
    tcase_add_test(host, test_host_remove_later_waits);
    suite_add_tcase(s, host);
    return s;
}

CVM_CHECK_MAIN(host_cgroup_suite)
