#!/usr/bin/env python3
"""Drive a command on a pseudo-terminal like a person at a keyboard (e2e: `docker run -it`).

usage: pty_session.py TIMEOUT_S EXPECT SEND [EXPECT SEND ...] -- CMD...
Waits for each EXPECT in the output (a substring), then types SEND (\\n → Enter); after the
last pair reads until the command exits. Prints the whole session output, then a last line
"EXIT <status>"; exits 0, or 2 when an EXPECT did not come within TIMEOUT_S (the output so far
is printed)."""
import os, pty, select, sys, time

def main():
    argv = sys.argv[1:]
    sep = argv.index("--")
    timeout = float(argv[0])
    pairs = argv[1:sep]
    cmd = argv[sep + 1:]
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(cmd[0], cmd)
    out = b""
    deadline = time.time() + timeout

    def read_some(t):
        nonlocal out
        r, _, _ = select.select([fd], [], [], t)
        if not r:
            return True
        try:
            data = os.read(fd, 4096)
        except OSError:
            return False
        if not data:
            return False
        out += data
        return True

    for i in range(0, len(pairs), 2):
        want = pairs[i].encode()
        while want not in out:
            if time.time() > deadline or not read_some(0.2) and want not in out:
                sys.stdout.write(out.decode(errors="replace") + "\nTIMEOUT waiting for %r\n" % pairs[i])
                os.kill(pid, 9)
                os.waitpid(pid, 0)
                return 2
        os.write(fd, pairs[i + 1].encode().decode("unicode_escape").encode())
    while time.time() < deadline and read_some(0.5):
        pass
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    sys.stdout.write(out.decode(errors="replace") + "\nEXIT %d\n" % code)
    return 0

sys.exit(main())
