/* The node's pool of warm shims on disk (README "Warm VM pool"), under POOL_DIR:
 *   <N>.lock  flock held by warm shim N for its whole life (free lock = stale or empty slot)
 *   <N>.sock  its control socket (pool_wire.h), bound once its VM is ready
 *   <N>/      its run dir while warm (renamed to the sandbox's run dir at a claim)
 *   <N>.log   its log while warm
 *   claimed, failures  append-only counters: one byte per claim / failed warm boot
 * Everything here is root's (0700 dir): only our warm shims bind a socket there, so talking to
 * a socket of it is talking to one of ours; nothing is ever signalled by pid. */
#ifndef CVM_SHIM_POOL_SLOT_H
#define CVM_SHIM_POOL_SLOT_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "pool/pool_wire.h"

#define POOL_DIR "/run/cvm/pool"

/* This binary's identity and its runtime config's ("exe <dev>:<ino>:<mtime> cfg <the first 16
 * hex of the SHA-256 of config_path's content, or '-' when it cannot be read>"): a warm shim
 * of another build (make install replaced the file), or one that booted from another config
 * (the operator changed it, or a start names another file), is stale and is told to exit
 * instead of being claimed, and the claim boots cold. */
int pool_version(const char *config_path, char *out, size_t n);
/* "<POOL_DIR>/<slot><suffix>" */
void pool_slot_path(unsigned slot, const char *suffix, char *out, size_t n);
/* Make POOL_DIR (0700, root's). */
int pool_dir_make(void);

/* Claim a warm VM for the sandbox of claim (type CLAIM), handing it listen_fd: the slot
 * number, or -errno with why (n bytes) when none was taken (cold boot then). Warm shims of
 * another version met on the way are told to exit. */
int pool_claim(const struct pool_msg *claim, int listen_fd, unsigned size, char *why, size_t n);

/* Keep `size` warm shims: every free slot below size is swept (a dead warm shim's mounts and
 * files) and gets a new warm shim (self pool-warm <slot> <config_path>) holding its lock.
 * Slots at or above size that are live are told to exit (the operator made the pool smaller).
 * Returns how many were started, or -errno. */
int pool_fill(unsigned size, const char *config_path, bool debug);

/* Tell every live warm shim to exit (make install, pool-drain); how many were told. */
int pool_drain(void);

struct pool_status {
    unsigned warm;    /* lock held, control socket answering */
    unsigned booting; /* lock held, no socket yet */
    unsigned long claimed, failures;
};
void pool_status_read(struct pool_status *st);
/* Count one event ("claimed", "failures"). */
void pool_count(const char *counter);

#endif
