/* What one answer of the guest agent may cost the shim: a reply size cap per method, checked
 * on the raw frame before anything is decoded, and a count check of a repeated field on the
 * raw message before protobuf-c allocates an element per entry. The guest is hostile: with
 * these, one answer costs at most a small multiple of its cap, whatever the guest sends. */
#ifndef CVM_SHIM_AGENT_LIMITS_H
#define CVM_SHIM_AGENT_LIMITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ttrpc_result;

/* Bytes of the whole ttrpc Response frame an answer to `method` may have (the table in
 * agent_limits.c; a method not in it gets the smallest cap). */
size_t agent_reply_cap(const char *method);
/* True when the successful answer's payload is well-formed wire format with at most max
 * occurrences of top-level field `field`: call before unpacking a message with a repeated
 * field. */
/* The largest cap of the table: the agent connection reads no longer frame (ttrpc_client_set_max_reply). */
size_t agent_reply_cap_max(void);
bool agent_reply_count_ok(const struct ttrpc_result *res, uint32_t field, size_t max);

#endif
