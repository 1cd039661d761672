/* hv_rebase: a warm VM's directory was renamed (shim/pool: a claimed pooled VM's run dir
 * becomes the sandbox's). Every path hv keeps under the old directory is rewritten; the
 * processes are untouched: QEMU, virtiofsd and cvm-vsockd hold their sockets and files by fd
 * (cvm-vsockd's view is its own root), only hv itself opens paths again (the hybrid vsock
 * socket per connection, the console for a tail, the files it removes at stop). */
#define LOG_MODULE "hv"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hv_internal.h"

/* *p under old (old itself or old/...): the same tail under new. -ENOMEM leaves *p alone. */
static int rebase_one(char **p, const char *old, const char *new)
{
    size_t ol = strlen(old);
    char *s;
    if (!*p || strncmp(*p, old, ol) != 0 || ((*p)[ol] != '\0' && (*p)[ol] != '/'))
        return 0;
    s = malloc(strlen(new) + strlen(*p + ol) + 1);
    if (!s)
        return -ENOMEM;
    strcpy(s, new);
    strcat(s, *p + ol);
    free(*p);
    *p = s;
    return 0;
}

int hv_rebase(struct hv_vm *vm, const char *old_dir, const char *new_dir)
{
    char **paths[] = {&vm->run_dir,      &vm->shared_dir,    &vm->netns_path,
                      &vm->console_path, &vm->qmp_sock,      &vm->vfs_sock,
                      &vm->vsock_dir,    &vm->vsock_vu_sock, &vm->vsock_uds};
    int r = 0;
    if (!vm || !old_dir || !new_dir || old_dir[0] != '/' || new_dir[0] != '/')
        return -EINVAL;
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
        if (rebase_one(paths[i], old_dir, new_dir) < 0)
            r = -ENOMEM;
    return r;
}
