/* Count a field's occurrences in an encoded protobuf message without decoding it: a guard run
 * on bytes from an untrusted peer before protobuf-c's unpack, which allocates one element (and
 * its strings) per occurrence of a repeated field, so a 2-byte entry can cost ~50 bytes or more
 * of heap. Top level only; nested messages are skipped as opaque bytes. Pure. */
#ifndef CVM_PB_COUNT_H
#define CVM_PB_COUNT_H

#include <stddef.h>
#include <stdint.h>

/* Walk buf[0..len) as protobuf wire format and count the occurrences of field number `field`
 * (any wire type). Returns the count, or -EBADMSG when the bytes are not well-formed wire
 * format (bad varint, unknown or group wire type, field 0, a length past the end). */
long pb_count_field(const uint8_t *buf, size_t len, uint32_t field);

#endif
