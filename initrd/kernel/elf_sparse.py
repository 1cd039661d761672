#!/usr/bin/env python3
"""Split an ELF64 executable's PT_LOAD segments around their runs of padding pages.

Why: QEMU loads the guest kernel (a PVH vmlinux) by copying every PT_LOAD segment into guest
RAM, padding included, and guest RAM is a memfd: every page written is a page of host memory
for the life of the VM. Our kernel's .text carries 2.7 MiB of padding (x86-64 aligns its
entry text to 2 MiB on both sides, arch/x86/kernel/vmlinux.lds.S, and the linker fills text
gaps with int3) that the kernel never frees nor reads. Split around it, the padding is never
loaded: the host allocates a page there only if the guest ever touches it (measured: 3.1 MiB
less guest RAM held per VM, the rest being zeros the kernel frees and reuses anyway).

    elf_sparse.py [--min-run BYTES] IN OUT    write OUT, then verify it against IN
    elf_sparse.py --verify IN OUT             only verify

Only runs of whole pages inside a segment's file bytes are cut, pages of zeros (which fresh
guest RAM reads as anyway) or, in an executable segment, of the text fill (which it then
reads as zeros: no code reaches padding), and only runs of at least --min-run bytes (64 KiB:
a few segments, not one per page). A segment's bss (memsz beyond filesz) stays with its last
piece: QEMU zero-fills it and the kernel clears it anyway. The program headers are rewritten
in place; the space they grow into, up to the first byte any section or segment uses, must
be zeros, or the tool fails. The verification checks that OUT loads exactly IN's bytes
wherever it loads, nothing IN does not, and leaves unloaded only zeros or text fill: a wrong
split fails the build.
"""
import os
import struct
import sys

PAGE = 4096
PT_LOAD = 1
PF_X = 1
# What the kernel's linker script fills the gaps of its text with (int3, arch/x86/kernel/
# vmlinux.lds.S: "=0xcccccccc"): in an executable segment a run of whole pages of it is
# alignment padding no code reaches, and left unloaded it reads as zeros.
TEXT_FILL = b"\xcc"
EHDR = struct.Struct("<16sHHIQQQIHHHHHH")
PHDR = struct.Struct("<IIQQQQQQ")


class ElfError(Exception):
    pass


def parse(data):
    """(ehdr fields, [phdr tuples]) of a little-endian ELF64 image; ElfError if it is not."""
    if len(data) < EHDR.size or data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise ElfError("not a little-endian ELF64 file")
    eh = EHDR.unpack_from(data, 0)
    phoff, phentsize, phnum = eh[5], eh[9], eh[10]
    if phentsize != PHDR.size or phnum == 0:
        raise ElfError(f"unexpected program headers (size {phentsize}, count {phnum})")
    if phoff + phnum * PHDR.size > len(data):
        raise ElfError("program headers past the end of the file")
    phs = [PHDR.unpack_from(data, phoff + i * PHDR.size) for i in range(phnum)]
    for p in phs:
        if p[0] == PT_LOAD and (p[5] > p[6] or p[2] + p[5] > len(data)):
            raise ElfError("a PT_LOAD whose file bytes are past the end or above its memsz")
    return eh, phs


def padding_runs(data, off, size, vaddr, min_run, fill=b"\0"):
    """[(start, end)] segment-relative offsets of whole pages of zeros or of the fill byte,
    in runs of >= min_run."""
    runs = []
    first = (-vaddr) % PAGE  # the first byte at a page boundary of the guest address
    i, start = first, None
    while i + PAGE <= size:
        page = data[off + i:off + i + PAGE]
        padding = not any(page) or page == fill * PAGE
        if padding and start is None:
            start = i
        if not padding and start is not None:
            if i - start >= min_run:
                runs.append((start, i))
            start = None
        i += PAGE
    if start is not None and i - start >= min_run:
        runs.append((start, i))
    return runs


def split(data, min_run):
    """The program headers of data with each PT_LOAD cut around its padding runs."""
    _, phs = parse(data)
    out = []
    for p in phs:
        ptype, flags, off, vaddr, paddr, filesz, memsz, align = p
        if ptype != PT_LOAD or filesz == 0:
            out.append(p)
            continue
        runs = padding_runs(data, off, filesz, vaddr, min_run, TEXT_FILL if flags & PF_X else b"\0")
        pos = 0
        for start, end in runs:
            if start > pos:
                out.append((ptype, flags, off + pos, vaddr + pos, paddr + pos, start - pos,
                            start - pos, PAGE))
            pos = end
        if memsz > pos:  # what follows the last run: file bytes, bss, or both
            out.append((ptype, flags, off + pos, vaddr + pos, paddr + pos, filesz - pos,
                        memsz - pos, PAGE if runs else align))
    return out


