/* Kernel module loading for the guest: the initrd's /etc/modules.load lists module paths in
 * dependency order (deps first, written by initrd/mkinitrd.sh from modules.dep); each is
 * loaded with finit_module(2). A module already loaded (EEXIST) counts as loaded.
 * Dependency-free (libc only), so tiny test guests can use it too. */
#ifndef CVM_KMOD_H
#define CVM_KMOD_H

#include <stddef.h>

#define KMOD_LIST_PATH "/etc/modules.load"
#define KMOD_MAX_MODULES 256
#define KMOD_MAX_LIST_BYTES (64u << 10)

struct kmod_report {
    unsigned loaded;  /* finit_module succeeded */
    unsigned present; /* EEXIST: built in or loaded before */
    int failed_errno; /* first failure, positive errno; 0 = none */
    char failed[256]; /* path of the first module that failed */
};

/* Load one module file; 0, or -errno (-EEXIST mapped to 1: already present). */
int kmod_load_file(const char *path, const char *params);

/* Load every module listed in list_path (NULL = KMOD_LIST_PATH), in order. Blank lines and
 * lines starting with '#' are skipped. A list over KMOD_MAX_MODULES entries (or with a path
 * over 255 bytes) is refused with -E2BIG before anything loads. Stops at the first failure and returns its -errno
 * (rep->failed names the module); a missing list file returns -ENOENT. rep may be NULL. */
int kmod_load_list(const char *list_path, struct kmod_report *rep);

#endif
