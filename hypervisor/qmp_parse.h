/* PURE: QMP framing and message classification (fuzzed by test/fuzz/fuzz_qmp_parse.c).
 *
 * QEMU writes one JSON object per line, terminated by "\r\n" (docs/interop/qmp-spec.rst). A
 * line longer than the cap is a protocol violation: the caller drops the connection. */
#ifndef CVM_QMP_PARSE_H
#define CVM_QMP_PARSE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define QMP_LINE_MAX (64 * 1024)

/* Find the first complete line in data[0..len). Returns 1 and sets *line_len (without the
 * "\r\n" or "\n") and *consumed (with it); 0 when more data is needed; -EMSGSIZE when no
 * newline appears within max bytes (or the line found is longer than max). */
int qmp_frame(const uint8_t *data, size_t len, size_t max, size_t *line_len, size_t *consumed);

enum qmp_msg_kind {
    QMP_MSG_GREETING, /* {"QMP": {...}} */
    QMP_MSG_RETURN,   /* {"return": ..., "id": N} */
    QMP_MSG_ERROR,    /* {"error": {"class": ..., "desc": ...}, "id": N} */
    QMP_MSG_EVENT,    /* {"event": "NAME", "data": {...}, "timestamp": {...}} */
};

struct qmp_msg {
    enum qmp_msg_kind kind;
    bool has_id; /* an integer id in [0, INT64_MAX] was present */
    int64_t id;
    json_t *root;       /* owned */
    json_t *ret;        /* RETURN: borrowed from root */
    json_t *data;       /* EVENT: borrowed, may be NULL */
    char event[64];     /* EVENT name */
    char err_class[64]; /* ERROR */
    char err_desc[256]; /* ERROR */
};

/* Parse one line. -EBADMSG when it is not a JSON object of one of the kinds above. On
 * success the caller owns msg->root (qmp_msg_done). */
int qmp_parse_line(const char *line, size_t len, struct qmp_msg *msg);
void qmp_msg_done(struct qmp_msg *msg);

/* PURE: encode {"execute": cmd, "arguments": args, "id": id} + "\r\n". args (may be NULL) is
 * borrowed. Caller frees *ret. */
int qmp_encode_command(const char *cmd, json_t *args, int64_t id, char **ret, size_t *ret_len);

#endif
