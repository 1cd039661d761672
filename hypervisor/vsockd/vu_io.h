/* vhost-user socket I/O on a blocking, connected unix socket. QEMU writes each message whole
 * (header, payload and fds in one sendmsg) and waits for our reply, so blocking reads of a
 * message the loop said is there cannot stall. */
#ifndef CVM_VSOCKD_VU_IO_H
#define CVM_VSOCKD_VU_IO_H

#include <stdint.h>

#include "vu_msg.h"

/* Receive one message; its fds (close-on-exec) go to fds[0..*nfds) (at most VU_MAX_FDS).
 * Checks the header with vu_hdr_check(). Returns 0, -ECONNRESET on EOF, or -errno; on error
 * no fds are left open. */
int vu_recv_msg(int sock, struct vu_msg *m, int *fds, unsigned *nfds);
/* Reply to req with size payload bytes (size <= VU_MAX_PAYLOAD). */
int vu_send_reply(int sock, const struct vu_msg *req, const void *payload, uint32_t size);

#endif
