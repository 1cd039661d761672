/* See harness.h. */
#include "harness.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../../shim/naming/address.h"
#include "../../../shim/events/events.h"
#include "../../../shim/sandbox/mounts.h"
#include "fs_beneath.h"
#include "../../../shim/task/model.h"
#include "../../../shim/task/service.h"
#include "agent.pb-c.h"
#include "agent_wire.h"
#include "containerd/runc/v1/process.pb-c.h"
#include "cleanup.h"
#include "containerd/events/task.pb-c.h"
#include "containerd/services/events/ttrpc/v1/events.pb-c.h"
#include "containerd/task/v2/shim.pb-c.h"
#include "fd.h"
#include "hv.h"
#include "loop.h"
#include "runtimeoptions/v1/api.pb-c.h"
#include "ttrpc.h"

struct loop *L;
int never_ready;
int silent_console; /* the fake guest prints nothing and its agent never answers */
int agent_hung;     /* the fake agent stops answering Health and SignalProcess */

/* ------------------------------------------------------------------ fake agent */
struct fstream {
    int fd;
    struct loop_source *w;
    char line[256];
    size_t n;
    char cid[80], exec[80], kind[16];
};
static struct fstream streams[32];
static int n_streams;
struct fwait {
    struct ttrpc_call *call;
    char cid[80], exec[80];
};
static struct fwait waits[16];
static struct ttrpc_server *agent_srv;

static void wait_cancel(struct ttrpc_call *c, void *d)
{
    (void)c;
    ((struct fwait *)d)->call = NULL;
}

static void reply_empty(struct ttrpc_call *call)
{
    ttrpc_call_reply(call, NULL);
}

static void a_health(struct ttrpc_call *call, const uint8_t *p, size_t n, void *ud)
{
    Cvm__Agent__V1__HealthResponse r = CVM__AGENT__V1__HEALTH_RESPONSE__INIT;
    (void)p, (void)n, (void)ud;
    if (agent_hung)
        return; /* a wedged guest: the call is never answered */
    r.serving = 1;
    ttrpc_call_reply(call, &r.base);
}

static void a_create(struct ttrpc_call *call, const uint8_t *p, size_t n, void *ud)
{
    Cvm__Agent__V1__CreateContainerRequest *q = cvm__agent__v1__create_container_request__unpack(NULL, n, p);
    Cvm__Agent__V1__CreateContainerResponse r = CVM__AGENT__V1__CREATE_CONTAINER_RESPONSE__INIT;
    (void)ud;
    ck_assert_ptr_nonnull(q);
    ck_assert_str_eq(q->share_tag, AGENT_SHARE_TAG);
    /* "<id>.<16 hex>/rootfs" (shim/sandbox/share.h), a name never given twice */
    static char seen[64][160];
    static unsigned n_seen;
    size_t idl = strlen(q->container_id);
    ck_assert_int_eq(strncmp(q->rootfs, q->container_id, idl), 0);
    ck_assert_int_eq(q->rootfs[idl], '.');
    ck_assert_uint_eq(strspn(q->rootfs + idl + 1, "0123456789abcdef"), 16);
    ck_assert_str_eq(q->rootfs + idl + 17, "/rootfs");
    for (unsigned i = 0; i < n_seen && i < 64; i++)
        ck_assert_str_ne(seen[i], q->rootfs);
    snprintf(seen[n_seen++ % 64], sizeof(seen[0]), "%s", q->rootfs);
    ck_assert_uint_gt(q->config_json.len, 10);
    cvm__agent__v1__create_container_request__free_unpacked(q, NULL);
    r.pid = 1;
    ttrpc_call_reply(call, &r.base);
}

static void a_start(struct ttrpc_call *call, const uint8_t *p, size_t n, void *ud)
{
    Cvm__Agent__V1__StartProcessResponse r = CVM__AGENT__V1__START_PROCESS_RESPONSE__INIT;
    (void)p, (void)n, (void)ud;
    r.pid = 100;
    ttrpc_call_reply(call, &r.base);
}

