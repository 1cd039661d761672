/* Shared between the OCI parser files; not an API. */
#ifndef CVM_AGENT_OCI_INTERNAL_H
#define CVM_AGENT_OCI_INTERNAL_H

#include <jansson.h>

#include "oci_spec.h"

int oci_parse_linux(const json_t *linux_obj, struct oci_spec *s, struct cvm_err *err);
int oci_parse_resources_obj(const json_t *o, const char *path, struct oci_resources *r,
                            struct cvm_err *err);
int oci_parse_seccomp(const json_t *o, const char *path, struct oci_seccomp **ret,
                      struct cvm_err *err);
void oci_seccomp_free(struct oci_seccomp *sc);
int oci_parse_mount_options(const json_t *opts, const char *path, struct oci_mount *m,
                            struct cvm_err *err);
int oci_parse_devices(const json_t *a, struct oci_spec *s, struct cvm_err *err);
int oci_parse_device_rules(const json_t *a, struct oci_spec *s, struct cvm_err *err);
/* Absolute, no "..", bounded. */
int oci_check_abs_path(const char *p, const char *path, struct cvm_err *err);

#endif
