/* The serving shim (daemon.c), entered by a cold `start`'s daemon (cmd_serve) and by a claimed
 * warm shim (warm.c) alike: one code path owns a sandbox's VM however it was booted. */
#ifndef CVM_SHIM_DAEMON_SERVE_H
#define CVM_SHIM_DAEMON_SERVE_H

#include <stdbool.h>

struct shim;
struct reaper;

/* Serve containerd on fd 3 as s's shim (ns, id, address and bundle set, cwd the bundle; s->loop
 * and s->sb may exist already: a claimed warm shim's) until it exits; the exit status. A NULL
 * reaper is made here; either way it is freed at exit. */
int shim_serve(struct shim *s, bool debug, struct reaper *reaper);

#endif
