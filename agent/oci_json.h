/* Typed, bounded getters over jansson values for the OCI parsers. Each takes the JSON path
 * of the value for the error message and fails -EINVAL (bad type/range) or -E2BIG (too
 * long / too many). A NULL value means "absent": optional getters then leave *out alone. */
#ifndef CVM_AGENT_OCI_JSON_H
#define CVM_AGENT_OCI_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "errmap.h"

int oj_str(const json_t *v, const char *path, size_t max, char **out, struct cvm_err *err);
int oj_bool(const json_t *v, const char *path, bool *out, struct cvm_err *err);
int oj_i64(const json_t *v, const char *path, int64_t min, int64_t max, int64_t *out,
           struct cvm_err *err);
int oj_u64(const json_t *v, const char *path, uint64_t *out, struct cvm_err *err);
int oj_u32(const json_t *v, const char *path, uint32_t *out, struct cvm_err *err);
/* A JSON array of strings -> NULL-terminated malloc'd vector. */
int oj_strv(const json_t *v, const char *path, size_t max_n, size_t max_len, char ***out,
            size_t *n_out, struct cvm_err *err);
int oj_obj(const json_t *v, const char *path, struct cvm_err *err); /* type check only */
int oj_arr(const json_t *v, const char *path, size_t max_n, struct cvm_err *err);
void oj_strv_free(char **v);
/* "a.b" + "c" -> "a.b.c"; "a" + index 3 -> "a[3]" into buf. */
const char *oj_path(char *buf, size_t sz, const char *base, const char *key);
const char *oj_path_idx(char *buf, size_t sz, const char *base, size_t idx);
/* Parse bytes into a json_t (rejects NUL bytes, duplicate keys, size > max, non-object). */
int oj_load(const char *json, size_t len, size_t max, json_t **ret, struct cvm_err *err);

#endif
