/* Prints the real and effective uid: installed setuid root in a test image (e2e 66), it shows
 * whether the kernel honoured the setuid bit. */
#include <stdio.h>
#include <unistd.h>

int main(void)
{
    printf("uid=%u euid=%u\n", (unsigned)getuid(), (unsigned)geteuid());
    return 0;
}
