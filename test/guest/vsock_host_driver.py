#!/usr/bin/env python3
"""Host side of the hybrid-vsock tests and benchmark, against a guest running
vsock_test_init (see its header for the ports). Speaks the backend's unix socket protocol:
CONNECT <port>\\n -> OK <hostport>\\n, and serves <uds>_<port> listeners for guest connects.

  vsock_host_driver.py e2e   UDS VSOCKD_PID   prints PASS:/FAIL: lines
  vsock_host_driver.py bench UDS [MiB]        prints measurements
"""
import hashlib
import os
import socket
import statistics
import sys
import threading
import time

ECHO, BYE, COUNT, FLOOD, SHUTRD, SOURCE, CMD = 1234, 1235, 1236, 1237, 1238, 1239, 1300
failures = 0


def result(name, ok, why=""):
    global failures
    if ok:
        print("PASS: %s%s" % (name, (" (%s)" % why) if why else ""), flush=True)
    else:
        failures += 1
        print("FAIL: %s: %s" % (name, why), flush=True)


def hconnect(uds, port, timeout=20):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(uds)
    s.sendall(b"CONNECT %d\n" % port)
    line = b""
    while not line.endswith(b"\n"):
        c = s.recv(1)
        if not c:
            s.close()
            raise ConnectionRefusedError("closed before OK (guest refused)")
        line += c
    if not line.startswith(b"OK "):
        raise ConnectionError("bad handshake reply %r" % line)
    return s


def recv_line(s):
    line = b""
    while not line.endswith(b"\n"):
        c = s.recv(1)
        if not c:
            break
        line += c
    return line.decode(errors="replace").strip()


def pattern(n, off=0):
    base = bytes((ord("a") + i % 26) for i in range(26))
    start = off % 26
    reps = (start + n) // 26 + 1
    return (base * reps)[start:start + n]


def echo_check(uds, data):
    """Send data through the guest echo port; return (ok, why)."""
    s = hconnect(uds, ECHO)
    err = []

    def sender():
        try:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
        except OSError as e:
            err.append(e)

    t = threading.Thread(target=sender)
    t.start()
    h = hashlib.sha256()
    got = 0
    while True:
        b = s.recv(1 << 20)
        if not b:
            break
        h.update(b)
        got += len(b)
    t.join()
    s.close()
    if err:
        return False, "send failed: %s" % err[0]
    if got != len(data):
        return False, "echoed %d of %d bytes" % (got, len(data))
    if h.digest() != hashlib.sha256(data).digest():
        return False, "sha256 mismatch"
    return True, ""


