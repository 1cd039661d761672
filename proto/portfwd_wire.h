/* The port-forward stream headers (constants in agent_wire.h): pure encode/parse, used by the
 * shim (request out, reply in) and the agent (request in, reply out). Each side parses what an
 * untrusted peer sent, so parsing is strict: exact magic, version, zero flags, port 1..65535,
 * status 0..4095. */
#ifndef CVM_PORTFWD_WIRE_H
#define CVM_PORTFWD_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "agent_wire.h"

void portfwd_req_encode(uint16_t port, uint8_t out[PORTFWD_REQ_LEN]);
/* 0 and *port, or -EINVAL (junk), -EPROTONOSUPPORT (another version). n < REQ_LEN: -EAGAIN. */
int portfwd_req_parse(const uint8_t *p, size_t n, uint16_t *port);

/* status: 0 (connected) or a positive errno (the guest's dial failed). */
void portfwd_reply_encode(int status, uint8_t out[PORTFWD_REPLY_LEN]);
/* 0 and *status (0 or a positive errno), -EINVAL (junk), n < REPLY_LEN: -EAGAIN. */
int portfwd_reply_parse(const uint8_t *p, size_t n, int *status);

#endif
