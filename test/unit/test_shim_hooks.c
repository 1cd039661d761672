/* shim hooks: parsing, the state JSON, and real hooks (/bin/sh scripts) run on a loop: state on
 * stdin, args and env as given, order, runc-style failure messages, timeouts, cancel. */
#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../shim/hooks/hooks.h"
#include "check_main.h"
#include "cleanup.h"
#include "errmap.h"
#include "fd.h"
#include "loop.h"

static json_t *spec_of(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);
    ck_assert_msg(j != NULL, "bad test JSON: %s", e.text);
    return j;
}

START_TEST(test_parse_good)
{
    struct oci_hooks h;
    struct cvm_err err = {0};
    json_t *s = spec_of("{\"hooks\":{\"prestart\":[{\"path\":\"/bin/a\"}],"
                        "\"createRuntime\":[{\"path\":\"/bin/b\",\"args\":[\"b0\",\"x\"],"
                        "\"env\":[\"K=V\"],\"timeout\":5},{\"path\":\"/bin/c\"}],"
                        "\"poststop\":[], \"poststart\":null}}");
    ck_assert_int_eq(hooks_parse(s, &h, &err), 0);
    ck_assert_uint_eq(h.n[HOOK_PRESTART], 1);
    ck_assert_str_eq(h.h[HOOK_PRESTART][0].argv[0], "/bin/a"); /* no args: argv[0] = path */
    ck_assert_ptr_null(h.h[HOOK_PRESTART][0].argv[1]);
    ck_assert_ptr_null(h.h[HOOK_PRESTART][0].envp[0]); /* no env: empty, not ours */
    ck_assert_uint_eq(h.n[HOOK_CREATE_RUNTIME], 2);
    ck_assert_str_eq(h.h[HOOK_CREATE_RUNTIME][0].argv[0], "b0");
    ck_assert_str_eq(h.h[HOOK_CREATE_RUNTIME][0].argv[1], "x");
    ck_assert_str_eq(h.h[HOOK_CREATE_RUNTIME][0].envp[0], "K=V");
    ck_assert_uint_eq(h.h[HOOK_CREATE_RUNTIME][0].timeout_s, 5);
    ck_assert_uint_eq(h.n[HOOK_POSTSTART] + h.n[HOOK_POSTSTOP], 0);
    hooks_free(&h);
    json_decref(s);
    s = spec_of("{\"process\":{}}");
    ck_assert_int_eq(hooks_parse(s, &h, &err), 0);
    for (int k = 0; k < _HOOK_KIND_MAX; k++)
        ck_assert_uint_eq(h.n[k], 0);
    hooks_free(&h);
    json_decref(s);
}
END_TEST

static const char *const bad_specs[] = {
    "{\"hooks\":[]}",
    "{\"hooks\":{\"prestart\":{}}}",
    "{\"hooks\":{\"prestart\":[{\"path\":\"relative\"}]}}",
    "{\"hooks\":{\"prestart\":[{\"args\":[\"x\"]}]}}",
    "{\"hooks\":{\"prestart\":[{\"path\":\"/a\",\"args\":\"x\"}]}}",
    "{\"hooks\":{\"prestart\":[{\"path\":\"/a\",\"args\":[1]}]}}",
    "{\"hooks\":{\"prestart\":[{\"path\":\"/a\",\"env\":\"K=V\"}]}}",
    "{\"hooks\":{\"prestart\":[{\"path\":\"/a\",\"timeout\":0}]}}",
    "{\"hooks\":{\"prestart\":[{\"path\":\"/a\",\"timeout\":\"5\"}]}}",
    "{\"hooks\":{\"prestop\":[{\"path\":\"/a\"}]}}",
    "{\"hooks\":{\"prestart\":[1]}}",
};

