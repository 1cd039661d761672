/* Fuzz the guest image parsers with arbitrary file heads: kind detection, the bzImage release
 * and the cpio walk must never read past the buffer (ASan) and must return a terminated
 * string on success. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "guest_image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char rel[64];
    /* an exact-size copy, so any over-read is outside the allocation */
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    (void)guest_kernel_kind(buf, size);
    (void)guest_initrd_kind(buf, size);
    if (guest_bzimage_release(buf, size, rel, sizeof(rel)) == 0 && strlen(rel) >= sizeof(rel))
        abort();
    if (guest_cpio_modules_release(buf, size, rel, sizeof(rel)) == 0 &&
        (strlen(rel) >= sizeof(rel) || strchr(rel, '/')))
        abort();
    free(buf);
    return 0;
}
