/* e2e drivers: a ttrpc client to a running shim, from the bundle's (or state dir's) `address`
 * file as containerd writes it ("unix:///run/containerd/s/<hash>"). */
#ifndef CVM_TEST_SHIM_CONN_H
#define CVM_TEST_SHIM_CONN_H

struct loop;
struct ttrpc_client;

/* 0, or -errno with the reason on stderr. */
int shim_conn_open(const char *address_file, struct loop **ret_loop, struct ttrpc_client **ret_client);
void shim_conn_close(struct loop *l, struct ttrpc_client *c);

/* One containerd.task.v2.Task call (namespace metadata, 30 s) to the shim of address_file;
 * prints "OK" or "STATUS <code> <CODE_NAME> <message>". The driver's exit status: 0 when the
 * call completed (whatever its status), 2 on local errors. */
struct ProtobufCMessage;
int shim_conn_task_call(const char *address_file, const char *ns, const char *method,
                        const struct ProtobufCMessage *req);

#endif
