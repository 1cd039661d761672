#!/usr/bin/env python3
"""Reproducible newc cpio writer: reads a manifest on stdin, writes the archive to stdout.

Manifest lines (one entry each, space separated; paths have no spaces):
  dir   <path> <mode-octal>
  file  <path> <mode-octal> <host-source>
  slink <path> <target>
  nod   <path> <mode-octal> c|b <major> <minor>
Entries are written sorted by path (parents before children), owner 0:0, mtime fixed,
inode numbers assigned in order, nlink 1 (2 for dirs): same manifest and files, same bytes.
"""
import os
import stat
import sys

MTIME = int(os.environ.get("SOURCE_DATE_EPOCH", "0"))


def header(ino, mode, nlink, size, rmaj, rmin, name):
    fields = [ino, mode, 0, 0, nlink, MTIME, size, 0, 0, rmaj, rmin, len(name) + 1, 0]
    return b"070701" + b"".join(b"%08X" % f for f in fields)


def pad4(n):
    return b"\0" * ((4 - n % 4) % 4)


def main():
    entries = []
    for lineno, line in enumerate(sys.stdin, 1):
        parts = line.split()
        if not parts:
            continue
        kind, path = parts[0], parts[1].lstrip("/")
        if not path or ".." in path.split("/"):
            sys.exit(f"cpio_newc: line {lineno}: bad path {parts[1]!r}")
        entries.append((path, kind, parts[2:]))
    entries.sort(key=lambda e: e[0].encode())
    seen = set()
    out = sys.stdout.buffer
    for ino, (path, kind, args) in enumerate(entries, 1):
        if path in seen:
            sys.exit(f"cpio_newc: duplicate entry {path}")
        seen.add(path)
        data, rmaj, rmin, nlink = b"", 0, 0, 1
        if kind == "dir":
            mode, nlink = stat.S_IFDIR | int(args[0], 8), 2
        elif kind == "file":
            mode = stat.S_IFREG | int(args[0], 8)
            with open(args[1], "rb") as f:
                data = f.read()
        elif kind == "slink":
            mode, data = stat.S_IFLNK | 0o777, args[0].encode()
        elif kind == "nod":
            mode = (stat.S_IFCHR if args[1] == "c" else stat.S_IFBLK) | int(args[0], 8)
            rmaj, rmin = int(args[2]), int(args[3])
        else:
            sys.exit(f"cpio_newc: unknown entry kind {kind}")
        name = path.encode()
        h = header(ino, mode, nlink, len(data), rmaj, rmin, name)
        out.write(h + name + b"\0" + pad4(len(h) + len(name) + 1))
        out.write(data + pad4(len(data)))
    name = b"TRAILER!!!"
    h = header(0, 0, 1, 0, 0, 0, name)
    out.write(h + name + b"\0" + pad4(len(h) + len(name) + 1))
    out.flush()


if __name__ == "__main__":
    main()