static void a_wait(struct ttrpc_call *call, const uint8_t *p, size_t n, void *ud)
{
    Cvm__Agent__V1__WaitProcessRequest *q = cvm__agent__v1__wait_process_request__unpack(NULL, n, p);
    (void)ud;
    for (int i = 0; i < 16; i++)
        if (!waits[i].call) {
            waits[i].call = call;
            snprintf(waits[i].cid, sizeof(waits[i].cid), "%s", q->container_id);
            snprintf(waits[i].exec, sizeof(waits[i].exec), "%s", q->exec_id);
            ttrpc_call_set_cancel(call, wait_cancel, &waits[i]);
            break;
        }
    cvm__agent__v1__wait_process_request__free_unpacked(q, NULL);
}

/* The guest process cid/exec writes out on stdout and exits with status. */
int keep_streams_open; /* a hostile guest: reports exits but never ends stdout/stderr */
void agent_exit(const char *cid, const char *exec, uint32_t status, const char *out)
{
    for (int i = 0; i < n_streams; i++) {
        struct fstream *s = &streams[i];
        if (s->fd < 0 || strcmp(s->cid, cid) || strcmp(s->exec, exec[0] ? exec : "-"))
            continue;
        if (strcmp(s->kind, "stdout") == 0 && out)
            ck_assert_int_eq(write(s->fd, out, strlen(out)), (int)strlen(out));
        if (strcmp(s->kind, "stdin") != 0 && !keep_streams_open) {
            s->w = loop_source_free(s->w);
            close(s->fd);
            s->fd = -1;
        }
    }
    for (int i = 0; i < 16; i++)
        if (waits[i].call && !strcmp(waits[i].cid, cid) && !strcmp(waits[i].exec, exec)) {
            Cvm__Agent__V1__WaitProcessResponse r = CVM__AGENT__V1__WAIT_PROCESS_RESPONSE__INIT;
            r.exit_status = status;
            r.exited_at_unix_ns = 1700000000000000000ull;
            ttrpc_call_set_cancel(waits[i].call, NULL, NULL);
            ttrpc_call_reply(waits[i].call, &r.base);
            waits[i].call = NULL;
        }
}

char last_signal[96]; /* the last SignalProcess: "<cid>/<exec>:<sig>" */
static void a_signal(struct ttrpc_call *call, const uint8_t *p, size_t n, void *ud)
{
    Cvm__Agent__V1__SignalProcessRequest *q = cvm__agent__v1__signal_process_request__unpack(NULL, n, p);
    (void)ud;
    if (agent_hung) {
        cvm__agent__v1__signal_process_request__free_unpacked(q, NULL);
        return;
    }
    snprintf(last_signal, sizeof(last_signal), "%s/%s:%u", q->container_id, q->exec_id, q->signal);
    reply_empty(call);
    agent_exit(q->container_id, q->exec_id, 128 + q->signal, NULL);
    cvm__agent__v1__signal_process_request__free_unpacked(q, NULL);
}

static void a_ok(struct ttrpc_call *call, const uint8_t *p, size_t n, void *ud)
{
    (void)p, (void)n, (void)ud;
    reply_empty(call);
}

char deleted_exec[80]; /* the last DeleteProcess: "<cid>/<exec>" */
static void a_delete_process(struct ttrpc_call *call, const uint8_t *p, size_t n, void *ud)
{
    Cvm__Agent__V1__DeleteProcessRequest *q = cvm__agent__v1__delete_process_request__unpack(NULL, n, p);
    Cvm__Agent__V1__DeleteProcessResponse r = CVM__AGENT__V1__DELETE_PROCESS_RESPONSE__INIT;
    (void)ud;
    ck_assert_ptr_nonnull(q);
    snprintf(deleted_exec, sizeof(deleted_exec), "%s/%s", q->container_id, q->exec_id);
    cvm__agent__v1__delete_process_request__free_unpacked(q, NULL);
    ttrpc_call_reply(call, &r.base);
}

