#!/usr/bin/python3
"""CRI streaming client (what kubelet + kubectl do for exec, attach and port-forward): the CRI
call (Exec / Attach / PortForward, test/drivers/cri_client.py) returns a URL of containerd's
stream server; this connects there over WebSocket (Debian's python3-websocket) and speaks the
kubelet streaming protocols (k8s.io/kubelet/pkg/cri/streaming, as vendored by containerd 1.6):

  exec, attach: subprotocol v4.channel.k8s.io; every binary frame starts with its channel
    byte: 0 stdin, 1 stdout, 2 stderr, 3 error (v4: a JSON metav1.Status when the process
    ends, exit code in details.causes[reason=ExitCode]), 4 resize (JSON {"Width","Height"}).
  port-forward: subprotocol v4.channel.k8s.io, two channels per requested port (data 2i,
    error 2i+1); the server's first frame on each carries the port (uint16 little-endian).

usage: cri_stream.py [-a unix:///c.sock] [-t TIMEOUT_S] COMMAND ...   (one JSON object on stdout)
  exec CID [--tty] [--stdin TEXT] [--resize WxH] [--until TEXT] -- CMD...
        --stdin TEXT is sent once on channel 0; with --resize the size is sent first and TEXT
        is re-sent every 0.5 s until stdout holds --until (a tty's size reaches the process
        asynchronously). Reads until the server closes: {"stdout","stderr","status","exit_code"}
  attach CID [--tty] [--stdin TEXT] --until TEXT [--until-err TEXT]
        reads stdout/stderr until TEXT appeared on stdout (and --until-err on stderr), then
        detaches
  portforward POD PORT[,PORT...] [--send TEXT]
        sends TEXT on every port's data channel, reads until the server closes:
        {"ports": {PORT: {"data": str, "data_len", "body_len", "body_sha256", "error",
        "port_frames"}}}   (body: what follows the first blank line, for HTTP replies)
Errors: JSON {"error": "..."} and exit 1.
"""
import hashlib, json, os, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cri_client  # noqa: E402

PROTO = "v4.channel.k8s.io"
STDIN, STDOUT, STDERR, ERROR, RESIZE = 0, 1, 2, 3, 4


def connect(url, timeout):
    import websocket
    ws_url = "ws" + url[len("http"):] if url.startswith("http") else url
    ws = websocket.create_connection(ws_url, subprotocols=[PROTO], timeout=timeout)
    got = ws.getsubprotocol() if hasattr(ws, "getsubprotocol") else ws.subprotocol
    if got != PROTO:
        raise RuntimeError("server chose subprotocol %r, not %s" % (got, PROTO))
    return ws


def frames(ws, deadline):
    """Yield (channel, payload) until the server closes or the deadline passes."""
    import websocket
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("no end of stream before the deadline")
        ws.settimeout(min(left, 0.5))
        try:
            op, data = ws.recv_data(control_frame=False)
        except websocket.WebSocketTimeoutException:
            yield None, b""
            continue
        except (websocket.WebSocketConnectionClosedException, ConnectionError, OSError):
            return
        if op == websocket.ABNF.OPCODE_CLOSE:
            return
        if op in (websocket.ABNF.OPCODE_BINARY, websocket.ABNF.OPCODE_TEXT) and data:
            yield data[0], bytes(data[1:])


def send(ws, ch, payload):
    import websocket
    ws.send(bytes([ch]) + payload, opcode=websocket.ABNF.OPCODE_BINARY)


def exit_code(status):
    if status.get("status") == "Success":
        return 0
    for c in (status.get("details") or {}).get("causes") or []:
        if c.get("reason") == "ExitCode":
            return int(c.get("message"))
    return None


