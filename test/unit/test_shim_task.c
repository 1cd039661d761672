/* The shim's task service end to end without a VM: hv is replaced by a link-seam fake (hv_*
 * below; libhv's objects are then never pulled in) whose vsock connections are socketpairs to
 * an in-process fake agent (ttrpc server + stdio stream handshakes), and containerd is a ttrpc
 * client plus an Events/Forward server. Covers the lifecycle, Wait concurrency, event order,
 * kill of a never-started task, exec, VM death (every task 255), Shutdown, boot failure.
 * Needs root (the sandbox makes mounts and a netns), as the shim does. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../shim/address.h"
#include "../../shim/events.h"
#include "../../shim/mounts.h"
#include "../../shim/task.h"
#include "agent.pb-c.h"
#include "containerd/runc/v1/process.pb-c.h"
#include "check_main.h"
#include "cleanup.h"
#include "containerd/events/task.pb-c.h"
#include "containerd/services/events/ttrpc/v1/events.pb-c.h"
#include "containerd/task/v2/shim.pb-c.h"
#include "fd.h"
#include "hv.h"
#include "loop.h"
#include "runtimeoptions/v1/api.pb-c.h"
#include "ttrpc.h"

static struct loop *L;
static int never_ready;
static int silent_console; /* the fake guest prints nothing and its agent never answers */
static int agent_hung;     /* the fake agent stops answering Health and SignalProcess */

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
    char want[128];
    snprintf(want, sizeof(want), "%s/rootfs", q->container_id);
    ck_assert_str_eq(q->rootfs, want);
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
static void agent_exit(const char *cid, const char *exec, uint32_t status, const char *out)
{
    for (int i = 0; i < n_streams; i++) {
        struct fstream *s = &streams[i];
        if (s->fd < 0 || strcmp(s->cid, cid) || strcmp(s->exec, exec[0] ? exec : "-"))
            continue;
        if (strcmp(s->kind, "stdout") == 0 && out)
            ck_assert_int_eq(write(s->fd, out, strlen(out)), (int)strlen(out));
        if (strcmp(s->kind, "stdin") != 0) {
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

static char last_signal[96]; /* the last SignalProcess: "<cid>/<exec>:<sig>" */
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

static char deleted_exec[80]; /* the last DeleteProcess: "<cid>/<exec>" */
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

/* The guest's view of a container: its init (guest pid 100) and exec e1 (101). */
static void a_list(struct ttrpc_call *call, const uint8_t *p, size_t n, void *ud)
{
    Cvm__Agent__V1__ProcessInfo a = CVM__AGENT__V1__PROCESS_INFO__INIT, b = CVM__AGENT__V1__PROCESS_INFO__INIT;
    Cvm__Agent__V1__ProcessInfo *v[2] = {&a, &b};
    Cvm__Agent__V1__ListProcessesResponse r = CVM__AGENT__V1__LIST_PROCESSES_RESPONSE__INIT;
    (void)p, (void)n, (void)ud;
    a.pid = 100, a.exec_id = "";
    b.pid = 101, b.exec_id = "e1";
    r.n_processes = 2, r.processes = v;
    ttrpc_call_reply(call, &r.base);
}

static const struct ttrpc_method agent_methods[] = {
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
struct hv_vm {
    struct hv_callbacks cb;
    struct loop_source *t;
    int stopped;
    unsigned long long spawn_ns;
};
struct hv_vsock_req {
    hv_vsock_cb cb;
    void *data;
    int fd;
    int cancelled;
    struct hv_vm *vm;
};
static struct hv_vm *the_vm;

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

const char *hv_vsock_mode_name(enum hv_vsock_mode m)
{
    (void)m;
    return "fake";
}

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

/* ------------------------------------------------------------------ containerd side */
static struct shim S;
static struct ttrpc_client *cli;
static struct ttrpc_server *task_srv, *ev_srv;
static char topics[64][80];
static int n_topics;
static char dir[64], bundle[128], outfile[160], cfgfile[160];

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

struct res {
    int done, code;
    char msg[256];
    uint8_t buf[4096];
    size_t len;
};

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

static void run_until(const int *flag)
{
    for (int i = 0; i < 3000 && !*flag; i++)
        loop_run_once(L, 5);
    ck_assert_msg(*flag, "timed out waiting");
}

static void call_async(const char *method, const ProtobufCMessage *m, struct res *r)
{
    memset(r, 0, sizeof(*r));
    ck_assert_int_eq(ttrpc_client_call(cli, "containerd.task.v2.Task", method, m, NULL, 0,
                                       20ull * 1000000000ull, res_cb, r), 0);
}

static void call(const char *method, const ProtobufCMessage *m, struct res *r)
{
    call_async(method, m, r);
    run_until(&r->done);
}

static void settle(void)
{
    for (int i = 0; i < 20; i++)
        loop_run_once(L, 2);
}

static void setup(void)
{
    int sp[2];
    ck_assert_int_eq(geteuid(), 0);
    signal(SIGPIPE, SIG_IGN);
    memset(&S, 0, sizeof(S));
    memset(waits, 0, sizeof(waits));
    n_streams = n_topics = 0;
    never_ready = 0;
    silent_console = 0;
    agent_hung = 0;
    ck_assert_int_eq(loop_new(&L), 0);
    S.loop = L;
    TAILQ_INIT(&S.ops);
    snprintf(S.ns, sizeof(S.ns), "testns");
    snprintf(dir, sizeof(dir), "/tmp/cvm-task-XXXXXX");
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
    ck_assert_int_eq(ttrpc_server_register(task_srv, "containerd.task.v2.Task", task_methods, task_n_methods, &S), 0);
    S.server = task_srv;
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sp), 0);
    ck_assert_int_eq(ttrpc_server_add_conn(task_srv, sp[1]), 0);
    ck_assert_int_eq(ttrpc_client_new(L, sp[0], &cli), 0);
    /* a bundle with a rootfs dir, a stdout file and a runtime config */
    snprintf(bundle, sizeof(bundle), "%s/bundle", dir);
    char p[256];
    snprintf(p, sizeof(p), "%s/rootfs", bundle);
    ck_assert_int_eq(mnt_mkdir_p(p, 0755), 0);
    snprintf(p, sizeof(p), "%s/config.json", bundle);
    FILE *f = fopen(p, "w");
    fputs("{\"annotations\":{\"io.containerd.cvm.v1.group\":\"grp\"},\"root\":{\"path\":\"rootfs\"},"
          "\"process\":{\"args\":[\"true\"]}}", f);
    fclose(f);
    snprintf(outfile, sizeof(outfile), "%s/stdout", dir);
    close(open(outfile, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
    snprintf(cfgfile, sizeof(cfgfile), "%s/cvm.json", dir);
    f = fopen(cfgfile, "w");
    fputs("{\"kernel\":\"/etc/hostname\",\"initrd\":\"/etc/hostname\",\"qemu\":\"/bin/true\",\"boot_deadline_ms\":1000}", f);
    fclose(f);
}

static void teardown(void)
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
    mnt_rm_tree(run);
    mnt_rm_tree(dir);
}

static void create(const char *id, const char *stdout_path, struct res *r)
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

static void simple(const char *method, const char *id, const char *exec, struct res *r)
{
    /* StartRequest, DeleteRequest, StateRequest, WaitRequest share {id=1, exec_id=2} */
    Containerd__Task__V2__StartRequest q = CONTAINERD__TASK__V2__START_REQUEST__INIT;
    q.id = (char *)id;
    q.exec_id = (char *)exec;
    call(method, &q.base, r);
}

static void wait_async(const char *id, const char *exec, struct res *r)
{
    Containerd__Task__V2__WaitRequest q = CONTAINERD__TASK__V2__WAIT_REQUEST__INIT;
    q.id = (char *)id;
    q.exec_id = (char *)exec;
    call_async("Wait", &q.base, r);
}

static uint32_t wait_status(const struct res *r)
{
    Containerd__Task__V2__WaitResponse *w = containerd__task__v2__wait_response__unpack(NULL, r->len, r->buf);
    ck_assert_ptr_nonnull(w);
    uint32_t s = w->exit_status;
    ck_assert_int_ne(w->exited_at ? w->exited_at->seconds : 0, 0);
    containerd__task__v2__wait_response__free_unpacked(w, NULL);
    return s;
}

static int state_of(const char *id, const char *exec, uint32_t *exit_status)
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

static void events_flush(void)
{
    ck_assert_int_eq(evt_flush(S.events, 3000), 0);
    settle();
}

START_TEST(test_lifecycle)
{
    struct res r, w, w2;
    uint32_t es;
    create("c1", outfile, &r);
    ck_assert_msg(r.code == 0, "create: %s", r.msg);
    ck_assert_int_eq(state_of("c1", "", NULL), PROC_CREATED);
    wait_async("c1", "", &w);
    wait_async("c1", "", &w2); /* two concurrent waiters */
    simple("Start", "c1", "", &r);
    ck_assert_int_eq(r.code, 0);
    ck_assert_int_eq(state_of("c1", "", NULL), PROC_RUNNING); /* State answers while Wait is pending */
    ck_assert(!w.done && !w2.done);
    agent_exit("c1", "", 3, "hello\n");
    run_until(&w.done);
    run_until(&w2.done);
    ck_assert_uint_eq(wait_status(&w), 3);
    ck_assert_uint_eq(wait_status(&w2), 3);
    ck_assert_int_eq(state_of("c1", "", &es), PROC_STOPPED);
    ck_assert_uint_eq(es, 3);
    char buf[64] = "";
    int fd = open(outfile, O_RDONLY | O_CLOEXEC);
    ck_assert_int_eq(read(fd, buf, sizeof(buf)), 6);
    close(fd);
    ck_assert_str_eq(buf, "hello\n");
    simple("Kill", "c1", "", &r); /* signal 0 → invalid, but it's stopped first: NOT_FOUND */
    ck_assert_int_eq(r.code, RPC_NOT_FOUND);
    simple("Delete", "c1", "", &r);
    ck_assert_int_eq(r.code, 0);
    ck_assert_int_eq(state_of("c1", "", NULL), -RPC_NOT_FOUND);
    events_flush();
    ck_assert_int_eq(n_topics, 4);
    ck_assert_str_eq(topics[0], "/tasks/create");
    ck_assert_str_eq(topics[1], "/tasks/start");
    ck_assert_str_eq(topics[2], "/tasks/exit:c1=3");
    ck_assert_str_eq(topics[3], "/tasks/delete");
    /* Shutdown with nothing left: the VM stops, the run dir goes, the loop quits */
    Containerd__Task__V2__ShutdownRequest sq = CONTAINERD__TASK__V2__SHUTDOWN_REQUEST__INIT;
    sq.id = "c1";
    call("Shutdown", &sq.base, &r);
    ck_assert_int_eq(r.code, 0);
    for (int i = 0; i < 200 && !loop_is_quitting(L); i++)
        loop_run_once(L, 5);
    ck_assert(loop_is_quitting(L));
    char run[128];
    shim_run_dir(S.hash, run, sizeof(run));
    ck_assert_int_eq(access(run, F_OK), -1);
}
END_TEST

START_TEST(test_kill_never_started_and_errors)
{
    struct res r, w;
    create("c1", NULL, &r);
    ck_assert_msg(r.code == 0, "create: %s", r.msg);
    create("c1", NULL, &r);
    ck_assert_int_eq(r.code, RPC_ALREADY_EXISTS);
    wait_async("c1", "", &w);
    Containerd__Task__V2__KillRequest k = CONTAINERD__TASK__V2__KILL_REQUEST__INIT;
    k.id = "c1";
    k.signal = 9;
    call("Kill", &k.base, &r);
    ck_assert_int_eq(r.code, 0);
    run_until(&w.done);
    ck_assert_uint_eq(wait_status(&w), 137);
    simple("Start", "c1", "", &r);
    ck_assert_int_eq(r.code, RPC_FAILED_PRECONDITION);
    simple("State", "nope", "", &r);
    ck_assert_int_eq(r.code, RPC_NOT_FOUND);
    simple("Checkpoint", "c1", "", &r);
    ck_assert_int_eq(r.code, RPC_UNIMPLEMENTED);
    /* Shutdown is a no-op while a container is tracked */
    Containerd__Task__V2__ShutdownRequest sq = CONTAINERD__TASK__V2__SHUTDOWN_REQUEST__INIT;
    call("Shutdown", &sq.base, &r);
    settle();
    ck_assert_int_eq(r.code, 0);
    ck_assert(!loop_is_quitting(L));
    simple("Delete", "c1", "", &r);
    ck_assert_int_eq(r.code, 0);
    events_flush();
    ck_assert_str_eq(topics[0], "/tasks/create");
    ck_assert_str_eq(topics[1], "/tasks/exit:c1=137");
    ck_assert_str_eq(topics[2], "/tasks/delete");
}
END_TEST

START_TEST(test_exec_and_running_delete)
{
    struct res r, w;
    create("c1", NULL, &r);
    ck_assert_int_eq(r.code, 0);
    simple("Start", "c1", "", &r);
    ck_assert_int_eq(r.code, 0);
    Containerd__Task__V2__ExecProcessRequest e = CONTAINERD__TASK__V2__EXEC_PROCESS_REQUEST__INIT;
    Google__Protobuf__Any spec = GOOGLE__PROTOBUF__ANY__INIT;
    static char json[] = "{\"args\":[\"sh\"],\"cwd\":\"/\"}";
    spec.type_url = "types.containerd.io/opencontainers/runtime-spec/1/Process";
    spec.value.data = (uint8_t *)json;
    spec.value.len = strlen(json);
    e.id = "c1";
    e.exec_id = "e1";
    e.stdout = outfile;
    e.spec = &spec;
    call("Exec", &e.base, &r);
    ck_assert_msg(r.code == 0, "exec: %s", r.msg);
    call("Exec", &e.base, &r);
    ck_assert_int_eq(r.code, RPC_ALREADY_EXISTS);
    ck_assert_int_eq(state_of("c1", "e1", NULL), PROC_CREATED);
    wait_async("c1", "e1", &w);
    simple("Start", "c1", "e1", &r);
    ck_assert_int_eq(r.code, 0);
    agent_exit("c1", "e1", 7, "x");
    run_until(&w.done);
    ck_assert_uint_eq(wait_status(&w), 7);
    deleted_exec[0] = 0;
    simple("Delete", "c1", "e1", &r);
    ck_assert_int_eq(r.code, 0);
    ck_assert_str_eq(deleted_exec, "c1/e1"); /* freed in the agent too */
    ck_assert_int_eq(state_of("c1", "e1", NULL), -RPC_NOT_FOUND);
    call("Exec", &e.base, &r); /* the exec ID is free again */
    ck_assert_msg(r.code == 0, "exec again: %s", r.msg);
    /* killed before Start: exits 128+sig here, and the waiting guest process gets SIGKILL */
    wait_async("c1", "e1", &w);
    Containerd__Task__V2__KillRequest k = CONTAINERD__TASK__V2__KILL_REQUEST__INIT;
    k.id = "c1";
    k.exec_id = "e1";
    k.signal = 15;
    last_signal[0] = 0;
    call("Kill", &k.base, &r);
    ck_assert_int_eq(r.code, 0);
    run_until(&w.done);
    ck_assert_uint_eq(wait_status(&w), 143);
    for (int i = 0; i < 100 && !last_signal[0]; i++)
        loop_run_once(L, 10);
    ck_assert_str_eq(last_signal, "c1/e1:9");
    simple("Delete", "c1", "e1", &r);
    ck_assert_int_eq(r.code, 0);
    simple("Delete", "c1", "", &r);
    ck_assert_int_eq(r.code, RPC_FAILED_PRECONDITION); /* init still running */
    events_flush();
    ck_assert_str_eq(topics[2], "/tasks/exec-added");
    ck_assert_str_eq(topics[3], "/tasks/exec-started");
    ck_assert_str_eq(topics[4], "/tasks/exit:e1=7");
}
END_TEST

START_TEST(test_vm_death_exits_255)
{
    struct res r, w1, w2;
    create("c1", NULL, &r);
    ck_assert_int_eq(r.code, 0);
    create("c2", NULL, &r);
    ck_assert_int_eq(r.code, 0);
    simple("Start", "c1", "", &r);
    simple("Start", "c2", "", &r);
    wait_async("c1", "", &w1);
    wait_async("c2", "", &w2);
    settle();
    ck_assert_ptr_nonnull(the_vm);
    the_vm->cb.died(the_vm, "killed by signal 9", the_vm->cb.data);
    run_until(&w1.done);
    run_until(&w2.done);
    ck_assert_uint_eq(wait_status(&w1), 255);
    ck_assert_uint_eq(wait_status(&w2), 255);
    ck_assert_int_eq(state_of("c1", "", NULL), PROC_STOPPED);
    create("c3", NULL, &r); /* a dead sandbox takes no new containers */
    ck_assert_int_eq(r.code, RPC_FAILED_PRECONDITION);
    events_flush();
    int exits = 0;
    for (int i = 0; i < n_topics; i++)
        exits += !strcmp(topics[i], "/tasks/exit:c1=255") || !strcmp(topics[i], "/tasks/exit:c2=255");
    ck_assert_int_eq(exits, 2);
}
END_TEST

START_TEST(test_boot_failure)
{
    struct res r;
    never_ready = 1;
    create("c1", NULL, &r);
    ck_assert_int_eq(r.code, RPC_UNAVAILABLE);
    ck_assert_msg(strstr(r.msg, "did not boot") && strstr(r.msg, "fake console line"), "msg: %s", r.msg);
    ck_assert_int_eq(state_of("c1", "", NULL), -RPC_NOT_FOUND);
    char p[256];
    snprintf(p, sizeof(p), "%s/shared/c1", S.sb->shared_dir);
    ck_assert_int_eq(access(p, F_OK), -1); /* its mounts and dir are gone */
}
END_TEST

/* A guest whose console stays silent fails Create at the console deadline, not the boot
 * deadline, and the error names the phase, the accelerator and what to try. */
START_TEST(test_boot_silent_console)
{
    struct res r;
    FILE *f = fopen(cfgfile, "w");
    fputs("{\"kernel\":\"/etc/hostname\",\"initrd\":\"/etc/hostname\",\"qemu\":\"/bin/true\","
          "\"boot_deadline_ms\":20000,\"console_deadline_ms\":300}", f);
    fclose(f);
    silent_console = 1;
    unsigned long long t0 = now_ns();
    create("c1", NULL, &r);
    unsigned long long ms = (now_ns() - t0) / 1000000ull;
    ck_assert_int_eq(r.code, RPC_UNAVAILABLE);
    ck_assert_msg(strstr(r.msg, "did not boot") && strstr(r.msg, "console stayed silent for 300 ms") &&
                      strstr(r.msg, "accel tcg: fake host without KVM"),
                  "msg: %s", r.msg);
    ck_assert_msg(ms >= 300 && ms < 5000, "failed after %llu ms", ms);
    ck_assert_int_eq(state_of("c1", "", NULL), -RPC_NOT_FOUND);
}
END_TEST

/* Pids: the guest's processes, exec ids in info as runc's shim gives them. */
START_TEST(test_pids_from_guest)
{
    struct res r;
    create("c1", NULL, &r);
    ck_assert_msg(r.code == 0, "create: %s", r.msg);
    Containerd__Task__V2__PidsRequest q = CONTAINERD__TASK__V2__PIDS_REQUEST__INIT;
    q.id = "c1";
    call("Pids", &q.base, &r);
    ck_assert_int_eq(r.code, 0);
    Containerd__Task__V2__PidsResponse *pr = containerd__task__v2__pids_response__unpack(NULL, r.len, r.buf);
    ck_assert_ptr_nonnull(pr);
    ck_assert_uint_eq(pr->n_processes, 2);
    ck_assert_uint_eq(pr->processes[0]->pid, 100);
    ck_assert_ptr_null(pr->processes[0]->info);
    ck_assert_uint_eq(pr->processes[1]->pid, 101);
    ck_assert_ptr_nonnull(pr->processes[1]->info);
    ck_assert_str_eq(pr->processes[1]->info->type_url, "containerd.runc.v1.ProcessDetails");
    Containerd__Runc__V1__ProcessDetails *d = containerd__runc__v1__process_details__unpack(
        NULL, pr->processes[1]->info->value.len, pr->processes[1]->info->value.data);
    ck_assert_ptr_nonnull(d);
    ck_assert_str_eq(d->exec_id, "e1");
    containerd__runc__v1__process_details__free_unpacked(d, NULL);
    containerd__task__v2__pids_response__free_unpacked(pr, NULL);
}
END_TEST

static void write_cfg(const char *extra)
{
    FILE *f = fopen(cfgfile, "w");
    fprintf(f, "{\"kernel\":\"/etc/hostname\",\"initrd\":\"/etc/hostname\",\"qemu\":\"/bin/true\","
               "\"boot_deadline_ms\":1000,%s}", extra);
    fclose(f);
}

/* A guest that stops answering is declared dead by the heartbeat within guest_timeout_ms:
 * its tasks exit 255 and the VM is stopped. */
START_TEST(test_hung_guest_heartbeat)
{
    struct res r, w;
    write_cfg("\"guest_timeout_ms\":1000");
    create("c1", NULL, &r);
    ck_assert_msg(r.code == 0, "create: %s", r.msg);
    simple("Start", "c1", "", &r);
    ck_assert_int_eq(r.code, 0);
    wait_async("c1", "", &w);
    agent_hung = 1;
    unsigned long long t0 = now_ns();
    run_until(&w.done);
    unsigned long long ms = (now_ns() - t0) / 1000000ull;
    ck_assert_uint_eq(wait_status(&w), 255);
    ck_assert_msg(ms >= 600 && ms < 4000, "declared dead after %llu ms", ms);
    ck_assert_msg(strstr(S.sb->dead_reason, "guest not responding for 1 s"), "%s", S.sb->dead_reason);
    ck_assert_int_eq(the_vm ? the_vm->stopped : 1, 1);
}
END_TEST

/* SIGKILL of the sandbox's init on a guest that does not act: Kill answers within the grace,
 * the process exits 137 (as runc's would), QEMU is killed from the host. */
START_TEST(test_hung_guest_sigkill)
{
    struct res r, w;
    write_cfg("\"guest_timeout_ms\":60000,\"kill_grace_ms\":300");
    create("c1", NULL, &r);
    ck_assert_msg(r.code == 0, "create: %s", r.msg);
    simple("Start", "c1", "", &r);
    wait_async("c1", "", &w);
    agent_hung = 1;
    Containerd__Task__V2__KillRequest k = CONTAINERD__TASK__V2__KILL_REQUEST__INIT;
    k.id = "c1";
    k.signal = 9;
    unsigned long long t0 = now_ns();
    call("Kill", &k.base, &r);
    unsigned long long ms = (now_ns() - t0) / 1000000ull;
    ck_assert_msg(r.code == 0, "kill: %d %s", r.code, r.msg);
    ck_assert_msg(ms >= 250 && ms < 3000, "Kill answered after %llu ms", ms);
    run_until(&w.done);
    ck_assert_uint_eq(wait_status(&w), 137);
    ck_assert_msg(strstr(S.sb->dead_reason, "did not act on SIGKILL of c1 within 300 ms"), "%s",
                  S.sb->dead_reason);
}
END_TEST

static Suite *task_suite(void)
{
    Suite *s = suite_create("shim_task");
    TCase *tc = tcase_create("fake-vm");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_lifecycle);
    tcase_add_test(tc, test_kill_never_started_and_errors);
    tcase_add_test(tc, test_exec_and_running_delete);
    tcase_add_test(tc, test_vm_death_exits_255);
    tcase_add_test(tc, test_boot_failure);
    tcase_add_test(tc, test_boot_silent_console);
    tcase_add_test(tc, test_pids_from_guest);
    tcase_add_test(tc, test_hung_guest_heartbeat);
    tcase_add_test(tc, test_hung_guest_sigkill);
    suite_add_tcase(s, tc);
    return s;
}

CVM_CHECK_MAIN(task_suite)
