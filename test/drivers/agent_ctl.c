/* agent_ctl: a host-side test client for cvm-agent (ttrpc + stdio streams).
 *
 *   agent_ctl (--unix PATH [--stdio PATH] | --hybrid VSOCK_UDS) COMMAND [options]
 *
 * Commands (container id --id, exec id --exec):
 *   run    --config FILE --rootfs DIR [stdio]      create + attach + start + relay + wait
 *   exec   --process FILE [stdio]                   exec + attach + start + relay + wait
 *   create --config FILE --rootfs DIR [--share-tag T] [--in/--out/--err X]  (announces the
 *          streams named but attaches none)
 *   start | wait | pause | resume | stats | ps | rm [--force] | delete (a finished exec)
 *   kill --signal N [--all]      update --resources FILE      resize --width W --height H
 *   health | version | shutdown
 *   configure-network --net FILE   FILE: JSON in the shape of ConfigureNetworkRequest
 *          {"interfaces":[{"nic_mac","name","mac","mtu","addresses":[{"address","prefix_len"}]}],
 *           "routes":[{"family","dest","dest_prefix_len","gateway","device","metric","source"}],
 *           "neighbors":[{"address","lladdr","device"}]}   (missing keys: "" or 0)
 *   list-network                   ListNetworkResponse as one line of JSON, same shape
 * stdio: [--in FILE] [--out FILE] [--err FILE] [--close-stdin-rpc] [--start-wait-ms N]
 *   --in: stdin from FILE ("-" = our stdin); EOF half-closes the stream unless
 *   --close-stdin-rpc, which sends CloseStdin instead. --out/--err: write the streams
 *   there ("-" = our stdout/stderr). With --config's process.terminal the pty is stdout.
 * "exit=<status>" is printed on stdout after wait; errors go to stderr as
 * "error: <code name>: <message>" and exit 1. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#include "agent.pb-c.h"
#include "fd.h"
#include "loop.h"
#include "ttrpc.h"

#define SVC "cvm.agent.v1.Agent"

static const char *o_unix, *o_stdio, *o_hybrid, *o_id = "", *o_exec = "", *o_config, *o_rootfs,
                  *o_process, *o_in, *o_out, *o_err, *o_resources, *o_share_tag = "",
                  *o_net;
static int o_signal = 15, o_all, o_force, o_close_rpc, o_start_wait_ms, o_width, o_height;
static struct loop *L;
static struct ttrpc_client *C;

__attribute__((format(printf, 1, 2))) static void die(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "error: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    exit(1);
}

static char *slurp(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0)
        die("cannot read %s", path);
    char *b = malloc((size_t)st.st_size + 1);
    ssize_t n = read_all(fd, b, (size_t)st.st_size);
    close(fd);
    if (n != st.st_size)
        die("short read on %s", path);
    b[n] = '\0'; /* callers strstr() the text */
    *len = (size_t)n;
    return b;
}

static int connect_unix(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        die("connect %s failed", path);
    return fd;
}

static void read_line(int fd, char *buf, size_t sz)
{
    size_t n = 0;
    while (n + 1 < sz) {
        char ch;
        ssize_t r = read(fd, &ch, 1);
        if (r <= 0)
            break;
        if (ch == '\n')
            break;
        buf[n++] = ch;
    }
    buf[n] = '\0';
}

/* A connection to agent port `port`: unix path directly, or hybrid vsock CONNECT. */
static int dial(unsigned port)
{
    if (o_hybrid) {
        char line[64];
        int fd = connect_unix(o_hybrid);
        snprintf(line, sizeof(line), "CONNECT %u\n", port);
        if (write_all(fd, line, strlen(line)) < 0)
            die("hybrid vsock write failed");
        read_line(fd, line, sizeof(line));
        if (strncmp(line, "OK ", 3) != 0)
            die("hybrid vsock CONNECT refused: %s", line);
        return fd;
    }
    return connect_unix(port == 1024 ? o_unix : o_stdio);
}

