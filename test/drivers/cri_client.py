#!/usr/bin/python3
"""A small CRI v1 client (what kubelet speaks to containerd's CRI plugin), for the e2e tests.

Stubs are generated from test/drivers/cri/api.proto (a wire-compatible subset of
k8s.io/cri-api v1) with `python3 -m grpc_tools.protoc` into $CRI_STUBS (default: a temp dir
removed at exit); pass the same CRI_STUBS to many calls to generate once.

usage: cri_client.py [-a unix:///path/c.sock] [-t TIMEOUT_S] [-T] COMMAND ...
  gen DIR                          generate the stubs into DIR and exit
  rpc METHOD [JSON] [-q FIELD]...  any RuntimeService/ImageService method: JSON request
                                   (proto field names) in, JSON reply out; -q a.b.c prints
                                   that field only (strings raw, one line per -q)
  runp CONFIG.json [HANDLER]       RunPodSandbox (config = PodSandboxConfig JSON), prints the id
  create POD_ID CONTAINER.json POD_CONFIG.json   CreateContainer, prints the id
  exec CONTAINER_ID [--timeout S] -- CMD...      ExecSync: the command's stdout and stderr
                                   verbatim on ours, exit status = its exit code
-T prints "elapsed_ms: N" (the RPC alone, not Python's start-up) on stderr.
Errors: "cri: METHOD: CODE: details" on stderr, exit 100."""
import atexit, importlib, json, os, shutil, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
PROTO_DIR = os.path.join(HERE, "cri")


def gen_stubs(out):
    os.makedirs(out, exist_ok=True)
    if os.path.exists(os.path.join(out, "api_pb2_grpc.py")):
        return
    tmp = tempfile.mkdtemp(dir=out)  # generate then rename: parallel callers never see halves
    subprocess.run([sys.executable, "-m", "grpc_tools.protoc", "-I" + PROTO_DIR, "--python_out=" + tmp,
                    "--grpc_python_out=" + tmp, os.path.join(PROTO_DIR, "api.proto")], check=True)
    for f in ("api_pb2.py", "api_pb2_grpc.py"):
        os.replace(os.path.join(tmp, f), os.path.join(out, f))
    shutil.rmtree(tmp, ignore_errors=True)


def load_stubs():
    d = os.environ.get("CRI_STUBS")
    if not d:
        d = tempfile.mkdtemp(prefix="cri-stubs.")
        atexit.register(shutil.rmtree, d, True)
    gen_stubs(d)
    sys.path.insert(0, d)
    return importlib.import_module("api_pb2"), importlib.import_module("api_pb2_grpc")


class Client:
    """Library use: c = Client("unix:///run/c.sock"); c.call("Version", {"version": "v1"})."""

    def __init__(self, target, timeout=120.0):
        import grpc
        from google.protobuf import json_format
        self.grpc, self.jf = grpc, json_format
        self.pb, pbg = load_stubs()
        self.chan = grpc.insecure_channel(target)
        self.rt = pbg.RuntimeServiceStub(self.chan)
        self.img = pbg.ImageServiceStub(self.chan)
        self.timeout = timeout
        self.elapsed_ms = 0.0

    def call(self, method, req=None):
        """method: a RuntimeService or ImageService RPC name; req: dict or JSON text."""
        stub = self.rt if hasattr(self.rt, method) else self.img
        if not hasattr(stub, method):
            raise SystemExit("cri: unknown method %s" % method)
        req_type = self.pb.DESCRIPTOR.services_by_name[
            "RuntimeService" if stub is self.rt else "ImageService"].methods_by_name[method].input_type
        msg = getattr(self.pb, req_type.name)()
        if req:
            self.jf.Parse(req if isinstance(req, str) else json.dumps(req), msg)
        t0 = time.monotonic()
        try:
            reply = getattr(stub, method)(msg, timeout=self.timeout)
        finally:
            self.elapsed_ms = (time.monotonic() - t0) * 1000
        return reply

    def to_dict(self, reply):
        return self.jf.MessageToDict(reply, preserving_proto_field_name=True,
                                    including_default_value_fields=True)


def field(d, path):
    for k in path.split("."):
        if isinstance(d, list):
            d = d[int(k)] if k.isdigit() and int(k) < len(d) else None
        elif isinstance(d, dict):
            d = d.get(k)
        else:
            d = None
        if d is None:
            return ""
    return d if isinstance(d, str) else json.dumps(d)


def main(argv):
    target, timeout, show_time = os.environ.get("CRI_ADDRESS", ""), 120.0, False
    while argv and argv[0].startswith("-"):
        o = argv.pop(0)
        if o == "-a":
            target = argv.pop(0)
        elif o == "-t":
            timeout = float(argv.pop(0))
        elif o == "-T":
            show_time = True
        else:
            raise SystemExit(__doc__)
    if not argv:
        raise SystemExit(__doc__)
    cmd = argv.pop(0)
    if cmd == "gen":
        gen_stubs(argv[0])
        return 0
    if not target:
        raise SystemExit("cri: no address (-a unix:///path or CRI_ADDRESS)")
    if not target.startswith("unix:"):
        target = "unix://" + target
    c = Client(target, timeout)
    method = None
    try:
        if cmd == "rpc":
            method = argv.pop(0)
            req = argv.pop(0) if argv and not argv[0].startswith("-q") else None
            queries = [argv[i + 1] for i in range(len(argv) - 1) if argv[i] == "-q"]
            d = c.to_dict(c.call(method, req))
            if queries:
                for q in queries:
                    print(field(d, q))
            else:
                print(json.dumps(d, indent=1, sort_keys=True))
            rc = 0
        elif cmd == "runp":
            method = "RunPodSandbox"
            cfg = json.load(open(argv[0]))
            r = c.call(method, {"config": cfg, "runtime_handler": argv[1] if len(argv) > 1 else ""})
            print(r.pod_sandbox_id)
            rc = 0
        elif cmd == "create":
            method = "CreateContainer"
            r = c.call(method, {"pod_sandbox_id": argv[0], "config": json.load(open(argv[1])),
                                "sandbox_config": json.load(open(argv[2]))})
            print(r.container_id)
            rc = 0
        elif cmd == "exec":
            method = "ExecSync"
            cid, t = argv.pop(0), 0
            if argv and argv[0] == "--timeout":
                argv.pop(0)
                t = int(argv.pop(0))
            if argv and argv[0] == "--":
                argv.pop(0)
            r = c.call(method, {"container_id": cid, "cmd": argv, "timeout": t})
            sys.stdout.buffer.write(r.stdout)
            sys.stdout.flush()
            sys.stderr.buffer.write(r.stderr)
            sys.stderr.flush()
            rc = r.exit_code
        else:
            raise SystemExit(__doc__)
    except c.grpc.RpcError as e:
        sys.stderr.write("cri: %s: %s: %s\n" % (method, e.code().name, e.details()))
        rc = 100
    if show_time:
        sys.stderr.write("elapsed_ms: %.0f\n" % c.elapsed_ms)
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
