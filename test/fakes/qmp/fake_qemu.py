#!/usr/bin/env python3
"""A stand-in for qemu-system-x86_64 in hypervisor unit tests (test/unit/test_hv_lifecycle.c).

Takes the argv hv builds, and:
  - serves QMP on the listening socket it was handed (-chardev socket,id=qmp,fd=N,...):
    greeting, qmp_capabilities, query-status, stop/cont (with STOP/RESUME events), quit
    (SHUTDOWN event, reply, exit 0); anything else gets a CommandNotFound error;
  - writes "IDLE-READY fake" on the console (-chardev socket,id=con,fd=N);
  - holds the vhost-user connections (vsock, virtiofs) hv hands over (fd=N), or connects to
    their sockets (path=) like QEMU does.
FAKE_QEMU_MODE changes the behaviour: exit1 (complain on stderr, exit 1), noqmp (never greet),
stubborn (ignore SIGTERM and quit), chatty (print 5000 console lines)."""
import json
import os
import signal
import socket
import sys
import time

mode = os.environ.get("FAKE_QEMU_MODE", "")
opts = {}
args = sys.argv[1:]
for i, a in enumerate(args):
    if a == "-chardev":
        kind, _, rest = args[i + 1].partition(",")
        kv = dict(p.split("=", 1) for p in rest.replace(",,", "\0").split(",") if "=" in p)
        kv = {k: v.replace("\0", ",") for k, v in kv.items()}
        opts[kv.get("id")] = (kind, kv)

if mode == "exit1":
    sys.stderr.write("fake: boom, cannot start\n")
    sys.exit(1)
if mode == "stubborn":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)

kind, con = opts["con"]  # hv hands the console over as a connected socket
os.write(int(con["fd"]), b"fake kernel line\x1b[0m\r\nIDLE-READY fake\n")
if mode == "chatty":  # 5000 lines, ~100 KiB: more than a small console cap
    for i in range(5000):
        os.write(int(con["fd"]), b"chatty guest line %05d .........................\n" % i)

peers = []
for name in ("vsock", "vfs"):
    if name in opts:
        kv = opts[name][1]
        try:
            if "fd" in kv:
                s = socket.socket(fileno=int(kv["fd"]))
            else:
                s = socket.socket(socket.AF_UNIX)
                s.connect(kv["path"])
            peers.append(s)
        except OSError as e:
            sys.stderr.write("fake: %s: %s\n" % (name, e))
            sys.exit(1)

lsock = socket.socket(fileno=int(opts["qmp"][1]["fd"]))
conn, _ = lsock.accept()
if mode == "noqmp":
    time.sleep(600)
    sys.exit(0)
f = conn.makefile("rwb", buffering=0)


def send(obj):
    f.write(json.dumps(obj).encode() + b"\r\n")


def event(name, data=None):
    e = {"timestamp": {"seconds": int(time.time()), "microseconds": 0}, "event": name}
    if data:
        e["data"] = data
    send(e)


send({"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}}, "capabilities": []}})
running = True
for line in f:
    msg = json.loads(line)
    cmd, mid = msg.get("execute"), msg.get("id")
    if cmd == "qmp_capabilities":
        send({"return": {}, "id": mid})
    elif cmd == "query-status":
        send({"return": {"status": "running" if running else "paused", "singlestep": False,
                         "running": running}, "id": mid})
    elif cmd in ("stop", "cont"):
        running = cmd == "cont"
        event("RESUME" if running else "STOP")
        send({"return": {}, "id": mid})
    elif cmd == "quit" and mode != "stubborn":
        event("SHUTDOWN", {"guest": False, "reason": "host-qmp-quit"})
        send({"return": {}, "id": mid})
        sys.exit(0)
    elif cmd == "quit":
        send({"return": {}, "id": mid})
    else:
        send({"error": {"class": "CommandNotFound", "desc": "The command %s has not been found" % cmd},
              "id": mid})
time.sleep(600 if mode == "stubborn" else 0)
