/* The vhost-user back-end session with QEMU: reads front-end messages from the connected
 * socket, maps guest memory, owns the rx/tx vrings and their kick/call eventfds. It knows
 * nothing about vsock; the device logic gets callbacks when a queue has work. */
#ifndef CVM_VSOCKD_VU_DEV_H
#define CVM_VSOCKD_VU_DEV_H

#include <stdint.h>

#include "loop.h"
#include "virtq.h"

#define VU_RXQ 0        /* host → guest */
#define VU_TXQ 1        /* guest → host */
#define VU_NUM_QUEUES 2 /* the event queue stays in QEMU */

struct vu_dev;

struct vu_dev_ops {
    void (*kick)(void *data, unsigned qidx);    /* queue started or the guest kicked it */
    void (*stopped)(void *data, unsigned qidx); /* queue stopped (GET_VRING_BASE, RESET_OWNER) */
    void (*gone)(void *data, int err);          /* QEMU hung up (0) or broke the protocol */
};

/* Serve the connected socket fd (taken over) on loop l. */
int vu_dev_new(struct loop *l, int fd, uint64_t guest_cid, const struct vu_dev_ops *ops, void *data,
               struct vu_dev **ret);
void vu_dev_free(struct vu_dev *d);

/* The queue if it is started, enabled and not broken; else NULL. */
struct vq *vu_dev_queue(struct vu_dev *d, unsigned qidx);
const struct vq_mem *vu_dev_mem(const struct vu_dev *d);
/* Interrupt the guest for qidx if it asked for interrupts. */
void vu_dev_notify(struct vu_dev *d, unsigned qidx);
/* Log a queue the guest broke (once) and tell QEMU through the error eventfd. */
void vu_dev_queue_failed(struct vu_dev *d, unsigned qidx);

#endif
