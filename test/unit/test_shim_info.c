/* shim/cmd_info.c: `-info` (spec §2.7) writes containerd.types.RuntimeInfo with our name and
 * version, echoes the options Any, carries an OCI features JSON; bad options are refused. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../shim/cli/cmd.h"
#include "check_main.h"
#include "containerd/types/introspection.pb-c.h"
#include "google/protobuf/any.pb-c.h"

static Containerd__Types__RuntimeInfo *build(const uint8_t *opts, size_t n)
{
    uint8_t *out = NULL;
    size_t len = 0;
    ck_assert_int_eq(shim_info_build(opts, n, &out, &len), 0);
    Containerd__Types__RuntimeInfo *info = containerd__types__runtime_info__unpack(NULL, len, out);
    free(out);
    ck_assert_ptr_nonnull(info);
    return info;
}

START_TEST(test_info_no_options)
{
    Containerd__Types__RuntimeInfo *info = build(NULL, 0);
    ck_assert_str_eq(info->name, "io.containerd.cvm.v1");
    ck_assert_ptr_nonnull(info->version);
    ck_assert_str_eq(info->version->version, SHIM_VERSION_STR);
    ck_assert_ptr_null(info->options);
    ck_assert_ptr_nonnull(info->features);
    ck_assert_str_eq(info->features->type_url, "types.containerd.io/opencontainers/runtime-spec/1/features/Features");
    char *json = strndup((const char *)info->features->value.data, info->features->value.len);
    ck_assert_ptr_nonnull(strstr(json, "\"ociVersionMin\":\"1.0.0\""));
    ck_assert_ptr_nonnull(strstr(json, "\"idmap\":{\"enabled\":false}"));
    free(json);
    ck_assert_uint_eq(info->n_annotations, 0);
    containerd__types__runtime_info__free_unpacked(info, NULL);
}
END_TEST

/* containerd (typeurl) turns the features Any into runtime-spec's features.Features with
 * encoding/json: the value must be a JSON object whose fields have the Go struct's types, or
 * `ctr plugins inspect-runtime` and id-mapped mount checks fail to decode it. */
START_TEST(test_info_features_decode_as_go)
{
    Containerd__Types__RuntimeInfo *info = build(NULL, 0);
    json_error_t je;
    json_t *f = json_loadb((const char *)info->features->value.data, info->features->value.len, 0, &je);
    ck_assert_msg(f && json_is_object(f), "features is not a JSON object: %s", je.text);
    ck_assert(json_is_string(json_object_get(f, "ociVersionMin")));
    ck_assert(json_is_string(json_object_get(f, "ociVersionMax")));
    json_t *lx = json_object_get(f, "linux");
    ck_assert(json_is_object(lx));
    json_t *ns = json_object_get(lx, "namespaces"), *e;
    size_t i;
    ck_assert(json_is_array(ns));
    json_array_foreach(ns, i, e) ck_assert(json_is_string(e));
    ck_assert(json_is_boolean(json_object_get(json_object_get(lx, "cgroup"), "v2")));
    ck_assert(json_is_boolean(json_object_get(json_object_get(lx, "seccomp"), "enabled")));
    ck_assert(json_is_false(json_object_get(json_object_get(json_object_get(lx, "mountExtensions"), "idmap"), "enabled")));
    json_decref(f);
    containerd__types__runtime_info__free_unpacked(info, NULL);
}
END_TEST

START_TEST(test_info_echoes_options)
{
    Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
    uint8_t buf[256];
    any.type_url = "runtimeoptions.v1.Options";
    any.value.data = (uint8_t *)"\x12\x05/x.js";
    any.value.len = 7;
    size_t n = google__protobuf__any__pack(&any, buf);
    Containerd__Types__RuntimeInfo *info = build(buf, n);
    ck_assert_ptr_nonnull(info->options);
    ck_assert_str_eq(info->options->type_url, "runtimeoptions.v1.Options");
    ck_assert_uint_eq(info->options->value.len, 7);
    ck_assert_mem_eq(info->options->value.data, "\x12\x05/x.js", 7);
    containerd__types__runtime_info__free_unpacked(info, NULL);
}
END_TEST

START_TEST(test_info_bad_options)
{
    static const uint8_t garbage[] = {0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f};
    uint8_t *out = NULL;
    size_t len = 0;
    ck_assert_int_eq(shim_info_build(garbage, sizeof(garbage), &out, &len), -EBADMSG);
    ck_assert_ptr_null(out);
}
END_TEST

/* The command itself: stdin (empty pipe) to stdout (pipe), exit status 0. */
START_TEST(test_cmd_info_pipes)
{
    int in[2], out[2];
    uint8_t buf[4096];
    ck_assert_int_eq(pipe2(in, O_CLOEXEC), 0);
    ck_assert_int_eq(pipe2(out, O_CLOEXEC), 0);
    close(in[1]);
    ck_assert_int_eq(cmd_info(in[0], out[1]), 0);
    close(out[1]);
    ssize_t n = read(out[0], buf, sizeof(buf));
    ck_assert_int_gt(n, 0);
    Containerd__Types__RuntimeInfo *info = containerd__types__runtime_info__unpack(NULL, (size_t)n, buf);
    ck_assert_ptr_nonnull(info);
    ck_assert_str_eq(info->name, "io.containerd.cvm.v1");
    containerd__types__runtime_info__free_unpacked(info, NULL);
    close(in[0]);
    close(out[0]);
}
END_TEST

static Suite *info_suite(void)
{
    Suite *s = suite_create("shim_info");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_info_no_options);
    tcase_add_test(tc, test_info_echoes_options);
    tcase_add_test(tc, test_info_features_decode_as_go);
    tcase_add_test(tc, test_info_bad_options);
    tcase_add_test(tc, test_cmd_info_pipes);
    suite_add_tcase(s, tc);
    return s;
}

CVM_CHECK_MAIN(info_suite)
