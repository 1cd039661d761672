/* Fuzz pb_count_field, the guard the shim runs on a guest's reply before protobuf-c unpacks
 * it. Invariants: no read past the input (ASan), every counted field took at least two bytes,
 * and when protobuf-c decodes the same bytes as a message with repeated field 1, the count is
 * exactly its number of elements (the guard never lets through more than unpack allocates). */
#include <stdint.h>
#include <stdlib.h>

#include "agent.pb-c.h"
#include "pb_count.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    long n = pb_count_field(data, size, 1);
    if (n >= 0 && (size_t)n * 2 > size)
        abort();
    Cvm__Agent__V1__WaitOOMResponse *w = cvm__agent__v1__wait_oomresponse__unpack(NULL, size, data);
    if (w) {
        if (n >= 0 && (size_t)n != w->n_container_ids)
            abort();
        cvm__agent__v1__wait_oomresponse__free_unpacked(w, NULL);
    }
    Cvm__Agent__V1__ListProcessesResponse *l = cvm__agent__v1__list_processes_response__unpack(NULL, size, data);
    if (l) {
        if (n >= 0 && (size_t)n != l->n_processes)
            abort();
        cvm__agent__v1__list_processes_response__free_unpacked(l, NULL);
    }
    (void)pb_count_field(data, size, 7);
    return 0;
}