/* list_flood 1: one entry more than AGENT_MAX_LISTED_PROCS (small bytes, too many entries);
 * 2: one entry whose exec id makes the answer larger than ListProcesses' cap. */
int list_flood;
static void a_list_flood(struct ttrpc_call *call)
{
    size_t n = list_flood == 1 ? AGENT_MAX_LISTED_PROCS + 1 : 1;
    Cvm__Agent__V1__ProcessInfo *e = calloc(n, sizeof(*e));
    Cvm__Agent__V1__ProcessInfo **v = calloc(n, sizeof(*v));
    char *big = calloc(1, 1u << 20);
    Cvm__Agent__V1__ListProcessesResponse r = CVM__AGENT__V1__LIST_PROCESSES_RESPONSE__INIT;
    ck_assert(e && v && big);
    memset(big, 'x', (1u << 20) - 1);
    for (size_t i = 0; i < n; i++) {
        cvm__agent__v1__process_info__init(&e[i]);
        e[i].pid = (uint32_t)(i + 1);
        e[i].exec_id = list_flood == 2 ? big : "";
        v[i] = &e[i];
    }
    r.n_processes = n, r.processes = v;
    ttrpc_call_reply(call, &r.base);
    free(e), free(v), free(big);
}

/* The guest's view of a container: its init (guest pid 100) and exec e1 (101). */
static void a_list(struct ttrpc_call *call, const uint8_t *p, size_t n, void *ud)
{
    if (list_flood)
        return a_list_flood(call);
    Cvm__Agent__V1__ProcessInfo a = CVM__AGENT__V1__PROCESS_INFO__INIT, b = CVM__AGENT__V1__PROCESS_INFO__INIT;
    Cvm__Agent__V1__ProcessInfo *v[2] = {&a, &b};
    Cvm__Agent__V1__ListProcessesResponse r = CVM__AGENT__V1__LIST_PROCESSES_RESPONSE__INIT;
    (void)p, (void)n, (void)ud;
    a.pid = 100, a.exec_id = "";
    b.pid = 101, b.exec_id = "e1";
    r.n_processes = 2, r.processes = v;
    ttrpc_call_reply(call, &r.base);
}

/* A hostile guest's WaitOOM: answered at once, every time, with oom_flood_ids. Without ids:
 * UNIMPLEMENTED, as an agent without OOM reporting (the watch stops). */
const char *oom_flood_ids[AGENT_MAX_OOM_IDS + 1];
size_t n_oom_flood;
int n_waitoom;
static void a_wait_oom(struct ttrpc_call *call, const uint8_t *p, size_t n, void *ud)
{
    Cvm__Agent__V1__WaitOOMResponse r = CVM__AGENT__V1__WAIT_OOMRESPONSE__INIT;
    (void)p, (void)n, (void)ud;
    n_waitoom++;
    if (!n_oom_flood) {
        ttrpc_call_reply_error(call, 12, "method WaitOOM");
        return;
    }
    r.n_container_ids = n_oom_flood;
    r.container_ids = (char **)oom_flood_ids;
    ttrpc_call_reply(call, &r.base);
}

static const struct ttrpc_method agent_methods[] = {
    { "WaitOOM", a_wait_oom },
    { "ListProcesses", a_list },
    { "DeleteProcess", a_delete_process },
    { "Health", a_health },          { "CreateContainer", a_create }, { "StartProcess", a_start },
    { "WaitProcess", a_wait },       { "SignalProcess", a_signal },   { "RemoveContainer", a_ok },
    { "ExecProcess", a_ok },         { "PauseContainer", a_ok },      { "ResumeContainer", a_ok },
};

