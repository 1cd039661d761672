/* Shim socket address and sandbox grouping (spec §2.4.3, §2.4.4). PURE apart from
 * shim_group_from_bundle(), which reads config.json. */
#ifndef CVM_SHIM_ADDRESS_H
#define CVM_SHIM_ADDRESS_H

#include <stddef.h>

#define SHIM_SOCKET_DIR "/run/containerd/s"
#define SHIM_RUN_ROOT "/run/cvm"
#define SHIM_ANN_SANDBOX_ID "io.kubernetes.cri.sandbox-id"
#define SHIM_ANN_CONTAINER_TYPE "io.kubernetes.cri.container-type"
#define SHIM_ANN_GROUP "io.containerd.cvm.v1.group"
#define SHIM_ID_MAX 76 /* containerd identifier rule */

/* sha256(address/ns/group) in hex: the socket name and the key of the sandbox's run dir. */
void shim_group_hash(const char *address, const char *ns, const char *group, char out[65]);
/* "unix://" SHIM_SOCKET_DIR "/<hash>"; -ENAMETOOLONG if it would not fit. */
int shim_socket_address(const char *address, const char *ns, const char *group, char *out,
                        size_t n);
/* The group id from an OCI spec's annotations (JSON text): io.kubernetes.cri.sandbox-id, then
 * io.containerd.cvm.v1.group, else id. Writes into out (n bytes). -EINVAL on bad JSON. */
int shim_group_from_spec(const char *json, size_t len, const char *id, char *out, size_t n);
/* Same from <bundle>/config.json; falls back to id when the file is missing. */
int shim_group_from_bundle(const char *bundle, const char *id, char *out, size_t n);
/* Per-sandbox run dir: SHIM_RUN_ROOT/<first 16 hex of hash> (short: unix socket paths). */
void shim_run_dir(const char *hash, char *out, size_t n);
/* True when s obeys containerd's identifier rule (1-76 chars, [A-Za-z0-9]+([._-][A-Za-z0-9]+)*). */
int shim_valid_identifier(const char *s);

#endif
