#!/usr/bin/env python3
"""Drive cvm-vsockd as QEMU and as a hostile guest would, without a VM.

Plays the vhost-user front end (memfd guest memory, eventfds, the message sequence QEMU 7.2
sends) and a virtio-vsock guest driver written against the rings directly, then misbehaves:
bad vhost-user messages, spoofed and malformed packets, ignoring credit, descriptors outside
memory, descriptor loops, an avail index running ahead of the ring. After each case the
backend must still be alive and answering. Prints PASS:/FAIL: lines.

  vsockd_fake_qemu.py VSOCKD_BINARY TMPDIR
"""
import mmap
import os
import select
import socket
import struct
import subprocess
import sys
import time

GUEST_CID = 7
MEM = 1 << 20
UVA = 0x7F0000000000
NUM = 64
RXQ, TXQ = 0, 1
RINGS = {RXQ: (0x0000, 0x1000, 0x2000), TXQ: (0x4000, 0x5000, 0x6000)}
RX_BUF, RX_BUF_LEN = 0x10000, 44 + 4096
TX_BUF = 0x80000
HDR = struct.Struct("<QQIIIHHIII")
OP_REQUEST, OP_RESPONSE, OP_RST, OP_SHUTDOWN, OP_RW, OP_CREDIT_UPDATE = 1, 2, 3, 4, 5, 6
failures = 0
prefix = ""  # "confined_" when cvm-vsockd runs with --root/--uid (argv[3] "confined=UID")


def result(name, ok, why=""):
    global failures
    if not ok:
        failures += 1
    name = prefix + name
    print(("PASS: %s" % name) if ok else ("FAIL: %s: %s" % (name, why)), flush=True)