static void stream_cb(struct loop_source *src, int fd, uint32_t ev, void *d)
{
    struct fstream *s = d;
    (void)src, (void)ev;
    if (s->n && s->line[s->n - 1] == '\n') { /* stdin data after the handshake: drain */
        char buf[256];
        if (read(fd, buf, sizeof(buf)) <= 0) {
            s->w = loop_source_free(s->w);
        }
        return;
    }
    while (s->n < sizeof(s->line) - 1 && read(fd, s->line + s->n, 1) == 1)
        if (s->line[s->n++] == '\n') {
            s->line[s->n] = 0;
            ck_assert_int_eq(sscanf(s->line, "STREAM %79s %79s %15s", s->cid, s->exec, s->kind), 3);
            ck_assert_int_eq(write(fd, "OK\n", 3), 3);
            return;
        }
}

/* ------------------------------------------------------------------ fake hv */
struct hv_vsock_req {
    hv_vsock_cb cb;
    void *data;
    int fd;
    int cancelled;
    struct hv_vm *vm;
};
struct hv_vm *the_vm;

static void ready_t(struct loop_source *s, void *d)
{
    struct hv_vm *vm = d;
    (void)s;
    vm->cb.ready(vm, vm->cb.data);
}

int hv_start(struct loop *loop, const struct hv_config *cfg, const struct hv_callbacks *cb,
             struct hv_vm **ret, struct cvm_err *err)
{
    struct hv_vm *vm = calloc(1, sizeof(*vm));
    (void)cfg, (void)err;
    vm->cb = *cb;
    vm->spawn_ns = now_ns();
    if (!never_ready)
        ck_assert_int_eq(loop_add_timer(loop, 1000, ready_t, vm, &vm->t), 0);
    *ret = the_vm = vm;
    return 0;
}

static void stopped_d(void *d)
{
    struct hv_vm *vm = d;
    vm->cb.stopped(vm, vm->cb.data);
}

int hv_stop(struct hv_vm *vm, unsigned ms)
{
    (void)ms;
    if (!vm->stopped) {
        vm->stopped = 1;
        loop_defer(L, stopped_d, vm);
    }
    return 0;
}

void hv_free(struct hv_vm *vm)
{
    if (!vm)
        return;
    loop_source_free(vm->t);
    if (vm == the_vm)
        the_vm = NULL;
    free(vm);
}

static void connect_d(void *d)
{
    struct hv_vsock_req *r = d;
    if (!r->cancelled)
        r->cb(r->vm, 0, r->fd, r->data);
    else
        close(r->fd);
    free(r);
}

int hv_vsock_connect(struct hv_vm *vm, uint32_t port, unsigned timeout_ms, hv_vsock_cb cb, void *data,
                     struct hv_vsock_req **ret, struct cvm_err *err)
{
    int sp[2];
    struct hv_vsock_req *r;
    (void)timeout_ms, (void)err;
    if (silent_console)
        return -ECONNRESET;
    r = calloc(1, sizeof(*r));
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sp), 0);
    if (port == AGENT_PORT) {
        ck_assert_int_eq(ttrpc_server_add_conn(agent_srv, sp[1]), 0);
    } else {
        struct fstream *s = &streams[n_streams++];
        memset(s, 0, sizeof(*s));
        s->fd = sp[1];
        ck_assert_int_eq(loop_add_io(L, sp[1], EPOLLIN, stream_cb, s, &s->w), 0);
    }
    r->cb = cb, r->data = data, r->fd = sp[0], r->vm = vm;
    if (ret)
        *ret = r;
    loop_defer(L, connect_d, r);
    return 0;
}

void hv_vsock_cancel(struct hv_vsock_req *r)
{
    if (r)
        r->cancelled = 1;
}

pid_t hv_qemu_pid(const struct hv_vm *vm)
{
    (void)vm;
    return getpid();
}

enum hv_vsock_mode hv_vsock_mode(const struct hv_vm *vm)
{
    (void)vm;
    return HV_VSOCK_HYBRID;
}

/* hv_vsock_mode_name is the real one (hypervisor/vsock_mode.c: pure, no VM behind it). */

int hv_console_tail(const struct hv_vm *vm, char *buf, size_t n)
{
    (void)vm;
    return snprintf(buf, n, "%s", silent_console ? "" : "fake console line");
}

