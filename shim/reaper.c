#define LOG_MODULE "reaper"
#include "reaper.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "fd.h"
#include "log.h"
#include "loop.h"

#define SWEEP_DELAY_US 1000000ull
#define MAX_SEEN 64

struct reaper {
    struct loop *loop;
    struct loop_source *sig, *timer;
    pid_t seen[MAX_SEEN]; /* zombies seen at the previous sweep */
    int n_seen;
};

static int is_zombie(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
    if (n <= 0)
        return 0;
    buf[n] = 0;
    char *rp = strrchr(buf, ')');
    return rp && rp[1] == ' ' && rp[2] == 'Z';
}

int reaper_sweep(struct reaper *r)
{
    pid_t now[MAX_SEEN];
    int n_now = 0, reaped = 0;
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/task/%d/children", (int)getpid());
    _cleanup_fclose_ FILE *f = fopen(path, "re");
    int pid;
    while (f && n_now < MAX_SEEN && fscanf(f, "%d", &pid) == 1) {
        if (!is_zombie(pid))
            continue;
        int was_seen = 0;
        for (int i = 0; i < r->n_seen; i++)
            was_seen |= r->seen[i] == pid;
        if (was_seen && waitpid(pid, NULL, WNOHANG) == pid) {
            log_debug("reaped orphan %d", pid);
            reaped++;
        } else
            now[n_now++] = pid;
    }
    memcpy(r->seen, now, sizeof(pid_t) * (size_t)n_now);
    r->n_seen = n_now;
    if (n_now > 0)
        loop_timer_set(r->timer, SWEEP_DELAY_US);
    return reaped;
}

static void timer_cb(struct loop_source *s, void *data)
{
    (void)s;
    reaper_sweep(data);
}

static void sigchld_cb(struct loop_source *s, const struct signalfd_siginfo *si, void *data)
{
    struct reaper *r = data;
    (void)s;
    (void)si;
    loop_timer_set(r->timer, SWEEP_DELAY_US);
}

int reaper_new(struct loop *l, struct reaper **ret)
{
    struct reaper *r = calloc(1, sizeof(*r));
    int rc;
    if (!r)
        return -ENOMEM;
    r->loop = l;
    if ((rc = loop_add_timer(l, 0, timer_cb, r, &r->timer)) < 0 ||
        (rc = loop_add_signal(l, SIGCHLD, sigchld_cb, r, &r->sig)) < 0) {
        reaper_free(r);
        return rc;
    }
    *ret = r;
    return 0;
}

void reaper_free(struct reaper *r)
{
    if (!r)
        return;
    loop_source_free(r->sig);
    loop_source_free(r->timer);
    free(r);
}
