/* The hybrid-vsock handshake a host client speaks on the backend's unix socket (the
 * Firecracker / Cloud Hypervisor convention): "CONNECT <port>\n" in, "OK <hostport>\n" out.
 * PURE. */
#ifndef CVM_VSOCKD_HANDSHAKE_H
#define CVM_VSOCKD_HANDSHAKE_H

#include <stddef.h>
#include <stdint.h>

#define HANDSHAKE_MAX_LINE 64

/* Look for a complete line in buf[0..len). Returns the line length including '\n' and sets
 * *port; 0 when more bytes are needed; -EINVAL for a malformed or over-long line. */
int handshake_parse(const char *buf, size_t len, uint32_t *port);

#endif