void hv_helper_pids(const struct hv_vm *vm, pid_t *ret_virtiofsd, pid_t *ret_vsockd)
{
    (void)vm;
    *ret_virtiofsd = *ret_vsockd = 0;
}

unsigned long long hv_qemu_spawn_time_ns(const struct hv_vm *vm)
{
    return vm->spawn_ns;
}

unsigned long long hv_first_output_ns(const struct hv_vm *vm)
{
    return silent_console ? 0 : vm->spawn_ns + 1;
}

const struct accel_choice *hv_accel(const struct hv_vm *vm)
{
    static const struct accel_choice tcg = {.kvm = false, .provider = "kvm_pvm",
                                            .reason = "fake host without KVM"};
    (void)vm;
    return &tcg;
}

/* The fake VM has no translation cache (and never calls cb.idle): idle_reclaim.c links. */
int hv_query_jit(struct hv_vm *vm, hv_jit_cb cb, void *data, struct cvm_err *err)
{
    (void)vm, (void)cb, (void)data;
    return cvm_err_set(err, -EOPNOTSUPP, "fake hv: no translation cache");
}

int hv_trim_code_cache(struct hv_vm *vm, hv_trim_cb cb, void *data, struct cvm_err *err)
{
    (void)vm, (void)cb, (void)data;
    return cvm_err_set(err, -EOPNOTSUPP, "fake hv: no translation cache");
}

/* ------------------------------------------------------------------ containerd side */
struct shim S;
struct ttrpc_client *cli;
static struct ttrpc_server *task_srv, *ev_srv;
char topics[64][80];
int n_topics;
char dir[64], bundle[128], outfile[160], cfgfile[160];

static void ev_forward(struct ttrpc_call *call, const uint8_t *p, size_t n, void *ud)
{
    Containerd__Services__Events__Ttrpc__V1__ForwardRequest *q =
        containerd__services__events__ttrpc__v1__forward_request__unpack(NULL, n, p);
    (void)ud;
    ck_assert_ptr_nonnull(q);
    const char *id = "";
    Containerd__Events__TaskExit *x = NULL;
    if (!strcmp(q->envelope->event->type_url, "containerd.events.TaskExit")) {
        x = containerd__events__task_exit__unpack(NULL, q->envelope->event->value.len, q->envelope->event->value.data);
        id = x->id;
    }
    if (n_topics < 64)
        snprintf(topics[n_topics++], sizeof(topics[0]), "%s%s%s", q->envelope->topic, *id ? ":" : "", id);
    if (x) {
        char st[16];
        snprintf(st, sizeof(st), "=%u", x->exit_status);
        strncat(topics[n_topics - 1], st, sizeof(topics[0]) - strlen(topics[n_topics - 1]) - 1);
        containerd__events__task_exit__free_unpacked(x, NULL);
    }
    containerd__services__events__ttrpc__v1__forward_request__free_unpacked(q, NULL);
    ttrpc_call_reply(call, NULL);
}
static const struct ttrpc_method ev_methods[] = { { "Forward", ev_forward } };

static int ev_dial(void *d, int *ret)
{
    int sp[2];
    (void)d;
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sp), 0);
    ck_assert_int_eq(ttrpc_server_add_conn(ev_srv, sp[1]), 0);
    *ret = sp[0];
    return 0;
}


static void res_cb(const struct ttrpc_result *r, void *d)
{
    struct res *x = d;
    x->done = 1;
    x->code = r->code;
    snprintf(x->msg, sizeof(x->msg), "%s", r->message ? r->message : "");
    x->len = r->len < sizeof(x->buf) ? r->len : 0;
    if (x->len)
        memcpy(x->buf, r->payload, x->len);
}

void run_until(const int *flag)
{
    for (int i = 0; i < 3000 && !*flag; i++)
        loop_run_once(L, 5);
    ck_assert_msg(*flag, "timed out waiting");
}