START_TEST(test_parse_bad)
{
    struct oci_hooks h;
    struct cvm_err err = {0};
    json_t *s = spec_of(bad_specs[_i]);
    ck_assert_msg(hooks_parse(s, &h, &err) < 0, "accepted %s", bad_specs[_i]);
    ck_assert(err.msg[0]);
    json_decref(s);
}
END_TEST

START_TEST(test_parse_in_container_hooks_refused)
{
    struct oci_hooks h;
    struct cvm_err err = {0};
    json_t *s = spec_of("{\"hooks\":{\"prestart\":[{\"path\":\"/a\"}],\"startContainer\":[{\"path\":\"/b\"}]}}");
    ck_assert_int_eq(hooks_parse(s, &h, &err), -ENOTSUP);
    ck_assert_int_eq(err.code, RPC_UNIMPLEMENTED);
    ck_assert_msg(strstr(err.msg, "hooks.startContainer: not supported") &&
                      strstr(err.msg, "guest VM"), "%s", err.msg);
    json_decref(s);
    /* an empty createContainer list is no hook at all */
    s = spec_of("{\"hooks\":{\"createContainer\":[]}}");
    memset(&err, 0, sizeof(err));
    ck_assert_int_eq(hooks_parse(s, &h, &err), 0);
    hooks_free(&h);
    json_decref(s);
}
END_TEST

START_TEST(test_state_json)
{
    json_t *ann = spec_of("{\"k\":\"v\"}");
    _cleanup_free_ char *a = hooks_state_json("c1", "creating", 42, "/b", ann);
    _cleanup_free_ char *b = hooks_state_json("c2", "stopped", 0, "/b2", NULL);
    ck_assert_str_eq(a, "{\"ociVersion\":\"1.0.2\",\"id\":\"c1\",\"status\":\"creating\",\"pid\":42,"
                        "\"bundle\":\"/b\",\"annotations\":{\"k\":\"v\"}}");
    ck_assert_str_eq(b, "{\"ociVersion\":\"1.0.2\",\"id\":\"c2\",\"status\":\"stopped\",\"pid\":0,"
                        "\"bundle\":\"/b2\"}");
    json_decref(ann);
}
END_TEST

/* ---- running real hooks ---- */

struct done {
    int fired, r;
    char msg[8192];
};

static void on_done(int r, const char *msg, void *data)
{
    struct done *d = data;
    d->fired++;
    d->r = r;
    snprintf(d->msg, sizeof(d->msg), "%s", msg ? msg : "");
}

static char dir[64];

