/* Who waits for the VM: callers of sandbox_when_ready, told once the agent answers or the boot
 * fails. */
#define LOG_MODULE "sandbox"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "sandbox/sandbox_internal.h"

void fire_ready(struct sandbox *sb, int r, const char *msg)
{
    int n = sb->n_ready;
    sb->n_ready = 0;
    for (int i = 0; i < n; i++)
        sb->ready_cb[i](sb, r, msg, sb->ready_data[i]);
}

void sandbox_when_ready(struct sandbox *sb, void (*cb)(struct sandbox *, int, const char *, void *),
                        void *data)
{
    if (sb->state == SB_READY) {
        cb(sb, 0, NULL, data);
        return;
    }
    if (sb->state != SB_BOOTING || sb->n_ready >= (int)ELEMENTSOF(sb->ready_cb)) {
        cb(sb, -ENOTCONN, sb->dead_reason[0] ? sb->dead_reason : "sandbox VM is not running", data);
        return;
    }
    sb->ready_cb[sb->n_ready] = cb;
    sb->ready_data[sb->n_ready++] = data;
}