class HostListener:
    """<uds>_<port> listener; handler(conn) runs per connection in a thread."""

    def __init__(self, uds, port, handler):
        self.path = "%s_%d" % (uds, port)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.path)
        self.sock.listen(1024)
        self.handler = handler
        self.accepted = 0
        threading.Thread(target=self.loop, daemon=True).start()

    def loop(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            threading.Thread(target=self.handler, args=(c,), daemon=True).start()

    def close(self):
        self.sock.close()
        os.unlink(self.path)


def pong_handler(c):
    line = recv_line(c)
    c.sendall(("pong %s\n" % line).encode())
    c.close()


def close_handler(c):
    c.close()


def sink_handler(c):
    h = hashlib.sha256()
    n = 0
    while True:
        b = c.recv(1 << 20)
        if not b:
            break
        h.update(b)
        n += len(b)
    c.sendall(("%d %s\n" % (n, h.hexdigest())).encode())
    c.close()


def command(uds, line, timeout=30):
    s = hconnect(uds, CMD, timeout)
    s.sendall((line + "\n").encode())
    r = recv_line(s)
    s.close()
    return r


def run_e2e(uds, vsockd_pid):
    # (1) 64 MiB of random data through the guest echo server, then 32 connections at once.
    data = os.urandom(64 << 20)
    t0 = time.time()
    ok, why = echo_check(uds, data)
    dt = time.time() - t0
    result("host_to_guest_echo_64MiB", ok, why or "%.1f MiB/s each way" % (64 / dt))

    outcomes = [None] * 32

    def one(i):
        try:
            outcomes[i] = echo_check(uds, os.urandom(256 << 10))
        except Exception as e:  # noqa: BLE001 - report any failure as a test failure
            outcomes[i] = (False, repr(e))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    bad = [(i, o) for i, o in enumerate(outcomes) if not o or not o[0]]
    result("host_to_guest_32_concurrent", not bad, "" if not bad else "%d failed, first: %s" % (len(bad), bad[0]))

    # (2) Guest → host: connect reaches the <uds>_<port> listener, both ways of data.
    pong = HostListener(uds, 5000, pong_handler)
    r = command(uds, "GCONNECT 5000")
    result("guest_to_host_connect", r == "OK pong ping" and pong.accepted == 1, "guest said %r" % r)
    sink = HostListener(uds, 5001, sink_handler)
    n = 8 << 20
    r = command(uds, "GSEND 5001 %d" % n, timeout=120)
    want = "OK %d %s" % (n, hashlib.sha256(pattern(n)).hexdigest())
    result("guest_to_host_8MiB_intact", r.startswith(want + " "), "guest said %r" % r)
    pong.close()
    sink.close()

    # (3) Refusals, closes and resets in both directions.
    r = command(uds, "GCONNECT 5999")
    result("guest_connect_to_absent_host_listener_gets_reset", r == "ERR ECONNRESET", "guest said %r" % r)
    try:
        s = hconnect(uds, 4444, timeout=10)
        s.close()
        result("host_connect_to_absent_guest_port_refused", False, "got OK")
    except ConnectionRefusedError:
        result("host_connect_to_absent_guest_port_refused", True)

    s = hconnect(uds, BYE)
    got = b""
    while True:
        b = s.recv(100)
        if not b:
            break
        got += b
    s.close()
    result("guest_close_seen_as_eof", got == b"bye\n", "read %r then EOF" % got)

    s = hconnect(uds, BYE)
    end = "?"
    try:
        s.sendall(os.urandom(4 << 20))  # far beyond what the guest buffers: it never reads
        got = s.recv(100)
        end = "EOF" if not s.recv(100) else "data"
    except (ConnectionResetError, BrokenPipeError) as e:
        end = type(e).__name__
    except socket.timeout:
        end = "hang"
    s.close()
    result("guest_close_with_unread_host_data_ends_connection", end in ("EOF", "ConnectionResetError", "BrokenPipeError"), end)

    s = hconnect(uds, COUNT)
    s.sendall(b"x" * (1 << 20))
    s.shutdown(socket.SHUT_WR)
    r = recv_line(s)
    s.close()
    result("host_half_close_seen_by_guest_as_eof", r == "EOF %d" % (1 << 20), "guest said %r" % r)

    s = hconnect(uds, FLOOD)
    got = 0
    while got < (1 << 20):
        b = s.recv(65536)
        if not b:
            break
        got += len(b)
    s.close()
    r = command(uds, "FLOODRESULT")
    result("host_close_seen_by_guest_as_write_error", r.startswith("WERR EPIPE") or r.startswith("WERR ECONNRESET"), "guest said %r" % r)

    s = hconnect(uds, SHUTRD)
    got = recv_line(s)
    try:
        s.sendall(b"x" * 4096)
        end = "write accepted"
    except BrokenPipeError:
        end = "EPIPE"
    s.close()
    result("guest_shutdown_read_makes_host_writes_fail", got == "shut" and end == "EPIPE", "%r, %s" % (got, end))

    try:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        s.connect(uds)
        s.sendall(b"HELLO there\n")
        b = s.recv(100)
        result("malformed_handshake_closed", b == b"", "got %r" % b)
    except ConnectionResetError:
        result("malformed_handshake_closed", True)
    s.close()

    # The backend still serves after all of that.
    ok, why = echo_check(uds, b"still alive\n")
    result("backend_serves_after_close_cases", ok, why)

    # (4) Least privilege of the backend process.
    st = {}
    with open("/proc/%d/status" % vsockd_pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            st[k] = v.strip()
    caps = {k: st.get(k) for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")}
    result("backend_has_no_capabilities", all(v == "0000000000000000" for v in caps.values()), str(caps))
    result("backend_seccomp_filter_and_nnp", st.get("Seccomp") == "2" and st.get("NoNewPrivs") == "1",
           "Seccomp=%s NoNewPrivs=%s" % (st.get("Seccomp"), st.get("NoNewPrivs")))
    return failures == 0


def bench_bad(what):
    """A transfer that moved the wrong amount aborts its figure (and the benchmark: exit 1)."""
    print("%s: aborted: %s" % (what.split(":")[0], what), flush=True)
    print("vsock-bench: %s (figure aborted)" % what, file=sys.stderr)
    return 1


def run_bench(uds, mib):
    n = mib << 20
    bad = 0
    # host → guest: the guest counts what arrives.
    s = hconnect(uds, COUNT, timeout=300)
    chunk = os.urandom(1 << 20)
    t0 = time.time()
    for _ in range(mib):
        s.sendall(chunk)
    s.shutdown(socket.SHUT_WR)
    r = recv_line(s)
    dt = time.time() - t0
    s.close()
    if r != "EOF %d" % n:
        bad += bench_bad("host_to_guest_throughput: the guest counted %r, want 'EOF %d'" % (r, n))
    else:
        print("host_to_guest_throughput: %.1f MiB/s (%d MiB in %.2f s, guest: %s)" % (mib / dt, mib, dt, r))

    # guest → host on a host-initiated connection.
    s = hconnect(uds, SOURCE, timeout=300)
    t0 = time.time()
    s.sendall(b"%d\n" % n)
    got = 0
    while True:
        b = s.recv(1 << 20)
        if not b:
            break
        got += len(b)
    dt = time.time() - t0
    s.close()
    if got != n:
        bad += bench_bad("guest_to_host_throughput: %d bytes arrived, want %d" % (got, n))
    else:
        print("guest_to_host_throughput: %.1f MiB/s (%d MiB in %.2f s)" % (got / dt / 1048576, got >> 20, dt))

    # guest → host on a guest-initiated connection (unix listener on the host).
    sink = HostListener(uds, 5001, sink_handler)
    r = command(uds, "GSEND 5001 %d" % n, timeout=300)
    parts = r.split()
    if len(parts) == 4 and parts[0] == "OK":
        us = int(parts[3])
        print("guest_initiated_to_host_throughput: %.1f MiB/s (%d MiB in %.2f s guest time)" % (mib / (us / 1e6), mib, us / 1e6))
    else:
        bad += bench_bad("guest_initiated_to_host_throughput: the guest said %r" % r)

    # Connect latency, host → guest: CONNECT .. OK round trip.
    lat = []
    for _ in range(200):
        t0 = time.perf_counter()
        s = hconnect(uds, ECHO)
        lat.append((time.perf_counter() - t0) * 1e6)
        s.close()
    lat.sort()
    print("host_to_guest_connect_latency_us: p50 %.0f p90 %.0f p99 %.0f (n=%d)" % (
        statistics.median(lat), lat[int(len(lat) * 0.9)], lat[int(len(lat) * 0.99)], len(lat)))
    sink.close()
    closer = HostListener(uds, 5002, close_handler)
    r = command(uds, "GCONNLAT 5002 200", timeout=120)
    print("guest_to_host_connect_latency_us (guest clock, avg of 200 connect+close): %s" % r)
    closer.close()
    return bad


def main():
    if len(sys.argv) >= 4 and sys.argv[1] == "e2e":
        sys.exit(0 if run_e2e(sys.argv[2], int(sys.argv[3])) else 1)
    if len(sys.argv) >= 3 and sys.argv[1] == "bench":
        sys.exit(1 if run_bench(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 64) else 0)
        return
    print(__doc__, file=sys.stderr)
    sys.exit(2)


if __name__ == "__main__":
    main()
