/* See signals.h. */
#include "signals.h"

#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct {
    const char *name;
    int sig;
} names[] = {
    {"HUP", SIGHUP},       {"INT", SIGINT},   {"QUIT", SIGQUIT},     {"ILL", SIGILL},
    {"TRAP", SIGTRAP},     {"ABRT", SIGABRT}, {"IOT", SIGIOT},       {"BUS", SIGBUS},
    {"FPE", SIGFPE},       {"KILL", SIGKILL}, {"USR1", SIGUSR1},     {"SEGV", SIGSEGV},
    {"USR2", SIGUSR2},     {"PIPE", SIGPIPE}, {"ALRM", SIGALRM},     {"TERM", SIGTERM},
    {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD}, {"CONT", SIGCONT},     {"STOP", SIGSTOP},
    {"TSTP", SIGTSTP},     {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU},     {"URG", SIGURG},
    {"XCPU", SIGXCPU},     {"XFSZ", SIGXFSZ}, {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF},
    {"WINCH", SIGWINCH},   {"IO", SIGIO},     {"POLL", SIGPOLL},     {"PWR", SIGPWR},
    {"SYS", SIGSYS},
};

/* The kernel's range (glibc's SIGRTMIN reserves two for itself; runc counts from 34). */
#define RT_FIRST 34
#define RT_LAST 64

static int parse_num(const char *s, int lo, int hi)
{
    char *end;
    if (!*s || !isdigit((unsigned char)*s))
        return -EINVAL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        return -EINVAL;
    return (int)v;
}

int rt_signal_parse(const char *s)
{
    if (!s || !*s)
        return -EINVAL;
    if (isdigit((unsigned char)*s))
        return parse_num(s, 1, RT_LAST);
    if (strncasecmp(s, "SIG", 3) == 0)
        s += 3;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcasecmp(s, names[i].name) == 0)
            return names[i].sig;
    if (strncasecmp(s, "RTMIN", 5) == 0) {
        int off = s[5] == 0 ? 0 : s[5] == '+' ? parse_num(s + 6, 0, RT_LAST - RT_FIRST) : -EINVAL;
        return off < 0 ? off : RT_FIRST + off;
    }
    if (strncasecmp(s, "RTMAX", 5) == 0) {
        int off = s[5] == 0 ? 0 : s[5] == '-' ? parse_num(s + 6, 0, RT_LAST - RT_FIRST) : -EINVAL;
        return off < 0 ? off : RT_LAST - off;
    }
    return -EINVAL;
}
