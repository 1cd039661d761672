/* The one event loop of a process: epoll over fds, timerfd timers, signalfd signals and
 * pidfd children. No threads.
 *
 * Lifetime rule (libuv's): loop_source_free() may be called from any callback, also for the
 * source being dispatched; the source is unregistered at once and its memory released after
 * the current batch, so a stale event from the same epoll_wait() batch is never delivered. */
#ifndef CVM_LOOP_H
#define CVM_LOOP_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/signalfd.h>
#include <sys/types.h>

struct loop;
struct loop_source;

typedef void (*loop_io_cb)(struct loop_source *s, int fd, uint32_t revents, void *data);
typedef void (*loop_timer_cb)(struct loop_source *s, void *data);
typedef void (*loop_signal_cb)(struct loop_source *s, const struct signalfd_siginfo *si,
                               void *data);
/* si->si_code is CLD_EXITED (si_status = exit code) or CLD_KILLED/CLD_DUMPED (si_status = signal). */
typedef void (*loop_child_cb)(struct loop_source *s, pid_t pid, const siginfo_t *si, void *data);
typedef void (*loop_defer_cb)(void *data);

int loop_new(struct loop **ret);
void loop_free(struct loop *l);

/* fd stays owned by the caller; free the source before closing the fd. */
int loop_add_io(struct loop *l, int fd, uint32_t events, loop_io_cb cb, void *data,
                struct loop_source **ret);
int loop_io_set_events(struct loop_source *s, uint32_t events);
uint32_t loop_io_get_events(const struct loop_source *s);

/* One-shot timer firing after usec microseconds (0 = disarmed); re-arm with loop_timer_set. */
int loop_add_timer(struct loop *l, uint64_t usec, loop_timer_cb cb, void *data,
                   struct loop_source **ret);
int loop_timer_set(struct loop_source *s, uint64_t usec);

/* Blocks sig for the whole process and delivers it through a signalfd. */
int loop_add_signal(struct loop *l, int sig, loop_signal_cb cb, void *data,
                    struct loop_source **ret);

/* Watches a child through a pidfd (opened here if pidfd < 0; owned by the source afterwards)
 * and reaps it with waitid(P_PIDFD) before calling cb once. */
int loop_add_child(struct loop *l, pid_t pid, int pidfd, loop_child_cb cb, void *data,
                   struct loop_source **ret);
int loop_child_pidfd(const struct loop_source *s);
/* True while a child source watches pid: a catch-all SIGCHLD reaper must leave it alone,
 * its source reaps it (and reports its status). */
bool loop_child_watched(const struct loop *l, pid_t pid);

/* Unregister now, release after the current batch. Accepts NULL; returns NULL. */
struct loop_source *loop_source_free(struct loop_source *s);
void *loop_source_data(const struct loop_source *s);

/* Run cb(data) after the current batch of events (before the next wait). */
int loop_defer(struct loop *l, loop_defer_cb cb, void *data);

/* Dispatch one batch; timeout_ms -1 waits forever. Returns events dispatched or -errno. */
int loop_run_once(struct loop *l, int timeout_ms);
/* Run until loop_quit(); returns the quit code. */
int loop_run(struct loop *l);
void loop_quit(struct loop *l, int code);
/* Undo loop_quit: the next loop_run runs again (a warm shim that goes on serving). */
void loop_resume(struct loop *l);
int loop_is_quitting(const struct loop *l);

#endif