static void mk_dir(void)
{
    snprintf(dir, sizeof(dir), "/tmp/cvm-hooks-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void rm_dir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static void run(struct loop *l, json_t *spec, enum hook_kind k, const char *state, struct done *d,
                unsigned max_ms)
{
    struct oci_hooks h;
    struct cvm_err err = {0};
    unsigned long long t0 = now_ns();
    ck_assert_int_eq(hooks_parse(spec, &h, &err), 0);
    ck_assert_int_eq(hooks_run(l, &h, k, state, on_done, d, NULL), 0);
    ck_assert_int_eq(d->fired, 0); /* never from inside hooks_run */
    while (!d->fired && (now_ns() - t0) / 1000000ull < max_ms)
        loop_run_once(l, 50);
    hooks_free(&h);
}

static char *slurp(const char *path)
{
    static char buf[8192];
    FILE *f = fopen(path, "re");
    size_t n;
    if (!f)
        return NULL;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

START_TEST(test_run_state_args_env_order)
{
    struct loop *l;
    struct done d = {0};
    char js[2048], p[128];
    mk_dir();
    ck_assert_int_eq(loop_new(&l), 0);
    /* two hooks: the first saves stdin, argv and env; the second proves it ran after */
    snprintf(js, sizeof(js),
             "{\"hooks\":{\"createRuntime\":["
             "{\"path\":\"/bin/sh\",\"args\":[\"sh\",\"-c\",\"cat > %s/state; echo \\\"$0 $1\\\" > %s/args; "
             "env > %s/env\",\"arg0\",\"arg1\"],\"env\":[\"ONLY=this\"]},"
             "{\"path\":\"/bin/sh\",\"args\":[\"sh\",\"-c\",\"test -f %s/state && touch %s/second\"]}]}}",
             dir, dir, dir, dir, dir);
    json_t *spec = spec_of(js);
    run(l, spec, HOOK_CREATE_RUNTIME, "{\"id\":\"c1\",\"pid\":7}", &d, 5000);
    ck_assert_int_eq(d.fired, 1);
    ck_assert_msg(d.r == 0, "%d %s", d.r, d.msg);
    snprintf(p, sizeof(p), "%s/state", dir);
    ck_assert_str_eq(slurp(p), "{\"id\":\"c1\",\"pid\":7}");
    snprintf(p, sizeof(p), "%s/args", dir);
    ck_assert_str_eq(slurp(p), "arg0 arg1\n");
    snprintf(p, sizeof(p), "%s/env", dir);
    ck_assert_msg(strstr(slurp(p), "ONLY=this") && !strstr(slurp(p), "HOME="), "%s", slurp(p));
    snprintf(p, sizeof(p), "%s/second", dir);
    ck_assert_int_eq(access(p, F_OK), 0);
    json_decref(spec);
    loop_free(l);
    rm_dir();
}
END_TEST

START_TEST(test_run_failure_message_and_stop)
{
    struct loop *l;
    struct done d = {0};
    char js[1024], p[128];
    mk_dir();
    ck_assert_int_eq(loop_new(&l), 0);
    snprintf(js, sizeof(js),
             "{\"hooks\":{\"prestart\":["
             "{\"path\":\"/bin/sh\",\"args\":[\"sh\",\"-c\",\"echo to-out; echo cni failed >&2; exit 3\"]},"
             "{\"path\":\"/bin/sh\",\"args\":[\"sh\",\"-c\",\"touch %s/not-reached\"]}]}}", dir);
    json_t *spec = spec_of(js);
    run(l, spec, HOOK_PRESTART, "{}", &d, 5000);
    ck_assert_int_eq(d.fired, 1);
    ck_assert_int_eq(d.r, -EIO);
    ck_assert_str_eq(d.msg, "error running prestart hook #0 (/bin/sh): exit status 3, stdout: to-out\n, "
                            "stderr: cni failed\n");
    snprintf(p, sizeof(p), "%s/not-reached", dir);
    ck_assert_int_eq(access(p, F_OK), -1); /* a failure stops the kind */
    json_decref(spec);
    /* a hook whose binary does not exist */
    memset(&d, 0, sizeof(d));
    spec = spec_of("{\"hooks\":{\"poststop\":[{\"path\":\"/nonexistent/hook\"}]}}");
    run(l, spec, HOOK_POSTSTOP, "{}", &d, 5000);
    ck_assert_int_eq(d.r, -EIO);
    ck_assert_msg(strstr(d.msg, "exit status 127") && strstr(d.msg, "exec /nonexistent/hook: No such file"),
                  "%s", d.msg);
    json_decref(spec);
    loop_free(l);
    rm_dir();
}
END_TEST

START_TEST(test_run_timeout)
{
    struct loop *l;
    struct done d = {0};
    ck_assert_int_eq(loop_new(&l), 0);
    json_t *spec = spec_of("{\"hooks\":{\"poststart\":[{\"path\":\"/bin/sleep\",\"args\":[\"sleep\",\"30\"],"
                           "\"timeout\":1}]}}");
    unsigned long long t0 = now_ns();
    run(l, spec, HOOK_POSTSTART, "{}", &d, 10000);
    unsigned long long ms = (now_ns() - t0) / 1000000ull;
    ck_assert_int_eq(d.fired, 1);
    ck_assert_int_eq(d.r, -ETIMEDOUT);
    ck_assert_msg(strstr(d.msg, "poststart hook #0 (/bin/sleep): timeout after 1 seconds"), "%s", d.msg);
    ck_assert_msg(ms >= 1000 && ms < 5000, "%llu ms", ms);
    json_decref(spec);
    loop_free(l);
}
END_TEST

/* A hook that never reads stdin and a state larger than a pipe: no deadlock, it still runs. */
START_TEST(test_run_big_state_unread)
{
    struct loop *l;
    struct done d = {0};
    char *state = malloc(300000);
    ck_assert_ptr_nonnull(state);
    signal(SIGPIPE, SIG_IGN); /* as in the shim daemon: EPIPE, not a signal */
    memset(state, 'x', 299999);
    state[299999] = 0;
    ck_assert_int_eq(loop_new(&l), 0);
    json_t *spec = spec_of("{\"hooks\":{\"poststop\":[{\"path\":\"/bin/true\"}]}}");
    run(l, spec, HOOK_POSTSTOP, state, &d, 5000);
    ck_assert_int_eq(d.fired, 1);
    ck_assert_msg(d.r == 0, "%s", d.msg);
    json_decref(spec);
    free(state);
    loop_free(l);
}
END_TEST

START_TEST(test_no_hooks_and_cancel)
{
    struct loop *l;
    struct done d = {0};
    struct oci_hooks h = {0};
    struct hook_run *run_h = NULL;
    ck_assert_int_eq(loop_new(&l), 0);
    ck_assert_int_eq(hooks_run(l, &h, HOOK_POSTSTART, "{}", on_done, &d, NULL), 0);
    ck_assert_int_eq(d.fired, 0);
    loop_run_once(l, 0);
    ck_assert_int_eq(d.fired, 1);
    ck_assert_int_eq(d.r, 0);
    /* cancelled before it started, and while it runs: the callback never fires */
    memset(&d, 0, sizeof(d));
    ck_assert_int_eq(hooks_run(l, &h, HOOK_POSTSTART, "{}", on_done, &d, &run_h), 0);
    hooks_cancel(run_h);
    loop_run_once(l, 0);
    json_t *spec = spec_of("{\"hooks\":{\"poststart\":[{\"path\":\"/bin/sleep\",\"args\":[\"sleep\",\"30\"]}]}}");
    struct cvm_err err = {0};
    struct oci_hooks h2;
    ck_assert_int_eq(hooks_parse(spec, &h2, &err), 0);
    ck_assert_int_eq(hooks_run(l, &h2, HOOK_POSTSTART, "{}", on_done, &d, &run_h), 0);
    for (int i = 0; i < 5; i++)
        loop_run_once(l, 20);
    hooks_cancel(run_h);
    for (int i = 0; i < 5; i++)
        loop_run_once(l, 20);
    ck_assert_int_eq(d.fired, 0);
    hooks_free(&h2);
    json_decref(spec);
    loop_free(l);
    while (waitpid(-1, NULL, WNOHANG) > 0) /* the killed sleep: this test is its reaper */
        ;
}
END_TEST

static Suite *hooks_suite(void)
{
    Suite *s = suite_create("shim_hooks");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_parse_good);
    tcase_add_loop_test(tc, test_parse_bad, 0, (int)(sizeof(bad_specs) / sizeof(bad_specs[0])));
    tcase_add_test(tc, test_parse_in_container_hooks_refused);
    tcase_add_test(tc, test_state_json);
    tcase_add_test(tc, test_run_state_args_env_order);
    tcase_add_test(tc, test_run_failure_message_and_stop);
    tcase_add_test(tc, test_run_timeout);
    tcase_add_test(tc, test_run_big_state_unread);
    tcase_add_test(tc, test_no_hooks_and_cancel);
    suite_add_tcase(s, tc);
    return s;
}

CVM_CHECK_MAIN(hooks_suite)
