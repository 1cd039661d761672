/* QMP client on the loop: greeting -> qmp_capabilities -> ready; id-matched commands with
 * callbacks; events dispatched. One connection per QEMU. */
#ifndef CVM_QMP_H
#define CVM_QMP_H

#include <jansson.h>

struct loop;
struct qmp;

struct qmp_callbacks {
    void (*ready)(struct qmp *q, void *data);
    /* name is QEMU's event name; ev_data may be NULL (borrowed for the call). */
    void (*event)(struct qmp *q, const char *name, json_t *ev_data, void *data);
    /* The connection is gone: r = 0 on EOF, -EMSGSIZE overlong line, -EPROTO protocol
     * violation, -errno on I/O errors. Pending commands have already completed with an
     * error. The qmp object stays allocated until qmp_free(). */
    void (*closed)(struct qmp *q, int r, void *data);
    void *data;
};

/* r = 0 with ret (borrowed for the call) or r < 0: -EIO with errclass/desc set for a QMP
 * error reply, -ECONNRESET when the connection closed first, -ECANCELED on qmp_free(). */
typedef void (*qmp_reply_cb)(struct qmp *q, int r, json_t *ret, const char *errclass,
                             const char *desc, void *data);

/* Take ownership of a connected stream fd (made non-blocking here) and start the handshake. */
int qmp_new(struct loop *l, int fd, const struct qmp_callbacks *cb, struct qmp **ret);
/* Queue a command; args (may be NULL) is borrowed. -ENOTCONN before ready or after close. */
int qmp_execute(struct qmp *q, const char *cmd, json_t *args, qmp_reply_cb cb, void *data);
/* Close now; pending commands complete with -ECANCELED. Accepts NULL. */
void qmp_free(struct qmp *q);
int qmp_is_ready(const struct qmp *q);
/* Lines that failed to parse and were skipped (tests, diagnostics). */
unsigned qmp_garbage_count(const struct qmp *q);

#endif
