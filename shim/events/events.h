/* Task event publisher (spec §4): one ordered queue, bounded for the events a guest can
 * drive and never dropping the lifecycle ones (see events.c); a ttrpc client to containerd's
 * TTRPC_ADDRESS calling containerd.services.events.ttrpc.v1.Events/Forward; reconnect and
 * retry with backoff; flush on exit. Events are stamped when published, sent one at a time
 * in publish order. */
#ifndef CVM_SHIM_EVENTS_H
#define CVM_SHIM_EVENTS_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct loop;
struct evt_publisher;

#define EVT_QUEUE_MAX 2048u /* pending events that may be dropped (oom, paused, ...) */
#define EVT_MAX_ATTEMPTS 5u /* failed sends before such an event is given up */
#define EVT_CALL_TIMEOUT_MS 5000u

/* dial: connect to containerd (tests inject a socketpair); NULL = ttrpc_dial_unix(address). */
typedef int (*evt_dial_fn)(void *data, int *ret_fd);

/* ttrpc_address NULL: nobody subscribes (the shim run by cvm-runtime, whose callers learn
 * exits from its monitor process): events are validated, counted as dropped and never queued,
 * so nothing waits for a delivery that cannot happen. */
int evt_new(struct loop *l, const char *ttrpc_address, const char *ns, evt_dial_fn dial,
            void *dial_data, struct evt_publisher **ret);
void evt_free(struct evt_publisher *p);
/* Queue an event: topic "/tasks/exit", msg a containerd.events.* message; the Any's type URL
 * is the message's bare full name (descriptor->name). -ENOBUFS when EVT_QUEUE_MAX droppable
 * events are pending (never for a lifecycle topic), -EINVAL for a bad topic. */
int evt_publish(struct evt_publisher *p, const char *topic, const ProtobufCMessage *msg);
/* Lifecycle topics (exit, delete, create, start, exec-added, exec-started): never dropped for
 * a full queue, retried without end while containerd cannot be reached. */
bool evt_topic_must_deliver(const char *topic);
size_t evt_queued(const struct evt_publisher *p);
uint64_t evt_sent(const struct evt_publisher *p);
uint64_t evt_dropped(const struct evt_publisher *p);
/* Run the loop until the queue is empty or timeout_ms passed (used at exit). 0 = flushed. */
int evt_flush(struct evt_publisher *p, unsigned timeout_ms);
/* Base retry delay in ms (tests shorten it). */
void evt_set_backoff_ms(struct evt_publisher *p, unsigned ms);

#endif
