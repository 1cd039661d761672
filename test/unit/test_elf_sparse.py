#!/usr/bin/env python3
"""Tests of initrd/kernel/elf_sparse.py on small ELF64 files built here: what it cuts, what it
keeps, and that its verification rejects a wrong output. Prints a PASS or FAIL line per case
(test/run-tests.sh counts them) and exits non-zero on any failure."""
import os
import struct
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "initrd", "kernel"))
import elf_sparse as es  # noqa: E402

PAGE = es.PAGE
R, W, X = 4, 2, 1


def elf(segments, data_at=0x10000):
    """An ELF64 with one PT_LOAD per (paddr, flags, file bytes, bss bytes), laid out from
    data_at in the file, page-congruent with paddr."""
    phs, blob, off = [], b"", data_at
    for paddr, flags, body, bss in segments:
        off += (paddr - off) % PAGE
        blob += bytes(off - data_at - len(blob)) + body
        phs.append((es.PT_LOAD, flags, off, 0xffffffff80000000 + paddr, paddr, len(body),
                    len(body) + bss, 0x200000))
        off += len(body)
    eh = es.EHDR.pack(b"\x7fELF\x02\x01\x01" + bytes(9), 2, 62, 1, 0x1000000, 64, 0, 0, 64,
                      es.PHDR.size, len(phs), 64, 0, 0)
    head = eh + b"".join(es.PHDR.pack(*p) for p in phs)
    return head + bytes(data_at - len(head)) + blob


def loads(data):
    return [(p[4], p[5], p[6], p[1]) for p in es.parse(data)[1] if p[0] == es.PT_LOAD]


results = []


def case(name, fn):
    try:
        fn()
        results.append(True)
        print(f"PASS: elf_sparse {name}")
    except Exception as e:  # noqa: BLE001 - every failure is reported as this case's
        results.append(False)
        print(f"FAIL: elf_sparse {name}: {type(e).__name__}: {e}")


def zero_run_cut():
    body = b"A" * PAGE + bytes(32 * PAGE) + b"B" * PAGE
    out = es.rewrite(elf([(0x1000000, R | W, body, 0)]), 16 * PAGE)
    got = loads(out)
    assert got == [(0x1000000, PAGE, PAGE, R | W), (0x1000000 + 33 * PAGE, PAGE, PAGE, R | W)], got
    assert es.verify(elf([(0x1000000, R | W, body, 0)]), out) == ""


def short_run_kept():
    body = b"A" * PAGE + bytes(8 * PAGE) + b"B" * PAGE
    src = elf([(0x1000000, R | W, body, 0)])
    assert loads(es.rewrite(src, 16 * PAGE)) == loads(src)


def fill_cut_only_in_text():
    body = b"A" * PAGE + b"\xcc" * (32 * PAGE) + b"B" * PAGE
    text = elf([(0x1000000, R | X, body, 0)])
    data = elf([(0x1000000, R | W, body, 0)])
    assert len(loads(es.rewrite(text, 16 * PAGE))) == 2
    assert loads(es.rewrite(data, 16 * PAGE)) == loads(data)
    assert es.verify(text, es.rewrite(text, 16 * PAGE)) == ""


def trailing_run_and_bss():
    body = b"A" * PAGE + bytes(32 * PAGE)
    # no bss: the zero tail is dropped; with bss it stays, for QEMU to zero-fill with the bss
    assert loads(es.rewrite(elf([(0x1000000, R | W, body, 0)]), 16 * PAGE)) == \
        [(0x1000000, PAGE, PAGE, R | W)]
    src = elf([(0x1000000, R | W, body, 4 * PAGE)])
    got = loads(es.rewrite(src, 16 * PAGE))
    assert got == [(0x1000000, PAGE, PAGE, R | W), (0x1000000 + 33 * PAGE, 0, 4 * PAGE, R | W)], got
    assert es.verify(src, es.rewrite(src, 16 * PAGE)) == ""


def unaligned_segment():
    # a segment starting mid-page: only whole guest pages are cut
    body = b"A" * 100 + bytes(40 * PAGE) + b"B"
    src = elf([(0x1000000 + PAGE - 100, R | W, body, 0)])
    out = es.rewrite(src, 16 * PAGE)
    assert len(loads(out)) == 2 and es.verify(src, out) == ""


def verify_rejects(name, mutate, want):
    body = b"A" * PAGE + bytes(32 * PAGE) + b"B" * PAGE
    src = elf([(0x1000000, R | X, body, 0)])

    def run():
        bad = bytearray(es.rewrite(src, 16 * PAGE))
        mutate(bad)
        err = es.verify(src, bytes(bad))
        assert want in err, f"verify said {err!r}, want {want!r}"
    case(f"verify rejects {name}", run)


def patch_ph(i, **fields):
    offsets = {"off": 8, "paddr": 24, "filesz": 32, "memsz": 40}

    def mutate(buf):
        for field, value in fields.items():
            struct.pack_into("<Q", buf, 64 + i * es.PHDR.size + offsets[field], value)
    return mutate


def not_elf():
    try:
        es.rewrite(b"\x7fELF\x01" + bytes(100), 16 * PAGE)
    except es.ElfError:
        return
    raise AssertionError("a 32-bit ELF was accepted")


def no_room_for_headers():
    body = b"A" * PAGE + bytes(32 * PAGE) + b"B" * PAGE
    # the segment's bytes start right after the one program header the input has
    src = elf([(0x1000000 + 64 + es.PHDR.size, R | W, body, 0)], data_at=64 + es.PHDR.size)
    try:
        es.rewrite(src, 16 * PAGE)
    except es.ElfError:
        return
    raise AssertionError("program headers were written over segment data")


case("cuts a zero run", zero_run_cut)
case("keeps a run below --min-run", short_run_kept)
case("cuts the int3 fill in text only", fill_cut_only_in_text)
case("drops a zero tail, keeps bss", trailing_run_and_bss)
case("cuts whole pages of a mid-page segment", unaligned_segment)
case("refuses a non-ELF64 input", not_elf)
case("refuses headers that do not fit", no_room_for_headers)
# a piece grown over the unloaded run, moved, or loading what the input does not
verify_rejects("a piece loading other bytes", patch_ph(1, off=0x10000 + 2 * PAGE), "other bytes")
verify_rejects("a byte left unloaded", patch_ph(0, filesz=PAGE - 1, memsz=PAGE - 1), "left unloaded")
verify_rejects("overlapping pieces", patch_ph(1, paddr=0x1000000), "overlap")
verify_rejects("an address the input does not load", patch_ph(1, memsz=40 * PAGE), "does not all load")

failed = results.count(False)
print(f"elf_sparse: {len(results) - failed} passed, {failed} failed")
sys.exit(1 if failed else 0)
