/* Fuzz the guest image parsers with arbitrary file heads: kind detection, the bzImage release
 * the cpio walk, the ELF program headers and notes must never read past the buffer (ASan) and must return a terminated
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
    struct guest_span sp[GUEST_ELF_MAX_NOTE_SEGS];
    int n = guest_elf_note_spans(buf, size, sp, GUEST_ELF_MAX_NOTE_SEGS);
    if (n > GUEST_ELF_MAX_NOTE_SEGS)
        abort();
    /* the buffer as a notes blob as well */
    if (guest_elf_notes_release(buf, size, rel, sizeof(rel)) == 0 &&
        (strlen(rel) >= sizeof(rel) || strchr(rel, '/')))
        abort();
    const unsigned char *d;
    size_t dl;
    if (guest_elf_note_find(buf, size, "Xen", GUEST_ELF_NOTE_PVH_ENTRY, &d, &dl) == 0 &&
        (d < buf || d + dl > buf + size))
        abort();
    free(buf);
    return 0;
}
