#!/usr/bin/env python3
"""A stand-in for cvm-vsockd in hypervisor unit tests, with its fixed CLI:
  fake_vsockd.py --vhost-user-socket PATH --uds-path PATH --guest-cid CID
                 [--root DIR --uid N --gid N] [--debug]
(--root: the paths are seen from DIR, as cvm-vsockd does after its pivot; the ids are kept.)
Listens on both sockets, prints READY and closes stdout. On the uds: "CONNECT <port>\\n" ->
"OK <port+10000>\\n" then echo; port 9 -> close at once (nobody listening in the guest);
port 8 -> "NOPE\\n"; port 7 -> no answer; port 6 -> the OK line byte by byte, then "greeting".
Exits 0 when QEMU's vhost-user connection closes, as cvm-vsockd does.
FAKE_VSOCKD_MODE: noready (exit 2 without READY), garbage (print HELLO instead)."""
import argparse
import os
import select
import socket
import sys
import time

ap = argparse.ArgumentParser()
ap.add_argument("--vhost-user-socket", required=True)
ap.add_argument("--uds-path", required=True)
ap.add_argument("--guest-cid", type=int, required=True)
ap.add_argument("--root")
ap.add_argument("--uid", type=int)
ap.add_argument("--gid", type=int)
ap.add_argument("--debug", action="store_true")
a = ap.parse_args()
if a.root:
    os.chdir(a.root)
    a.vhost_user_socket = a.vhost_user_socket.lstrip("/")
    a.uds_path = a.uds_path.lstrip("/")
mode = os.environ.get("FAKE_VSOCKD_MODE", "")
if mode == "noready":
    sys.stderr.write("fake vsockd: refusing\n")
    sys.exit(2)


def listen(path):
    s = socket.socket(socket.AF_UNIX)
    s.bind(path)
    s.listen(8)
    return s


vu, uds = listen(a.vhost_user_socket), listen(a.uds_path)
sys.stdout.write("HELLO\n" if mode == "garbage" else "READY\n")
sys.stdout.flush()
os.close(1)
socks = [vu, uds]
conns = {}
while True:
    r, _, _ = select.select(socks + list(conns), [], [])
    for s in r:
        if s is vu:
            socks.append(vu.accept()[0])  # QEMU's vhost-user connection: just hold it
        elif s is uds:
            c = uds.accept()[0]
            conns[c] = b""
        elif s in conns:
            d = s.recv(4096)
            if not d:
                del conns[s]
                s.close()
                continue
            if conns[s] is not None:
                conns[s] += d
                if b"\n" in conns[s]:
                    line, rest = conns[s].split(b"\n", 1)
                    port = int(line.split()[1])
                    if port == 9:
                        del conns[s]
                        s.close()
                        continue
                    if port == 8:
                        s.sendall(b"NOPE\n")
                        continue
                    if port == 7:
                        continue  # never answer
                    if port == 6:  # the reply dribbles in, stream data right behind it
                        for b in b"OK 10006\ngreeting":
                            s.sendall(bytes([b]))
                            time.sleep(0.002)
                    else:
                        s.sendall(b"OK %d\n" % (port + 10000) + rest)
                    conns[s] = None
            else:
                s.sendall(d)
        else:
            if not s.recv(4096):
                sys.exit(0)  # QEMU hung up: the real cvm-vsockd exits too
