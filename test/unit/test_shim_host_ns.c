/* shim/task/host_ns.c: a spec that would share a node namespace (hostNetwork, hostIPC) is
 * refused naming the field, unless the config chose the VM's own. */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "../../shim/task/host_ns.h"
#include "check_main.h"

static json_t *spec_with(const char *nss)
{
    char buf[512];
    snprintf(buf, sizeof(buf), "{\"linux\":{\"namespaces\":%s}}", nss);
    json_t *j = json_loads(buf, 0, NULL);
    ck_assert_ptr_nonnull(j);
    return j;
}

static const struct {
    const char *nss, *field; /* NULL: accepted */
} cases[] = {
    { "[{\"type\":\"pid\"},{\"type\":\"ipc\"},{\"type\":\"network\"},{\"type\":\"mount\"}]", NULL },
    /* joined by path (the pod's): still not the node's */
    { "[{\"type\":\"pid\",\"path\":\"/proc/9/ns/pid\"},{\"type\":\"ipc\",\"path\":\"/proc/9/ns/ipc\"},"
      "{\"type\":\"network\",\"path\":\"/var/run/netns/cni-1\"}]", NULL },
    { "[{\"type\":\"pid\"},{\"type\":\"ipc\"},{\"type\":\"mount\"}]", "(hostNetwork)" },
    { "[{\"type\":\"pid\"},{\"type\":\"network\"}]", "(hostIPC)" },
    /* no pid namespace: the guest's, accepted (hostPID; containerd's TestContainerKillInitPidHost) */
    { "[{\"type\":\"ipc\"},{\"type\":\"network\"}]", NULL },
    { "[]", "(hostNetwork)" },
};

START_TEST(refuses_node_namespaces)
{
    json_t *s = spec_with(cases[_i].nss);
    struct cvm_err err = { 0 };
    int r = host_ns_check(s, false, &err);
    if (!cases[_i].field) {
        ck_assert_msg(r == 0, "%s: %s", cases[_i].nss, err.msg);
    } else {
        ck_assert_int_eq(r, -EINVAL);
        ck_assert_int_eq(err.code, RPC_INVALID_ARGUMENT);
        ck_assert_msg(strstr(err.msg, cases[_i].field) && strstr(err.msg, "host_namespaces"), "%s", err.msg);
    }
    /* the operator's choice: the VM's own namespaces, never refused */
    ck_assert_int_eq(host_ns_check(s, true, &err), 0);
    json_decref(s);
}
END_TEST

START_TEST(no_linux_section)
{
    json_t *s = json_loads("{}", 0, NULL);
    struct cvm_err err = { 0 };
    ck_assert_int_eq(host_ns_check(s, false, &err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "hostNetwork"));
    json_decref(s);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("shim_host_ns");
    TCase *tc = tcase_create("core");
    tcase_add_loop_test(tc, refuses_node_namespaces, 0, (int)(sizeof(cases) / sizeof(cases[0])));
    tcase_add_test(tc, no_linux_section);
    suite_add_tcase(s, tc);
    return s;
}

CVM_CHECK_MAIN(suite)