void call_service_async(const char *service, const char *method, const ProtobufCMessage *m, struct res *r)
{
    memset(r, 0, sizeof(*r));
    ck_assert_int_eq(ttrpc_client_call(cli, service, method, m, NULL, 0, 20ull * 1000000000ull, res_cb, r), 0);
}

void call_async(const char *method, const ProtobufCMessage *m, struct res *r)
{
    call_service_async("containerd.task.v2.Task", method, m, r);
}

void call(const char *method, const ProtobufCMessage *m, struct res *r)
{
    call_async(method, m, r);
    run_until(&r->done);
}

void settle(void)
{
    for (int i = 0; i < 20; i++)
        loop_run_once(L, 2);
}

void setup(void)
{
    int sp[2];
    ck_assert_int_eq(geteuid(), 0);
    /* the shim's run dirs (/run/cvm) on a tmpfs of this test's own mount namespace: a test that
     * fails part-way leaves no run dir, mount or netns file on the host (Check forks a test) */
    ck_assert_int_eq(unshare(CLONE_NEWNS), 0);
    ck_assert_int_eq(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
    ck_assert(mkdir("/run/cvm", 0700) == 0 || errno == EEXIST);
    ck_assert_int_eq(mount("cvm-unit", "/run/cvm", "tmpfs", 0, "mode=0700"), 0);
    signal(SIGPIPE, SIG_IGN);
    memset(&S, 0, sizeof(S));
    memset(waits, 0, sizeof(waits));
    n_streams = n_topics = 0;
    never_ready = 0;
    silent_console = 0;
    agent_hung = 0;
    n_oom_flood = 0;
    n_waitoom = 0;
    list_flood = 0;
    keep_streams_open = 0;
    ck_assert_int_eq(loop_new(&L), 0);
    S.loop = L;
    TAILQ_INIT(&S.ops);
    snprintf(S.ns, sizeof(S.ns), "testns");
    snprintf(dir, sizeof(dir), "/run/cvm/unit-XXXXXX"); /* on that tmpfs too */
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(S.address, sizeof(S.address), "%s/fake.sock", dir);
    shim_group_hash(S.address, S.ns, "grp", S.hash);
    struct ttrpc_server_opts o = { 0 };
    ck_assert_int_eq(ttrpc_server_new(L, &o, &agent_srv), 0);
    ck_assert_int_eq(ttrpc_server_register(agent_srv, AGENT_SERVICE, agent_methods, ELEMENTSOF(agent_methods), NULL), 0);
    ck_assert_int_eq(ttrpc_server_new(L, &o, &ev_srv), 0);
    ck_assert_int_eq(ttrpc_server_register(ev_srv, "containerd.services.events.ttrpc.v1.Events", ev_methods, 1, NULL), 0);
    ck_assert_int_eq(evt_new(L, "/x", S.ns, ev_dial, NULL, &S.events), 0);
    ck_assert_int_eq(ttrpc_server_new(L, &o, &task_srv), 0);
    ck_assert_int_eq(task_service_register(task_srv, &S), 0); /* what the daemon registers */
    S.server = task_srv;
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sp), 0);
    ck_assert_int_eq(ttrpc_server_add_conn(task_srv, sp[1]), 0);
    ck_assert_int_eq(ttrpc_client_new(L, sp[0], &cli), 0);
    /* a bundle with a rootfs dir, a stdout file and a runtime config */
    snprintf(bundle, sizeof(bundle), "%s/bundle", dir);
    char p[256];
    snprintf(p, sizeof(p), "%s/rootfs", bundle);
    ck_assert_int_eq(mkdir_p(p, 0755, 0755), 0);
    snprintf(p, sizeof(p), "%s/config.json", bundle);
    FILE *f = fopen(p, "w");
    fputs("{\"annotations\":{\"io.containerd.cvm.v1.group\":\"grp\"},\"root\":{\"path\":\"rootfs\"},"
          "\"process\":{\"args\":[\"true\"]},\"linux\":{\"namespaces\":[{\"type\":\"pid\"},"
          "{\"type\":\"ipc\"},{\"type\":\"network\"},{\"type\":\"mount\"}]}}", f);
    fclose(f);
    snprintf(outfile, sizeof(outfile), "%s/stdout", dir);
    close(open(outfile, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
    snprintf(cfgfile, sizeof(cfgfile), "%s/cvm.json", dir);
    f = fopen(cfgfile, "w");
    fputs("{\"kernel\":\"/etc/hostname\",\"initrd\":\"/etc/hostname\",\"qemu\":\"/bin/true\",\"boot_deadline_ms\":1000}", f);
    fclose(f);
}

void teardown(void)
{
    char run[128];
    shim_run_dir(S.hash, run, sizeof(run));
    ttrpc_client_free(cli);
    if (S.sb)
        sandbox_free(S.sb);
    evt_free(S.events);
    ttrpc_server_free(task_srv);
    ttrpc_server_free(agent_srv);
    ttrpc_server_free(ev_srv);
    settle();
    loop_free(L);
    mnt_umount_tree(run);
    fsb_rm_path(run);
    fsb_rm_path(dir);
}

void create(const char *id, const char *stdout_path, struct res *r)
{
    Containerd__Task__V2__CreateTaskRequest q = CONTAINERD__TASK__V2__CREATE_TASK_REQUEST__INIT;
    Runtimeoptions__V1__Options o = RUNTIMEOPTIONS__V1__OPTIONS__INIT;
    Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
    uint8_t buf[512];
    o.config_path = cfgfile;
    any.type_url = "runtimeoptions.v1.Options";
    any.value.data = buf;
    any.value.len = runtimeoptions__v1__options__pack(&o, buf);
    q.id = (char *)id;
    q.bundle = bundle;
    q.stdout = (char *)(stdout_path ? stdout_path : "");
    q.options = &any;
    call("Create", &q.base, r);
}

void simple(const char *method, const char *id, const char *exec, struct res *r)
{
    /* StartRequest, DeleteRequest, StateRequest, WaitRequest share {id=1, exec_id=2} */
    Containerd__Task__V2__StartRequest q = CONTAINERD__TASK__V2__START_REQUEST__INIT;
    q.id = (char *)id;
    q.exec_id = (char *)exec;
    call(method, &q.base, r);
}

void wait_async(const char *id, const char *exec, struct res *r)
{
    Containerd__Task__V2__WaitRequest q = CONTAINERD__TASK__V2__WAIT_REQUEST__INIT;
    q.id = (char *)id;
    q.exec_id = (char *)exec;
    call_async("Wait", &q.base, r);
}

uint32_t wait_status(const struct res *r)
{
    Containerd__Task__V2__WaitResponse *w = containerd__task__v2__wait_response__unpack(NULL, r->len, r->buf);
    ck_assert_ptr_nonnull(w);
    uint32_t s = w->exit_status;
    ck_assert_int_ne(w->exited_at ? w->exited_at->seconds : 0, 0);
    containerd__task__v2__wait_response__free_unpacked(w, NULL);
    return s;
}

int state_of(const char *id, const char *exec, uint32_t *exit_status)
{
    struct res r;
    simple("State", id, exec, &r);
    if (r.code)
        return -r.code;
    Containerd__Task__V2__StateResponse *s = containerd__task__v2__state_response__unpack(NULL, r.len, r.buf);
    int st = s->status;
    if (exit_status)
        *exit_status = s->exit_status;
    ck_assert_uint_eq(s->pid, (uint32_t)getpid()); /* the "QEMU" pid */
    containerd__task__v2__state_response__free_unpacked(s, NULL);
    return st;
}

void events_flush(void)
{
    ck_assert_int_eq(evt_flush(S.events, 3000), 0);
    settle();
}

void write_cfg(const char *extra)
{
    FILE *f = fopen(cfgfile, "w");
    fprintf(f, "{\"kernel\":\"/etc/hostname\",\"initrd\":\"/etc/hostname\",\"qemu\":\"/bin/true\","
               "\"boot_deadline_ms\":1000,%s}", extra);
    fclose(f);
}