class FakeQemu:
    def __init__(self, vu_path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(5)
        self.sock.connect(vu_path)
        self.memfd = os.memfd_create("guest", os.MFD_CLOEXEC)
        os.ftruncate(self.memfd, MEM)
        self.mem = mmap.mmap(self.memfd, MEM)
        self.kick = {q: os.eventfd(0, os.EFD_CLOEXEC | os.EFD_NONBLOCK) for q in RINGS}
        self.call = {q: os.eventfd(0, os.EFD_CLOEXEC | os.EFD_NONBLOCK) for q in RINGS}
        self.err = {q: os.eventfd(0, os.EFD_CLOEXEC | os.EFD_NONBLOCK) for q in RINGS}
        self.avail_idx = {RXQ: 0, TXQ: 0}
        self.used_seen = {RXQ: 0, TXQ: 0}

    # vhost-user
    def msg(self, req, payload=b"", fds=(), need_reply=False, reply=False):
        flags = 1 | (8 if need_reply else 0)
        data = struct.pack("<III", req, flags, len(payload)) + payload
        if fds:
            socket.send_fds(self.sock, [data], list(fds))
        else:
            self.sock.sendall(data)
        if reply or need_reply:
            hdr = self._recv(12)
            rreq, rflags, size = struct.unpack("<III", hdr)
            body = self._recv(size)
            if rreq != req or not rflags & 4:
                raise RuntimeError("bad reply header %r" % (hdr,))
            return body
        return None

    def _recv(self, n):
        b = b""
        while len(b) < n:
            c = self.sock.recv(n - len(b))
            if not c:
                raise ConnectionError("backend closed the vhost-user socket")
            b += c
        return b

    def ack(self, req, payload=b"", fds=()):
        return struct.unpack("<Q", self.msg(req, payload, fds, need_reply=True))[0]

    def setup(self):
        feats = struct.unpack("<Q", self.msg(1, reply=True))[0]
        proto = struct.unpack("<Q", self.msg(15, reply=True))[0]
        assert feats & (1 << 32) and feats & (1 << 30), hex(feats)
        assert proto & (1 << 3) and proto & (1 << 9), hex(proto)
        self.msg(16, struct.pack("<Q", (1 << 3) | (1 << 9)))
        self.msg(3)
        cfg = self.msg(24, struct.pack("<III", 0, 8, 0) + bytes(8), reply=True)
        self.cid = struct.unpack_from("<Q", cfg, 12)[0]
        self.msg(2, struct.pack("<Q", (1 << 32) | (1 << 30)))
        region = struct.pack("<QQQQ", 0, MEM, UVA, 0)
        r = self.ack(5, struct.pack("<II", 1, 0) + region, [self.memfd])
        assert r == 0, "SET_MEM_TABLE nacked"
        for q in RINGS:
            self.start_ring(q)
        self.post_rx_buffers()

    def start_ring(self, q, base=0):
        desc, avail, used = RINGS[q]
        self.mem[desc:desc + 0x4000 if q == TXQ else desc + 0x1000 * 3] = bytes(
            0x4000 if q == TXQ else 0x3000)
        self.avail_idx[q] = base
        self.used_seen[q] = base
        struct.pack_into("<HH", self.mem, avail, 0, base)
        struct.pack_into("<HH", self.mem, used, 0, base)
        assert self.ack(8, struct.pack("<II", q, NUM)) == 0
        assert self.ack(10, struct.pack("<II", q, base)) == 0
        assert self.ack(9, struct.pack("<IIQQQQ", q, 0, UVA + desc, UVA + used, UVA + avail, 0)) == 0
        assert self.ack(13, struct.pack("<Q", q), [self.call[q]]) == 0
        assert self.ack(14, struct.pack("<Q", q), [self.err[q]]) == 0
        assert self.ack(12, struct.pack("<Q", q), [self.kick[q]]) == 0

    # guest driver
    def set_desc(self, q, i, addr, length, flags, nxt=0):
        struct.pack_into("<QIHH", self.mem, RINGS[q][0] + 16 * i, addr, length, flags, nxt)

    def make_avail(self, q, head):
        avail = RINGS[q][1]
        struct.pack_into("<H", self.mem, avail + 4 + 2 * (self.avail_idx[q] % NUM), head)
        self.avail_idx[q] = (self.avail_idx[q] + 1) & 0xFFFF
        struct.pack_into("<H", self.mem, avail + 2, self.avail_idx[q])

    def kick_q(self, q):
        os.eventfd_write(self.kick[q], 1)

    def post_rx_buffers(self):
        for i in range(NUM):
            self.set_desc(RXQ, i, RX_BUF + i * 0x2000, RX_BUF_LEN, 2)
            self.make_avail(RXQ, i)
        self.kick_q(RXQ)

    def used(self, q):
        used = RINGS[q][2]
        idx = struct.unpack_from("<H", self.mem, used + 2)[0]
        out = []
        while self.used_seen[q] != idx:
            slot = self.used_seen[q] % NUM
            out.append(struct.unpack_from("<II", self.mem, used + 4 + 8 * slot))
            self.used_seen[q] = (self.used_seen[q] + 1) & 0xFFFF
        return out

    def send(self, src_port, dst_port, op, payload=b"", length=None, flags=0, src_cid=None,
             typ=1, buf_alloc=262144, fwd_cnt=0, buf_len=None):
        hdr = HDR.pack(GUEST_CID if src_cid is None else src_cid, 2, src_port, dst_port,
                       len(payload) if length is None else length, typ, op, flags, buf_alloc, fwd_cnt)
        data = hdr + payload
        self.mem[TX_BUF:TX_BUF + len(data)] = data
        head = self.avail_idx[TXQ] % NUM
        self.set_desc(TXQ, head, TX_BUF, len(data) if buf_len is None else buf_len, 0)
        self.make_avail(TXQ, head)
        self.kick_q(TXQ)
        return self.wait_used(TXQ)

    def wait_used(self, q, timeout=3.0):
        end = time.time() + timeout
        while time.time() < end:
            u = self.used(q)
            if u:
                return u
            select.select([self.call[q]], [], [], 0.05)
            try:
                os.eventfd_read(self.call[q])
            except BlockingIOError:
                pass
        return []

    def recv_packets(self, timeout=1.0, want=1):
        pkts, end = [], time.time() + timeout
        while time.time() < end and len(pkts) < want:
            for head, length in self.wait_used(RXQ, max(0.05, end - time.time())):
                base = RX_BUF + head * 0x2000
                h = HDR.unpack_from(self.mem, base)
                pkts.append((h, bytes(self.mem[base + 44:base + length])))
                self.make_avail(RXQ, head)
            self.kick_q(RXQ)
        return pkts

    def err_signalled(self, q, timeout=2.0):
        r, _, _ = select.select([self.err[q]], [], [], timeout)
        return bool(r)


def main():
    global prefix
    vsockd, tmp = sys.argv[1], sys.argv[2]
    uid = int(sys.argv[3].split("=", 1)[1]) if len(sys.argv) > 3 else 0
    args = [vsockd, "--guest-cid", str(GUEST_CID)]
    if uid:
        # As the shim starts it: "/" is a dir of root's that the sandbox gid may only search,
        # the socket paths are given as seen from there, ids dropped to the sandbox's.
        prefix = "confined_"
        root = os.path.join(tmp, "confined")
        os.mkdir(root, 0o700)
        os.chown(root, 0, uid)
        os.chmod(root, 0o710)
        vu, uds = os.path.join(root, "fq-vu.sock"), os.path.join(root, "fq.sock")
        args += ["--root", root, "--uid", str(uid), "--gid", str(uid),
                 "--vhost-user-socket", "/fq-vu.sock", "--uds-path", "/fq.sock"]
    else:
        vu, uds = os.path.join(tmp, "fq-vu.sock"), os.path.join(tmp, "fq.sock")
        args += ["--vhost-user-socket", vu, "--uds-path", uds]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE,
                            stderr=open(os.path.join(tmp, prefix + "fq-vsockd.log"), "w"))
    try:
        if proc.stdout.readline() != b"READY\n":
            result("fake_frontend_setup", False, "no READY")
            return 1
        host = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        host.bind(uds + "_9000")
        if uid:
            os.chmod(uds + "_9000", 0o666)  # the dir decides who reaches it: root and the sandbox
        host.listen(16)
        host.settimeout(3)
        fq = FakeQemu(vu)
        fq.setup()
        result("fake_frontend_setup", fq.cid == GUEST_CID, "config cid %d" % fq.cid)

        # vhost-user messages that must be refused (REPLY_ACK = 1) without killing the backend
        r1 = fq.ack(8, struct.pack("<I", 0))                     # short payload
        r2 = fq.ack(8, struct.pack("<II", 5, 64))                # queue index out of range
        r3 = fq.ack(25, struct.pack("<III", 0, 8, 0) + bytes(8))  # SET_CONFIG
        r4 = fq.ack(9, struct.pack("<IIQQQQ", RXQ, 0, UVA, UVA + 0x2000, UVA + 0x1000, 0))  # ring running
        result("bad_vhost_user_messages_nacked", (r1, r2, r3, r4) == (1, 1, 1, 1), str((r1, r2, r3, r4)))

        # guest → host connect, data both ways
        fq.send(3000, 9000, OP_REQUEST)
        conn, _ = host.accept()
        conn.settimeout(3)
        p = fq.recv_packets()
        ok = p and p[0][0][6] == OP_RESPONSE and p[0][0][2] == 9000 and p[0][0][3] == 3000
        fq.send(3000, 9000, OP_RW, b"hello")
        got = conn.recv(100)
        conn.sendall(b"world")
        p2 = fq.recv_packets()
        ok = ok and got == b"hello" and p2 and p2[0][0][6] == OP_RW and p2[0][1] == b"world"
        result("fake_guest_to_host_roundtrip", bool(ok), "got %r / %r" % (got, p2))

        # a length field beyond the buffer: RST to the guest, connection closed on the host
        fq.send(3000, 9000, OP_RW, b"0123456789", length=100)
        p = fq.recv_packets()
        closed = conn.recv(100) == b""
        result("oversized_len_resets_connection", bool(p) and p[0][0][6] == OP_RST and closed, str(p))

        # spoofed source CID: dropped without an answer, nothing reaches the host
        fq.send(3001, 9000, OP_REQUEST, src_cid=99)
        p = fq.recv_packets(timeout=0.5)
        host.settimeout(0.3)
        try:
            host.accept()
            reached = True
        except socket.timeout:
            reached = False
        host.settimeout(3)
        result("spoofed_cid_dropped", not p and not reached, str(p))

        # packets for connections that do not exist get RST; RST itself is never answered
        fq.send(4000, 9000, OP_RW, b"x")
        p = fq.recv_packets()
        fq.send(4001, 9000, OP_RST)
        p2 = fq.recv_packets(timeout=0.5)
        result("unknown_connection_gets_rst", bool(p) and p[0][0][6] == OP_RST and not p2, str((p, p2)))

        # a guest ignoring credit while the host does not read: reset, no unbounded buffering
        fq.send(3002, 9000, OP_REQUEST)
        slow, _ = host.accept()
        fq.recv_packets()
        chunk = bytes(65536)
        reset = False
        for _ in range(64):  # 4 MiB against a 256 KiB window
            fq.send(3002, 9000, OP_RW, chunk)
            for h, _ in fq.recv_packets(timeout=0.05, want=8):
                reset = reset or (h[6] == OP_RST and h[3] == 3002)
            if reset:
                break
        result("credit_violation_resets_connection", reset, "no RST after 4 MiB")
        slow.close()

        def alive():
            try:
                return proc.poll() is None and len(fq.msg(1, reply=True)) == 8
            except Exception:  # noqa: BLE001
                return False

        # hostile descriptors: each breaks the tx queue (error eventfd), never the backend
        cases = [
            ("descriptor_outside_memory", lambda: fq.set_desc(TXQ, 0, MEM + 4096, 64, 0)),
            ("descriptor_addr_len_overflow", lambda: fq.set_desc(TXQ, 0, (1 << 64) - 16, 64, 0)),
            ("descriptor_loop", lambda: (fq.set_desc(TXQ, 0, TX_BUF, 44, 1, 1), fq.set_desc(TXQ, 1, TX_BUF, 44, 1, 0))),
            ("descriptor_next_out_of_range", lambda: fq.set_desc(TXQ, 0, TX_BUF, 44, 1, 999)),
            ("descriptor_len_4GiB", lambda: fq.set_desc(TXQ, 0, 0, 0xFFFFFFFF, 0)),
            ("indirect_descriptor", lambda: fq.set_desc(TXQ, 0, TX_BUF, 64, 4)),
        ]
        for name, corrupt in cases:
            fq.msg(11, struct.pack("<II", TXQ, 0), reply=True)  # GET_VRING_BASE stops it
            fq.start_ring(TXQ)
            corrupt()
            fq.make_avail(TXQ, 0)
            fq.kick_q(TXQ)
            broke = fq.err_signalled(TXQ)
            if broke:
                os.eventfd_read(fq.err[TXQ])
            result("hostile_" + name, broke and alive(), "error eventfd %s, alive %s" % (broke, alive()))

        fq.msg(11, struct.pack("<II", TXQ, 0), reply=True)
        fq.start_ring(TXQ)
        struct.pack_into("<H", fq.mem, RINGS[TXQ][1] + 2, 200)  # avail idx 200 in a 64 ring
        fq.kick_q(TXQ)
        broke = fq.err_signalled(TXQ)
        result("hostile_avail_idx_ahead", broke and alive(), "error eventfd %s" % broke)

        fq.msg(11, struct.pack("<II", RXQ, 0), reply=True)
        fq.start_ring(RXQ)
        fq.set_desc(RXQ, 0, RX_BUF, 20, 2)  # smaller than a packet header
        fq.make_avail(RXQ, 0)
        fq.kick_q(RXQ)
        fq.msg(11, struct.pack("<II", TXQ, 0), reply=True)
        fq.start_ring(TXQ)
        fq.send(3004, 9000, OP_REQUEST)  # its RESPONSE needs the tiny rx buffer
        broke = fq.err_signalled(RXQ)
        result("hostile_rx_buffer_too_small", broke and alive(), "error eventfd %s" % broke)

        st = open("/proc/%d/status" % proc.pid).read()
        result("fake_frontend_backend_still_sandboxed", "Seccomp:\t2" in st and "CapEff:\t0000000000000000" in st)
        if uid:
            ids = "\t".join([str(uid)] * 4)
            seen = sorted(os.listdir("/proc/%d/root" % proc.pid))
            result("backend_runs_as_sandbox_uid", ("Uid:\t%s\n" % ids) in st and ("Gid:\t%s\n" % ids) in st,
                   [l for l in st.splitlines() if l.startswith(("Uid", "Gid"))])
            result("backend_sees_only_its_dir", seen == ["fq-vu.sock", "fq.sock", "fq.sock_9000"], str(seen))

        fq.sock.close()
        try:
            rc = proc.wait(5)
        except subprocess.TimeoutExpired:
            rc = None
        result("backend_exits_when_frontend_leaves", rc == 0, "rc=%s" % rc)
        return 0 if failures == 0 else 1
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


if __name__ == "__main__":
    sys.exit(main())