def first_used_byte(data, eh, phs):
    """The lowest file offset past the ELF header that a segment or section uses."""
    shoff, shentsize, shnum = eh[6], eh[11], eh[12]
    lows = [p[2] for p in phs if p[5] > 0]
    if shoff:
        lows.append(shoff)
        for i in range(shnum):
            sh = struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize)
            if sh[1] != 8 and sh[5] > 0:  # not SHT_NOBITS
                lows.append(sh[4])
    return min(x for x in lows if x >= EHDR.size)


def rewrite(data, min_run):
    eh, phs = parse(data)
    new = split(data, min_run)
    phoff = eh[5]
    limit = first_used_byte(data, eh, phs)
    old_end, new_end = phoff + len(phs) * PHDR.size, phoff + len(new) * PHDR.size
    if new_end > limit:
        raise ElfError(f"{len(new)} program headers do not fit before offset {limit:#x}")
    if any(data[old_end:new_end]):
        raise ElfError("the bytes after the program headers are not free")
    buf = bytearray(data)
    buf[phoff:new_end] = b"".join(PHDR.pack(*p) for p in new)
    struct.pack_into("<H", buf, 56, len(new))  # e_phnum
    return bytes(buf)


def loaded(data):
    """[(guest physical address, bytes, executable)] of every PT_LOAD, its bss as zeros."""
    _, phs = parse(data)
    return [(p[4], data[p[2]:p[2] + p[5]] + bytes(p[6] - p[5]), bool(p[1] & PF_X))
            for p in phs if p[0] == PT_LOAD]


def verify(orig, new):
    """'' if new loads exactly orig's bytes wherever it loads, loads nothing orig does not,
    and where it loads nothing orig had zeros (or the text fill, in an executable segment);
    else what is wrong."""
    a, b = loaded(orig), loaded(new)
    lo = min([s[0] for s in a + b], default=0)
    hi = max([s[0] + len(s[1]) for s in a + b], default=0)
    want = bytearray(hi - lo)  # orig's bytes
    rest = bytearray(hi - lo)  # orig's bytes that may not stay unloaded
    inside, covered = bytearray(hi - lo), bytearray(hi - lo)
    for base, seg, exe in a:
        r = slice(base - lo, base - lo + len(seg))
        want[r] = seg
        rest[r] = seg.replace(TEXT_FILL, b"\0") if exe else seg
        inside[r] = b"\x01" * len(seg)
    for base, seg, _ in b:
        r = slice(base - lo, base - lo + len(seg))
        if covered.find(1, r.start, r.stop) >= 0:
            return f"segments of the output overlap at {base:#x}"
        if inside.find(0, r.start, r.stop) >= 0:
            return f"the output loads {base:#x}+{len(seg):#x}, which the input does not all load"
        if seg != want[r]:
            return f"the output's segment at {base:#x} loads other bytes than the input"
        covered[r] = b"\x01" * len(seg)
        rest[r] = bytes(len(seg))
    if rest.count(0) != len(rest):
        i = next(i for i, x in enumerate(rest) if x)
        return f"{lo + i:#x} is left unloaded but holds {want[i]:#04x}"
    return ""


def main(argv):
    args, min_run, only_verify = argv[1:], 64 << 10, False
    if args[:1] == ["--verify"]:
        only_verify, args = True, args[1:]
    if args[:1] == ["--min-run"]:
        min_run, args = int(args[1]), args[2:]
    if len(args) != 2 or min_run < PAGE or min_run % PAGE:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    with open(args[0], "rb") as f:
        orig = f.read()
    try:
        if only_verify:
            with open(args[1], "rb") as f:
                out = f.read()
        else:
            out = rewrite(orig, min_run)
        err = verify(orig, out)
        if err:
            raise ElfError("verification failed: " + err)
    except ElfError as e:
        print(f"elf_sparse: {args[0]}: {e}", file=sys.stderr)
        return 1
    if not only_verify:  # only a verified output is written, whole or not at all
        with open(args[1] + ".tmp", "wb") as f:
            f.write(out)
        os.rename(args[1] + ".tmp", args[1])
        skipped = sum(p[6] for p in parse(orig)[1] if p[0] == PT_LOAD) - \
            sum(p[6] for p in parse(out)[1] if p[0] == PT_LOAD)
        print(f"elf_sparse: {args[1]}: {len(parse(out)[1])} program headers, "
              f"{skipped >> 10} KiB of zeros and text fill left unloaded")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
