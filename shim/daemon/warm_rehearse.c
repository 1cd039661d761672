/* A warm VM's rehearsal: one throwaway container created and removed. See warm_rehearse.h. */
#define LOG_MODULE "pool"
#include "daemon/warm_rehearse.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.pb-c.h"
#include "agent_wire.h"
#include "cleanup.h"
#include "errmap.h"
#include "fs_beneath.h"
#include "log.h"
#include "sandbox/mounts.h"
#include "sandbox/sandbox.h"
#include "sandbox/share.h"

/* containerd's default spec (`ctr oci spec`) as the shim hands it to the agent, so the
 * rehearsal runs what a first container runs. The process is never started. */
static const char rehearsal_spec[] =
    "{\"ociVersion\":\"1.0.2-dev\","
    "\"process\":{\"user\":{\"uid\":0,\"gid\":0},\"cwd\":\"/\",\"args\":[\"/rehearsal\"],"
    "\"env\":[\"PATH=/usr/sbin:/usr/bin:/sbin:/bin\"],"
    "\"capabilities\":{\"bounding\":[\"CAP_CHOWN\",\"CAP_KILL\"],\"effective\":[\"CAP_CHOWN\","
    "\"CAP_KILL\"],\"permitted\":[\"CAP_CHOWN\",\"CAP_KILL\"]},"
    "\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"hard\":1024,\"soft\":1024}],"
    "\"noNewPrivileges\":true},"
    "\"root\":{\"path\":\"rootfs\"},"
    "\"hostname\":\"rehearsal\","
    "\"mounts\":["
    "{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\",\"options\":[\"nosuid\","
    "\"noexec\",\"nodev\"]},"
    "{\"destination\":\"/dev\",\"type\":\"tmpfs\",\"source\":\"tmpfs\",\"options\":[\"nosuid\","
    "\"strictatime\",\"mode=755\",\"size=65536k\"]},"
    "{\"destination\":\"/dev/pts\",\"type\":\"devpts\",\"source\":\"devpts\",\"options\":["
    "\"nosuid\",\"noexec\",\"newinstance\",\"ptmxmode=0666\",\"mode=0620\",\"gid=5\"]},"
    "{\"destination\":\"/dev/shm\",\"type\":\"tmpfs\",\"source\":\"shm\",\"options\":[\"nosuid\","
    "\"noexec\",\"nodev\",\"mode=1777\",\"size=65536k\"]},"
    "{\"destination\":\"/dev/mqueue\",\"type\":\"mqueue\",\"source\":\"mqueue\",\"options\":["
    "\"nosuid\",\"noexec\",\"nodev\"]},"
    "{\"destination\":\"/sys\",\"type\":\"sysfs\",\"source\":\"sysfs\",\"options\":[\"nosuid\","
    "\"noexec\",\"nodev\",\"ro\"]},"
    "{\"destination\":\"/run\",\"type\":\"tmpfs\",\"source\":\"tmpfs\",\"options\":[\"nosuid\","
    "\"strictatime\",\"mode=755\",\"size=65536k\"]}],"
    "\"linux\":{\"resources\":{\"devices\":[{\"allow\":false,\"access\":\"rwm\"}]},"
    "\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"ipc\"},{\"type\":\"uts\"},{\"type\":\"mount\"},"
    "{\"type\":\"network\"}],"
    "\"maskedPaths\":[\"/proc/acpi\",\"/proc/kcore\",\"/proc/keys\",\"/sys/firmware\"],"
    "\"readonlyPaths\":[\"/proc/bus\",\"/proc/fs\",\"/proc/irq\",\"/proc/sys\","
    "\"/proc/sysrq-trigger\"]}}";

struct rehearsal {
    struct sandbox *sb;
    char name[SHARE_NAME_LEN]; /* its directory in the share */
    warm_rehearsed_fn done;
    void *data;
};

/* The end, whatever it was: the container's directory goes (unless the sandbox itself went:
 * its share goes with it), then the caller hears. */
static void finish(struct rehearsal *rh, int r, const char *msg)
{
    struct rehearsal h = *rh;
    free(rh);
    if (r != -ECANCELED)
        (void)share_remove_container(&h.sb->share, h.name);
    h.done(h.sb, r, msg, h.data);
}

