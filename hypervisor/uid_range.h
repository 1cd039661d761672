/* The uid range sandboxes take their ids from (config key "uid_range"): pure parts.
 *
 * Every sandbox's VMM-side processes (QEMU, cvm-vsockd) run as one uid of the range, with the
 * same number as their gid and no supplementary group (kvm aside, qemu_privs.h): two live
 * sandboxes never share it, so one subverted VMM cannot signal, ptrace or read another's.
 * The lease (uid_lease.c) is an flock on <lock dir>/<uid>; the order in which a sandbox tries
 * the uids starts at a point derived from its id, so concurrent starts rarely contend. */
#ifndef CVM_UID_RANGE_H
#define CVM_UID_RANGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* 65536 ids far above regular users (1000-60000), Debian's system and reserved ids and the
 * usual subuid blocks (100000 + 65536 n). systemd-nspawn's --private-users=pick draws from
 * 524288-1879048191, which contains this block: a node that runs such containers configures
 * a block of its own (config/README.md). */
#define UID_RANGE_DEFAULT_FIRST 1000000000u
#define UID_RANGE_DEFAULT_LAST 1000065535u
#define UID_RANGE_DEFAULT "1000000000-1000065535"
#define UID_RANGE_MAX_LEN 32 /* "4294967294-4294967294" fits */

struct uid_range {
    uint32_t first, last; /* inclusive; 0 < first <= last < 4294967295 */
};

/* PURE: "FIRST-LAST" in decimal (no sign, no spaces, no leading zeros beyond "0"), with
 * 1 <= FIRST <= LAST <= 4294967294 (uid 0 is root, (uid_t)-1 means "unchanged" to setresuid).
 * 0 or -EINVAL (r untouched). */
int uid_range_parse(const char *s, size_t len, struct uid_range *r);

/* PURE: the number of ids in r (1 .. 2^32-2). */
uint64_t uid_range_size(const struct uid_range *r);

/* PURE: the i-th uid to try (i < size) for a sandbox whose id hashes to seed: every uid of
 * the range exactly once over i = 0 .. size-1, starting at seed % size. */
uint32_t uid_range_nth(const struct uid_range *r, uint32_t seed, uint64_t i);

/* PURE: FNV-1a of a sandbox id: the start of its search. */
uint32_t uid_range_seed(const char *id);

/* PURE: does a /proc/<pid>/status text (n bytes) name uid in its "Uid:" line (real,
 * effective, saved or filesystem)? -EINVAL when there is no well-formed Uid line. */
int uid_range_status_has_uid(const char *status, size_t n, uint32_t uid);

#endif
