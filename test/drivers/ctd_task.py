#!/usr/bin/python3
"""containerd's Tasks.Create as containerd's Go client sends it for
`container.NewTask(ctx, empty(), WithShimCgroup(path))` (containerd v1.6 integration/client
TestShimInCgroup), for the e2e tests: ctr 1.6 has no flag for task options.

The container must exist (`ctr containers create`, snapshot key = its id). The rootfs mounts
come from the snapshotter, as the client takes them; stdio is empty (the client's empty()).
WithShimCgroup puts containerd.runc.v1.Options{shim_cgroup} in the request for a runtime named
io.containerd.runc.*, and containerd.linux.runc.CreateOptions{shim_cgroup} for any other.

Stubs (messages only) are generated from test/drivers/ctd/api.proto with
`python3 -m grpc_tools.protoc` into a temp dir removed at exit.

usage: ctd_task.py -a unix:///path/c.sock [-n NAMESPACE] [-s SNAPSHOTTER]
                   create ID RUNTIME SHIM_CGROUP
Prints "pid N" (the task's pid from CreateTaskResponse). Errors: "ctd: METHOD: CODE: details"
on stderr, exit 100."""
import argparse, importlib, os, shutil, subprocess, sys, tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def load_pb():
    d = tempfile.mkdtemp(prefix="ctd-stubs.")
    try:
        subprocess.run([sys.executable, "-m", "grpc_tools.protoc", "-I" + os.path.join(HERE, "ctd"),
                        "--python_out=" + d, os.path.join(HERE, "ctd", "api.proto")], check=True)
        sys.path.insert(0, d)
        return importlib.import_module("api_pb2")
    finally:
        import atexit
        atexit.register(shutil.rmtree, d, True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-a", required=True)
    ap.add_argument("-n", default="default")
    ap.add_argument("-s", default="overlayfs")
    ap.add_argument("cmd", choices=["create"])
    ap.add_argument("id")
    ap.add_argument("runtime")
    ap.add_argument("shim_cgroup")
    a = ap.parse_args()
    import grpc
    pb = load_pb()
    chan = grpc.insecure_channel(a.a)
    md = (("containerd-namespace", a.n),)

    def call(method, req, resp_cls):
        f = chan.unary_unary(method, request_serializer=lambda m: m.SerializeToString(),
                             response_deserializer=resp_cls.FromString)
        try:
            return f(req, metadata=md, timeout=300)
        except grpc.RpcError as e:
            print("ctd: %s: %s: %s" % (method, e.code().name, e.details()), file=sys.stderr)
            sys.exit(100)

    mounts = call("/containerd.services.snapshots.v1.Snapshots/Mounts",
                  pb.MountsRequest(snapshotter=a.s, key=a.id), pb.MountsResponse).mounts
    if a.runtime.startswith("io.containerd.runc."):
        opts = pb.Any(type_url="containerd.runc.v1.Options",
                      value=pb.RuncOptions(shim_cgroup=a.shim_cgroup).SerializeToString())
    else:
        opts = pb.Any(type_url="containerd.linux.runc.CreateOptions",
                      value=pb.RuncCreateOptions(shim_cgroup=a.shim_cgroup).SerializeToString())
    r = call("/containerd.services.tasks.v1.Tasks/Create",
             pb.CreateTaskRequest(container_id=a.id, rootfs=mounts, options=opts),
             pb.CreateTaskResponse)
    print("pid %d" % r.pid)


if __name__ == "__main__":
    main()