def run_exec(c, args, timeout, attach):
    cid, tty, stdin, resize, until, until_err, cmd = args.pop(0), False, None, None, None, None, []
    while args:
        a = args.pop(0)
        if a == "--tty":
            tty = True
        elif a == "--stdin":
            stdin = args.pop(0).encode()
        elif a == "--resize":
            resize = [int(x) for x in args.pop(0).split("x")]
        elif a == "--until":
            until = args.pop(0).encode()
        elif a == "--until-err":
            until_err = args.pop(0).encode()
        elif a == "--":
            cmd = args
            break
        else:
            raise SystemExit(__doc__)
    req = {"container_id": cid, "tty": tty, "stdin": stdin is not None, "stdout": True, "stderr": not tty}
    if attach:
        url = c.call("Attach", req).url
    else:
        req["cmd"] = cmd
        url = c.call("Exec", req).url
    ws = connect(url, timeout)
    out = {STDOUT: b"", STDERR: b"", ERROR: b""}
    deadline = time.monotonic() + timeout
    if resize:
        send(ws, RESIZE, json.dumps({"Width": resize[0], "Height": resize[1]}).encode())
    if stdin is not None:
        send(ws, STDIN, stdin)
    last_send, detached = time.monotonic(), False
    for ch, data in frames(ws, deadline):
        if ch in out:
            out[ch] += data
        if until and until in out[STDOUT] and (until_err is None or until_err in out[STDERR]):
            if attach:
                detached = True
                break
            until = None
        if until and stdin is not None and resize and time.monotonic() - last_send > 0.5:
            send(ws, STDIN, stdin)  # the size may not have reached the process yet: ask again
            last_send = time.monotonic()
    ws.close()
    res = {"url": url, "stdout": out[STDOUT].decode(errors="replace"),
           "stderr": out[STDERR].decode(errors="replace")}
    if attach:
        res["detached"] = detached
    if out[ERROR]:
        try:
            st = json.loads(out[ERROR])
        except ValueError:
            st = {"raw": out[ERROR].decode(errors="replace")}
        res["status"], res["exit_code"] = st, exit_code(st)
    else:
        res["status"], res["exit_code"] = None, None
    return res


def run_portforward(c, args, timeout):
    pod, ports, send_text = args.pop(0), [int(p) for p in args.pop(0).split(",")], None
    while args:
        a = args.pop(0)
        if a == "--send":
            send_text = args.pop(0).encode()
        else:
            raise SystemExit(__doc__)
    url = c.call("PortForward", {"pod_sandbox_id": pod, "port": ports}).url
    ws = connect(url, timeout)
    data = {i: b"" for i in range(2 * len(ports))}
    first = {i: None for i in range(2 * len(ports))}  # the port frame of each channel
    sent = False
    for ch, payload in frames(ws, time.monotonic() + timeout):
        if ch is not None and ch in data:
            if first[ch] is None and len(payload) >= 2:
                first[ch] = int.from_bytes(payload[:2], "little")
                payload = payload[2:]
            data[ch] += payload
        # send once every data channel announced its port (the server is ready for it)
        if not sent and send_text is not None and all(first[2 * i] is not None for i in range(len(ports))):
            for i in range(len(ports)):
                send(ws, 2 * i, send_text)
            sent = True
    ws.close()
    res = {"url": url, "ports": {}}
    for i, p in enumerate(ports):
        d = data[2 * i]
        body = d.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in d else b""
        res["ports"][str(p)] = {"data": d.decode(errors="replace")[:4096], "data_len": len(d),
                                "body_len": len(body), "body_sha256": hashlib.sha256(body).hexdigest(),
                                "error": data[2 * i + 1].decode(errors="replace"),
                                "port_frames": [first[2 * i], first[2 * i + 1]]}
    return res


def main(argv):
    target, timeout = os.environ.get("CRI_ADDRESS", ""), 30.0
    while argv and argv[0].startswith("-"):
        o = argv.pop(0)
        if o == "-a":
            target = argv.pop(0)
        elif o == "-t":
            timeout = float(argv.pop(0))
        else:
            raise SystemExit(__doc__)
    if not argv or not target:
        raise SystemExit(__doc__)
    if not target.startswith("unix:"):
        target = "unix://" + target
    cmd = argv.pop(0)
    c = cri_client.Client(target, timeout)
    try:
        if cmd in ("exec", "attach"):
            res = run_exec(c, argv, timeout, cmd == "attach")
        elif cmd == "portforward":
            res = run_portforward(c, argv, timeout)
        else:
            raise SystemExit(__doc__)
    except c.grpc.RpcError as e:
        print(json.dumps({"error": "cri: %s: %s" % (e.code().name, e.details())}))
        return 1
    except Exception as e:  # the test prints what went wrong, whatever it was
        print(json.dumps({"error": "%s: %s" % (type(e).__name__, e)}))
        return 1
    print(json.dumps(res, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
