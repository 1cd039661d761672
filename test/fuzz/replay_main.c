/* Replays a fuzz target's corpus under gcc (no libFuzzer needed): every file named on the
 * command line, or every file in the directories named, is fed to LLVMFuzzerTestOneInput.
 * Prints "PASS: <target> <n> inputs" — a crash or sanitizer report fails the run. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rbe");
    uint8_t *data;
    long n;
    if (!f)
        return -1;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    data = malloc(n > 0 ? (size_t)n : 1);
    if (!data || fread(data, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        free(data);
        return -1;
    }
    fclose(f);
    LLVMFuzzerTestOneInput(data, (size_t)n);
    free(data);
    return 0;
}

int main(int argc, char **argv)
{
    int count = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) < 0) {
            fprintf(stderr, "FAIL: %s: cannot stat %s\n", argv[0], argv[i]);
            return 1;
        }
        if (S_ISDIR(st.st_mode)) {
            DIR *d = opendir(argv[i]);
            struct dirent *de;
            while (d && (de = readdir(d))) {
                char p[4096];
                if (de->d_name[0] == '.')
                    continue;
                snprintf(p, sizeof(p), "%s/%s", argv[i], de->d_name);
                if (run_file(p) < 0) {
                    fprintf(stderr, "FAIL: cannot read %s\n", p);
                    return 1;
                }
                count++;
            }
            if (d)
                closedir(d);
        } else {
            if (run_file(argv[i]) < 0)
                return 1;
            count++;
        }
    }
    if (count == 0) {
        fprintf(stderr, "FAIL: %s: empty corpus\n", argv[0]);
        return 1;
    }
    printf("replayed %d inputs\n", count);
    return 0;
}
