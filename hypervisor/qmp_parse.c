/* PURE: QMP framing, message classification and command encoding. See qmp_parse.h. */
#include "qmp_parse.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int qmp_frame(const uint8_t *data, size_t len, size_t max, size_t *line_len, size_t *consumed)
{
    size_t scan = len < max + 2 ? len : max + 2; /* a max-byte line plus "\r\n" */
    const uint8_t *nl = memchr(data, '\n', scan);
    size_t n;
    if (!nl)
        return len >= max + 2 ? -EMSGSIZE : 0;
    n = (size_t)(nl - data);
    *consumed = n + 1;
    if (n > 0 && data[n - 1] == '\r')
        n--;
    if (n > max)
        return -EMSGSIZE;
    *line_len = n;
    return 1;
}

static void copy_str(char *dst, size_t n, const char *src)
{
    snprintf(dst, n, "%s", src ? src : "");
}

static int parse_id(json_t *root, struct qmp_msg *m)
{
    json_t *id = json_object_get(root, "id");
    if (!id)
        return 0;
    if (json_is_integer(id) && json_integer_value(id) >= 0) {
        m->has_id = true;
        m->id = (int64_t)json_integer_value(id);
    }
    return 0; /* a foreign id shape is not an error: the reply simply matches nothing */
}

static int classify(json_t *root, struct qmp_msg *m)
{
    json_t *v;
    if ((v = json_object_get(root, "QMP"))) {
        if (!json_is_object(v))
            return -EBADMSG;
        m->kind = QMP_MSG_GREETING;
        return 0;
    }
    if ((v = json_object_get(root, "return"))) {
        m->kind = QMP_MSG_RETURN;
        m->ret = v;
        return parse_id(root, m);
    }
    if ((v = json_object_get(root, "error"))) {
        json_t *cls = json_object_get(v, "class"), *desc = json_object_get(v, "desc");
        if (!json_is_object(v) || !json_is_string(cls))
            return -EBADMSG;
        m->kind = QMP_MSG_ERROR;
        copy_str(m->err_class, sizeof(m->err_class), json_string_value(cls));
        copy_str(m->err_desc, sizeof(m->err_desc),
                 json_is_string(desc) ? json_string_value(desc) : "");
        return parse_id(root, m);
    }
    if ((v = json_object_get(root, "event"))) {
        json_t *data = json_object_get(root, "data");
        if (!json_is_string(v) || json_string_length(v) == 0 ||
            json_string_length(v) >= sizeof(m->event))
            return -EBADMSG;
        m->kind = QMP_MSG_EVENT;
        copy_str(m->event, sizeof(m->event), json_string_value(v));
        m->data = json_is_object(data) ? data : NULL;
        return 0;
    }
    return -EBADMSG;
}

int qmp_parse_line(const char *line, size_t len, struct qmp_msg *msg)
{
    json_error_t jerr;
    json_t *root;
    int r;
    memset(msg, 0, sizeof(*msg));
    if (len == 0 || len > QMP_LINE_MAX)
        return -EBADMSG;
    /* REJECT_DUPLICATES: an object with two "id"s or two "return"s is not from QEMU. */
    root = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return -EBADMSG;
    if (!json_is_object(root)) {
        json_decref(root);
        return -EBADMSG;
    }
    r = classify(root, msg);
    if (r < 0) {
        json_decref(root);
        memset(msg, 0, sizeof(*msg));
        return r;
    }
    msg->root = root;
    return 0;
}

void qmp_msg_done(struct qmp_msg *msg)
{
    if (!msg)
        return;
    json_decref(msg->root);
    memset(msg, 0, sizeof(*msg));
}

int qmp_encode_command(const char *cmd, json_t *args, int64_t id, char **ret, size_t *ret_len)
{
    json_t *o = json_object();
    char *s, *out;
    size_t n;
    if (!o)
        return -ENOMEM;
    if (json_object_set_new(o, "execute", json_string(cmd)) < 0 ||
        (args && json_object_set(o, "arguments", args) < 0) ||
        json_object_set_new(o, "id", json_integer((json_int_t)id)) < 0) {
        json_decref(o);
        return -EINVAL;
    }
    s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!s)
        return -ENOMEM;
    n = strlen(s);
    out = realloc(s, n + 3);
    if (!out) {
        free(s);
        return -ENOMEM;
    }
    memcpy(out + n, "\r\n", 3);
    *ret = out;
    *ret_len = n + 2;
    return 0;
}