static void *call(const char *method, const ProtobufCMessage *req, size_t *len)
{
    uint8_t *out = NULL;
    struct cvm_err err = {0};
    int r = ttrpc_client_call_sync(C, L, SVC, method, req, NULL, 0, 0, &out, len, &err);
    if (r < 0) {
        fprintf(stderr, "error: %s: %s\n", rpc_code_name(err.code), err.msg);
        exit(1);
    }
    return out;
}

/* ---- configure-network / list-network: JSON <-> messages, keys as the proto fields ---- */

static char *jstr(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return (char *)(json_is_string(v) ? json_string_value(v) : "");
}

static uint32_t jnum(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_integer(v) ? (uint32_t)json_integer_value(v) : 0;
}

/* calloc'd array of n pointers to n calloc'd messages, each through init. */
static void *msgs(size_t n, size_t size, void (*init)(void *))
{
    void **v = calloc(n ? n : 1, sizeof(*v));
    for (size_t i = 0; v && i < n; i++)
        if ((v[i] = calloc(1, size)))
            init(v[i]);
    return v;
}

static void free_msgs(void *p, size_t n)
{
    void **v = p;
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

static void init_iface(void *m) { cvm__agent__v1__net_interface__init(m); }
static void init_addr(void *m) { cvm__agent__v1__net_address__init(m); }
static void init_route(void *m) { cvm__agent__v1__net_route__init(m); }
static void init_neigh(void *m) { cvm__agent__v1__net_neighbor__init(m); }

static void do_configure_network(void)
{
    json_error_t je;
    json_t *j = o_net ? json_load_file(o_net, 0, &je) : NULL;
    if (!json_is_object(j))
        die("--net %s: not a JSON object (%s)", o_net ? o_net : "(missing)", o_net ? je.text : "");
    json_t *ifs = json_object_get(j, "interfaces"), *rts = json_object_get(j, "routes"),
           *nbs = json_object_get(j, "neighbors");
    Cvm__Agent__V1__ConfigureNetworkRequest rq = CVM__AGENT__V1__CONFIGURE_NETWORK_REQUEST__INIT;
    rq.n_interfaces = json_array_size(ifs);
    rq.interfaces = msgs(rq.n_interfaces, sizeof(**rq.interfaces), init_iface);
    for (size_t i = 0; i < rq.n_interfaces; i++) {
        json_t *o = json_array_get(ifs, i), *as = json_object_get(o, "addresses");
        Cvm__Agent__V1__NetInterface *f = rq.interfaces[i];
        f->nic_mac = jstr(o, "nic_mac");
        f->name = jstr(o, "name");
        f->mac = jstr(o, "mac");
        f->mtu = jnum(o, "mtu");
        f->n_addresses = json_array_size(as);
        f->addresses = msgs(f->n_addresses, sizeof(**f->addresses), init_addr);
        for (size_t k = 0; k < f->n_addresses; k++) {
            f->addresses[k]->address = jstr(json_array_get(as, k), "address");
            f->addresses[k]->prefix_len = jnum(json_array_get(as, k), "prefix_len");
        }
    }
    rq.n_routes = json_array_size(rts);
    rq.routes = msgs(rq.n_routes, sizeof(**rq.routes), init_route);
    for (size_t i = 0; i < rq.n_routes; i++) {
        json_t *o = json_array_get(rts, i);
        Cvm__Agent__V1__NetRoute *r = rq.routes[i];
        r->family = jnum(o, "family");
        r->dest = jstr(o, "dest");
        r->dest_prefix_len = jnum(o, "dest_prefix_len");
        r->gateway = jstr(o, "gateway");
        r->device = jstr(o, "device");
        r->metric = jnum(o, "metric");
        r->source = jstr(o, "source");
    }
    rq.n_neighbors = json_array_size(nbs);
    rq.neighbors = msgs(rq.n_neighbors, sizeof(**rq.neighbors), init_neigh);
    for (size_t i = 0; i < rq.n_neighbors; i++) {
        json_t *o = json_array_get(nbs, i);
        rq.neighbors[i]->address = jstr(o, "address");
        rq.neighbors[i]->lladdr = jstr(o, "lladdr");
        rq.neighbors[i]->device = jstr(o, "device");
    }
    size_t l;
    free(call("ConfigureNetwork", &rq.base, &l));
    printf("ok\n");
    for (size_t i = 0; i < rq.n_interfaces; i++)
        free_msgs(rq.interfaces[i]->addresses, rq.interfaces[i]->n_addresses);
    free_msgs(rq.interfaces, rq.n_interfaces);
    free_msgs(rq.routes, rq.n_routes);
    free_msgs(rq.neighbors, rq.n_neighbors);
    json_decref(j);
}

static void do_list_network(const ProtobufCMessage *empty)
{
    size_t l;
    uint8_t *out = call("ListNetwork", empty, &l);
    Cvm__Agent__V1__ListNetworkResponse *rs = cvm__agent__v1__list_network_response__unpack(NULL, l, out);
    if (!rs)
        die("malformed ListNetworkResponse");
    json_t *j = json_object(), *ifs = json_array(), *rts = json_array(), *nbs = json_array();
    for (size_t i = 0; i < rs->n_interfaces; i++) {
        Cvm__Agent__V1__NetInterface *f = rs->interfaces[i];
        json_t *as = json_array();
        for (size_t k = 0; k < f->n_addresses; k++)
            json_array_append_new(as, json_pack("{s:s,s:i}", "address", f->addresses[k]->address, "prefix_len",
                                                (json_int_t)f->addresses[k]->prefix_len));
        json_array_append_new(ifs, json_pack("{s:s,s:s,s:s,s:i,s:o}", "nic_mac", f->nic_mac, "name", f->name, "mac",
                                             f->mac, "mtu", (json_int_t)f->mtu, "addresses", as));
    }
    for (size_t i = 0; i < rs->n_routes; i++) {
        Cvm__Agent__V1__NetRoute *r = rs->routes[i];
        json_array_append_new(rts, json_pack("{s:i,s:s,s:i,s:s,s:s,s:i,s:s}", "family", (json_int_t)r->family, "dest",
                                             r->dest, "dest_prefix_len", (json_int_t)r->dest_prefix_len, "gateway",
                                             r->gateway, "device", r->device, "metric", (json_int_t)r->metric,
                                             "source", r->source));
    }
    for (size_t i = 0; i < rs->n_neighbors; i++) {
        Cvm__Agent__V1__NetNeighbor *n = rs->neighbors[i];
        json_array_append_new(nbs, json_pack("{s:s,s:s,s:s}", "address", n->address, "lladdr", n->lladdr, "device",
                                             n->device));
    }
    json_object_set_new(j, "interfaces", ifs);
    json_object_set_new(j, "routes", rts);
    json_object_set_new(j, "neighbors", nbs);
    char *txt = json_dumps(j, JSON_COMPACT);
    printf("%s\n", txt ? txt : "null");
    free(txt);
    json_decref(j);
    cvm__agent__v1__list_network_response__free_unpacked(rs, NULL);
    free(out);
}

static int open_stream(const char *kind)
{
    char line[256];
    int fd = dial(1025);
    snprintf(line, sizeof(line), "STREAM %s %s %s\n", o_id, o_exec[0] ? o_exec : "-", kind);
    if (write_all(fd, line, strlen(line)) < 0)
        die("stream handshake write failed");
    read_line(fd, line, sizeof(line));
    if (strcmp(line, "OK") != 0)
        die("stream handshake: %s", line);
    return fd;
}

/* Relay: in-file -> stdin stream, stdout/stderr streams -> files; until both outputs EOF. */
static void relay(int s_in, int s_out, int s_err)
{
    int f_in = -1, f_out = -1, f_err = -1;
    if (s_in >= 0)
        f_in = strcmp(o_in, "-") == 0 ? 0 : open(o_in, O_RDONLY | O_CLOEXEC);
    if (s_out >= 0)
        f_out = strcmp(o_out, "-") == 0 ? 1 : open(o_out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (s_err >= 0)
        f_err = strcmp(o_err, "-") == 0 ? 2 : open(o_err, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if ((s_in >= 0 && f_in < 0) || (s_out >= 0 && f_out < 0) || (s_err >= 0 && f_err < 0))
        die("cannot open stdio files");
    /* Non-blocking stdin writes: blocking on a full stdin stream while the process waits
     * for us to read its output would deadlock the test, not the agent. */
    static char inbuf[65536], buf[65536];
    size_t in_len = 0, in_off = 0;
    if (s_in >= 0)
        (void)fd_set_nonblock(s_in, 1);
    while (s_out >= 0 || s_err >= 0 || f_in >= 0 || in_off < in_len) {
        struct pollfd p[4] = {{.fd = in_off < in_len ? -1 : f_in, .events = POLLIN},
                              {.fd = s_out, .events = POLLIN},
                              {.fd = s_err, .events = POLLIN},
                              {.fd = in_off < in_len ? s_in : -1, .events = POLLOUT}};
        if (poll(p, 4, 60000) <= 0)
            die("relay: no progress for 60s");
        if (p[3].revents) {
            ssize_t n = write(s_in, inbuf + in_off, in_len - in_off);
            if (n < 0 && errno != EAGAIN)
                die("stdin stream write failed: %s", strerror(errno));
            if (n > 0)
                in_off += (size_t)n;
            if (in_off == in_len && f_in < 0)
                goto stdin_eof;
        }
        if (p[0].revents) {
            ssize_t n = read(f_in, inbuf, sizeof(inbuf));
            if (n > 0) {
                in_len = (size_t)n;
                in_off = 0;
            } else {
                if (f_in > 0)
                    close(f_in);
                f_in = -1;
                if (in_off == in_len)
                    goto stdin_eof;
            }
        }
        if (0) {
        stdin_eof:
            in_len = in_off = 0;
            if (o_close_rpc) {
                Cvm__Agent__V1__CloseStdinRequest rq = CVM__AGENT__V1__CLOSE_STDIN_REQUEST__INIT;
                size_t l;
                rq.container_id = (char *)o_id;
                rq.exec_id = (char *)o_exec;
                free(call("CloseStdin", &rq.base, &l));
            } else {
                shutdown(s_in, SHUT_WR);
            }
        }
        for (int k = 1; k < 3; k++) {
            int *s = k == 1 ? &s_out : &s_err, f = k == 1 ? f_out : f_err;
            if (!p[k].revents)
                continue;
            ssize_t n = read(*s, buf, sizeof(buf));
            if (n > 0) {
                if (write_all(f, buf, (size_t)n) < 0)
                    die("writing output failed");
            } else {
                close(*s);
                *s = -1;
            }
        }
    }
    if (f_out > 2)
        close(f_out);
    if (f_err > 2)
        close(f_err);
}

static Cvm__Agent__V1__StdioFlags flags_for(bool terminal)
{
    Cvm__Agent__V1__StdioFlags f = CVM__AGENT__V1__STDIO_FLAGS__INIT;
    f.stdin = o_in != NULL;
    f.stdout = o_out != NULL;
    f.stderr = o_err != NULL && !terminal;
    f.terminal = terminal;
    return f;
}

static void do_create(bool with_stdio)
{
    size_t len, l;
    char *cfg = slurp(o_config, &len);
    Cvm__Agent__V1__CreateContainerRequest rq = CVM__AGENT__V1__CREATE_CONTAINER_REQUEST__INIT;
    /* create: announce the streams named (the test may then leave them unattached) */
    Cvm__Agent__V1__StdioFlags f = flags_for(strstr(cfg, "\"terminal\": true") || strstr(cfg, "\"terminal\":true"));
    (void)with_stdio;
    rq.container_id = (char *)o_id;
    rq.config_json.data = (uint8_t *)cfg;
    rq.config_json.len = len;
    rq.rootfs = (char *)o_rootfs;
    rq.share_tag = (char *)o_share_tag;
    rq.stdio = &f;
    uint8_t *out = call("CreateContainer", &rq.base, &l);
    Cvm__Agent__V1__CreateContainerResponse *rs = cvm__agent__v1__create_container_response__unpack(NULL, l, out);
    printf("pid=%u\n", rs ? rs->pid : 0);
    fflush(stdout);
    if (rs)
        cvm__agent__v1__create_container_response__free_unpacked(rs, NULL);
    free(out);
    free(cfg);
}

static void do_start(void)
{
    size_t l;
    Cvm__Agent__V1__StartProcessRequest rq = CVM__AGENT__V1__START_PROCESS_REQUEST__INIT;
    rq.container_id = (char *)o_id;
    rq.exec_id = (char *)o_exec;
    rq.stdio_timeout_ms = (uint32_t)o_start_wait_ms;
    free(call("StartProcess", &rq.base, &l));
}

static void do_wait(void)
{
    size_t l;
    Cvm__Agent__V1__WaitProcessRequest rq = CVM__AGENT__V1__WAIT_PROCESS_REQUEST__INIT;
    rq.container_id = (char *)o_id;
    rq.exec_id = (char *)o_exec;
    uint8_t *out = call("WaitProcess", &rq.base, &l);
    Cvm__Agent__V1__WaitProcessResponse *rs = cvm__agent__v1__wait_process_response__unpack(NULL, l, out);
    printf("exit=%u\n", rs ? rs->exit_status : 9999);
    if (rs)
        cvm__agent__v1__wait_process_response__free_unpacked(rs, NULL);
    free(out);
}

static void attach_and_run(bool terminal)
{
    int s_in = -1, s_out = -1, s_err = -1;
    if (o_in)
        s_in = open_stream("stdin");
    if (o_out)
        s_out = open_stream("stdout");
    if (o_err && !terminal)
        s_err = open_stream("stderr");
    do_start();
    relay(s_in, s_out, s_err);
    do_wait();
}

static void simple(const char *method, const ProtobufCMessage *rq)
{
    size_t l;
    free(call(method, rq, &l));
    printf("ok\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"unix", 1, NULL, 'u'}, {"stdio", 1, NULL, 's'}, {"hybrid", 1, NULL, 'H'}, {"id", 1, NULL, 'i'},
        {"exec", 1, NULL, 'e'}, {"config", 1, NULL, 'c'}, {"rootfs", 1, NULL, 'r'}, {"process", 1, NULL, 'p'},
        {"in", 1, NULL, 'I'}, {"out", 1, NULL, 'O'}, {"err", 1, NULL, 'E'}, {"signal", 1, NULL, 'k'},
        {"all", 0, NULL, 'a'}, {"force", 0, NULL, 'f'}, {"resources", 1, NULL, 'R'},
        {"close-stdin-rpc", 0, NULL, 'C'}, {"width", 1, NULL, 'W'}, {"height", 1, NULL, 'h'}, {"start-wait-ms", 1, NULL, 'w'}, {"share-tag", 1, NULL, 't'},
        {"net", 1, NULL, 'N'},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'u': o_unix = optarg; break;
        case 's': o_stdio = optarg; break;
        case 'H': o_hybrid = optarg; break;
        case 'i': o_id = optarg; break;
        case 'e': o_exec = optarg; break;
        case 'c': o_config = optarg; break;
        case 'r': o_rootfs = optarg; break;
        case 'p': o_process = optarg; break;
        case 'I': o_in = optarg; break;
        case 'O': o_out = optarg; break;
        case 'E': o_err = optarg; break;
        case 'k': o_signal = atoi(optarg); break;
        case 'a': o_all = 1; break;
        case 'f': o_force = 1; break;
        case 'R': o_resources = optarg; break;
        case 'C': o_close_rpc = 1; break;
        case 'w': o_start_wait_ms = atoi(optarg); break;
        case 't': o_share_tag = optarg; break;
        case 'N': o_net = optarg; break;
        case 'W': o_width = atoi(optarg); break;
        case 'h': o_height = atoi(optarg); break;
        default: return 2;
        }
    }
    if (optind >= argc || (!o_unix && !o_hybrid)) {
        fprintf(stderr, "usage: agent_ctl (--unix PATH [--stdio PATH] | --hybrid UDS) COMMAND ...\n");
        return 2;
    }
    static char stdio_buf[256];
    if (o_unix && !o_stdio) {
        snprintf(stdio_buf, sizeof(stdio_buf), "%s.stdio", o_unix);
        o_stdio = stdio_buf;
    }
    const char *cmd = argv[optind];
    if (loop_new(&L) < 0 || ttrpc_client_new(L, dial(1024), &C) < 0)
        die("client setup failed");
    Cvm__Agent__V1__ContainerRequest cr = CVM__AGENT__V1__CONTAINER_REQUEST__INIT;
    cr.container_id = (char *)o_id;
    Cvm__Agent__V1__Empty empty = CVM__AGENT__V1__EMPTY__INIT;

    if (!strcmp(cmd, "run")) {
        do_create(true);
        size_t len;
        char *cfg = slurp(o_config, &len);
        bool term = strstr(cfg, "\"terminal\": true") || strstr(cfg, "\"terminal\":true");
        free(cfg);
        attach_and_run(term);
    } else if (!strcmp(cmd, "exec")) {
        size_t len, l;
        char *pj = slurp(o_process, &len);
        bool term = strstr(pj, "\"terminal\": true") || strstr(pj, "\"terminal\":true");
        Cvm__Agent__V1__ExecProcessRequest rq = CVM__AGENT__V1__EXEC_PROCESS_REQUEST__INIT;
        Cvm__Agent__V1__StdioFlags f = flags_for(term);
        rq.container_id = (char *)o_id;
        rq.exec_id = (char *)o_exec;
        rq.process_json.data = (uint8_t *)pj;
        rq.process_json.len = len;
        rq.stdio = &f;
        free(call("ExecProcess", &rq.base, &l));
        free(pj);
        attach_and_run(term);
    } else if (!strcmp(cmd, "create")) {
        do_create(false);
    } else if (!strcmp(cmd, "start")) {
        do_start();
        printf("ok\n");
    } else if (!strcmp(cmd, "wait")) {
        do_wait();
    } else if (!strcmp(cmd, "kill")) {
        Cvm__Agent__V1__SignalProcessRequest rq = CVM__AGENT__V1__SIGNAL_PROCESS_REQUEST__INIT;
        rq.container_id = (char *)o_id;
        rq.exec_id = (char *)o_exec;
        rq.signal = (uint32_t)o_signal;
        rq.all = o_all;
        simple("SignalProcess", &rq.base);
    } else if (!strcmp(cmd, "delete")) {
        size_t l;
        Cvm__Agent__V1__DeleteProcessRequest rq = CVM__AGENT__V1__DELETE_PROCESS_REQUEST__INIT;
        rq.container_id = (char *)o_id;
        rq.exec_id = (char *)o_exec;
        uint8_t *out = call("DeleteProcess", &rq.base, &l);
        Cvm__Agent__V1__DeleteProcessResponse *rs = cvm__agent__v1__delete_process_response__unpack(NULL, l, out);
        printf("exit=%u\n", rs ? rs->exit_status : 9999);
        if (rs)
            cvm__agent__v1__delete_process_response__free_unpacked(rs, NULL);
        free(out);
    } else if (!strcmp(cmd, "resize")) {
        Cvm__Agent__V1__ResizeTtyRequest rq = CVM__AGENT__V1__RESIZE_TTY_REQUEST__INIT;
        rq.container_id = (char *)o_id;
        rq.exec_id = (char *)o_exec;
        rq.width = (uint32_t)o_width;
        rq.height = (uint32_t)o_height;
        simple("ResizeTty", &rq.base);
    } else if (!strcmp(cmd, "rm")) {
        Cvm__Agent__V1__RemoveContainerRequest rq = CVM__AGENT__V1__REMOVE_CONTAINER_REQUEST__INIT;
        rq.container_id = (char *)o_id;
        rq.force = o_force;
        simple("RemoveContainer", &rq.base);
    } else if (!strcmp(cmd, "pause") || !strcmp(cmd, "resume")) {
        simple(!strcmp(cmd, "pause") ? "PauseContainer" : "ResumeContainer", &cr.base);
    } else if (!strcmp(cmd, "update")) {
        size_t len;
        Cvm__Agent__V1__UpdateContainerRequest rq = CVM__AGENT__V1__UPDATE_CONTAINER_REQUEST__INIT;
        rq.container_id = (char *)o_id;
        rq.resources_json.data = (uint8_t *)slurp(o_resources, &len);
        rq.resources_json.len = len;
        simple("UpdateContainer", &rq.base);
    } else if (!strcmp(cmd, "stats")) {
        size_t l;
        uint8_t *out = call("StatsContainer", &cr.base, &l);
        Cvm__Agent__V1__StatsResponse *rs = cvm__agent__v1__stats_response__unpack(NULL, l, out);
        if (rs && rs->metrics) {
            Io__Containerd__Cgroups__V2__Metrics *m = rs->metrics;
            printf("pids.current=%llu pids.limit=%llu cpu.usage_usec=%llu memory.usage=%llu memory.limit=%llu\n",
                   (unsigned long long)(m->pids ? m->pids->current : 0), (unsigned long long)(m->pids ? m->pids->limit : 0),
                   (unsigned long long)(m->cpu ? m->cpu->usage_usec : 0),
                   (unsigned long long)(m->memory ? m->memory->usage : 0),
                   (unsigned long long)(m->memory ? m->memory->usage_limit : 0));
        }
        if (rs)
            cvm__agent__v1__stats_response__free_unpacked(rs, NULL);
        free(out);
    } else if (!strcmp(cmd, "ps")) {
        size_t l;
        uint8_t *out = call("ListProcesses", &cr.base, &l);
        Cvm__Agent__V1__ListProcessesResponse *rs = cvm__agent__v1__list_processes_response__unpack(NULL, l, out);
        for (size_t i = 0; rs && i < rs->n_processes; i++)
            printf("%u %s\n", rs->processes[i]->pid, rs->processes[i]->exec_id[0] ? rs->processes[i]->exec_id : "-");
        if (rs)
            cvm__agent__v1__list_processes_response__free_unpacked(rs, NULL);
        free(out);
    } else if (!strcmp(cmd, "health")) {
        size_t l;
        uint8_t *out = call("Health", &empty.base, &l);
        Cvm__Agent__V1__HealthResponse *rs = cvm__agent__v1__health_response__unpack(NULL, l, out);
        printf("serving=%d containers=%u\n", rs ? rs->serving : -1, rs ? rs->containers : 0);
        if (rs)
            cvm__agent__v1__health_response__free_unpacked(rs, NULL);
        free(out);
    } else if (!strcmp(cmd, "version")) {
        size_t l;
        uint8_t *out = call("Version", &empty.base, &l);
        Cvm__Agent__V1__VersionResponse *rs = cvm__agent__v1__version_response__unpack(NULL, l, out);
        printf("agent=%s api=%u kernel=%s\n", rs ? rs->agent_version : "?", rs ? rs->api_version : 0, rs ? rs->kernel : "?");
        if (rs)
            cvm__agent__v1__version_response__free_unpacked(rs, NULL);
        free(out);
    } else if (!strcmp(cmd, "configure-network")) {
        do_configure_network();
    } else if (!strcmp(cmd, "list-network")) {
        do_list_network(&empty.base);
    } else if (!strcmp(cmd, "shutdown")) {
        simple("Shutdown", &empty.base);
    } else {
        die("unknown command %s", cmd);
    }
    ttrpc_client_free(C);
    (void)loop_run_once(L, 0); /* the connection's release is deferred to the loop's next turn */
    loop_free(L);
    return 0;
}