static int result_errno(const struct ttrpc_result *res)
{
    return res->code == RPC_CANCELLED ? -ECANCELED : -EIO;
}

static void removed(const struct ttrpc_result *res, void *data)
{
    char msg[300];
    if (res->code != 0) {
        snprintf(msg, sizeof(msg), "agent RemoveContainer: %s",
                 res->message ? res->message : "failed");
        finish(data, result_errno(res), msg);
        return;
    }
    finish(data, 0, NULL);
}

static void created(const struct ttrpc_result *res, void *data)
{
    struct rehearsal *rh = data;
    Cvm__Agent__V1__RemoveContainerRequest req = CVM__AGENT__V1__REMOVE_CONTAINER_REQUEST__INIT;
    char msg[300];
    int r;
    if (res->code != 0) {
        snprintf(msg, sizeof(msg), "agent CreateContainer: %s",
                 res->message ? res->message : "failed");
        finish(rh, result_errno(res), msg);
        return;
    }
    req.container_id = WARM_REHEARSAL_ID;
    req.force = true; /* its init waits to be started: killed, as a failed Create's is */
    r = sandbox_agent_call(rh->sb, "RemoveContainer", &req, removed, rh, AGENT_CALL_TIMEOUT_NS);
    if (r < 0)
        finish(rh, r, "agent RemoveContainer: the agent is not connected");
}

/* The container's directory in the share: a small tmpfs as its rootfs (the agent makes its
 * mount points there) holding an empty executable file, the process it never starts,
 * published whole (share.h). */
static int make_rootfs(struct sandbox *sb, char name[static SHARE_NAME_LEN], struct cvm_err *err)
{
    static const char *const opts[] = {"size=1m", "mode=755"};
    char staging[SHARE_STAGING_LEN] = "", what[SHARE_NAME_LEN + 40];
    _cleanup_close_ int cfd = -EBADF;
    int r = share_container_dir(&sb->share, WARM_REHEARSAL_ID, staging, name, &cfd, err);
    snprintf(what, sizeof(what), "%s/rootfs (the pool's rehearsal)", name);
    if (r == 0)
        r = mnt_mount_one("tmpfs", "tmpfs", opts, 2, cfd, "rootfs", what, err);
    if (r == 0) { /* the agent checks at create that the process's executable is there */
        _cleanup_close_ int root = fsb_open_dir(cfd, "rootfs", false);
        r = root < 0 ? root : fsb_create_file(root, "rehearsal", 0755, NULL);
        if (r < 0)
            r = cvm_err_set(err, r, "%s/rehearsal: %s", what, strerror(-r));
    }
    if (r == 0)
        r = share_publish_container(&sb->share, staging, name, err);
    if (r < 0 && staging[0])
        (void)share_remove_container(&sb->share, staging);
    return r;
}

int warm_rehearse(struct sandbox *sb, warm_rehearsed_fn done, void *data)
{
    Cvm__Agent__V1__CreateContainerRequest req = CVM__AGENT__V1__CREATE_CONTAINER_REQUEST__INIT;
    Cvm__Agent__V1__StdioFlags fl = CVM__AGENT__V1__STDIO_FLAGS__INIT;
    struct cvm_err err = {0};
    char rootfs[SHARE_NAME_LEN + 8];
    struct rehearsal *rh = calloc(1, sizeof(*rh));
    int r;
    if (!rh)
        return -ENOMEM;
    r = make_rootfs(sb, rh->name, &err);
    if (r < 0) {
        log_error("rehearsal: %s", err.msg);
        free(rh);
        return r;
    }
    rh->sb = sb;
    rh->done = done;
    rh->data = data;
    snprintf(rootfs, sizeof(rootfs), "%s/rootfs", rh->name);
    req.container_id = WARM_REHEARSAL_ID;
    req.config_json.data = (uint8_t *)rehearsal_spec;
    req.config_json.len = sizeof(rehearsal_spec) - 1;
    req.share_tag = AGENT_SHARE_TAG;
    req.rootfs = rootfs;
    req.stdio = &fl;
    r = sandbox_agent_call(sb, "CreateContainer", &req, created, rh, AGENT_CALL_TIMEOUT_NS);
    if (r < 0) {
        (void)share_remove_container(&sb->share, rh->name);
        free(rh);
        return r;
    }
    return 0;
}
