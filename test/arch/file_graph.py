#!/usr/bin/env python3
"""The product's file-level call graph, read off the objects (nm), and two rules over it.

An edge a.c -> b.c means a.o uses a symbol b.o defines (a function or a variable): what the
linker would join, so a call through a header, a macro or an inline is seen the same way.

  1. No circles: no two product files reach each other through such edges (a lower piece that
     must reach up does it through a callback or an interface the upper piece registers).
  2. Floors: a folder only uses its own floor and the floors below it (FLOORS, below).
  3. A newcomer finds a Task RPC from its name: every method of shim/task/service.c's table is
     handled in shim/task/<its name in snake case>.c, or in the file shim/README.md's table
     names for it.

Usage: file_graph.py BUILD_DIR [--dot]   prints PASS/FAIL lines per rule and folder; exit 1 on
a failure. --dot prints the graph (Graphviz) instead.
"""
import os
import subprocess
import sys

# Which folders a folder may use (besides itself). Lower floors never reach up.
FLOORS = {
    "common": set(),
    "proto": {"common"},
    "config": {"common", "proto", "hypervisor"},   # config.h names the hypervisor's vsock mode
    "hypervisor": {"common", "proto"},
    "hypervisor/vsockd": {"common"},
    "agent": {"common", "proto"},
    "shim/check": {"common", "proto", "config", "hypervisor", "shim"},
    "shim": {"common", "proto", "config", "hypervisor"},
    # cvm-runtime drives the shim's daemon over ttrpc; it shares its pid-file identities
    "runtime": {"common", "proto", "shim"},
}
PRODUCT = ("common", "proto", "config", "hypervisor", "agent", "shim", "runtime")

# Inside shim/, its folders from the top down (shim/README.md): a file uses only its own folder
# and the folders after it.
SHIM_FLOORS = ["shim", "shim/cli", "shim/check", "shim/daemon", "shim/pool", "shim/task", "shim/stdio",
               "shim/sandbox", "shim/net", "shim/cgroup", "shim/hooks", "shim/events",
               "shim/naming"]


def shim_floor(src):
    d = os.path.dirname(src)
    return SHIM_FLOORS.index(d) if d in SHIM_FLOORS else None


def folder_of(src):
    """The FLOORS key a source file belongs to (the longest matching prefix)."""
    best = None
    for k in FLOORS:
        if src == k or src.startswith(k + "/"):
            if best is None or len(k) > len(best):
                best = k
    return best


def snake(name):
    out = ""
    for i, ch in enumerate(name):
        if ch.isupper() and i and (name[i - 1].islower() or (i + 1 < len(name) and name[i + 1].islower())):
            out += "_"
        out += ch.lower()
    return out


def rpc_files(build):
    """(rpc, handler's file, where a newcomer looks) for each Task method; file None if unfound."""
    import re
    table = open("shim/task/service.c").read()
    readme = open("shim/README.md").read()
    listed = {}
    for line in readme.splitlines():
        m = re.match(r"\|\s*([A-Z][A-Za-z, ]+?)\s*\|\s*`(task/[a-z_]+\.c)`", line)
        if m:
            for rpc in m.group(1).split(","):
                listed[rpc.strip()] = "shim/" + m.group(2)
    out = []
    for rpc, fn in re.findall(r'\{\s*"([A-Za-z]+)",\s*(\w+)\s*\}', table):
        where = None
        for dp, _, fns in os.walk(os.path.join(build, "obj", "shim", "task")):
            for f in fns:
                if f.endswith(".o") and os.path.exists("shim/task/" + f[:-2] + ".c"):
                    d, _ = symbols(os.path.join(dp, f))
                    if fn in d:
                        where = "shim/task/" + f[:-2] + ".c"
        out.append((rpc, where, {"shim/task/%s.c" % snake(rpc), listed.get(rpc, "")}))
    return out


def symbols(obj):
    out = subprocess.run(["nm", "--defined-only", "-g", obj], capture_output=True, text=True,
                         check=True).stdout
    defined = {l.split()[-1] for l in out.splitlines() if len(l.split()) == 3}
    out = subprocess.run(["nm", "-u", obj], capture_output=True, text=True, check=True).stdout
    used = {l.split()[-1] for l in out.splitlines() if l.strip()}
    return defined, used


def graph(build):
    objroot = os.path.join(build, "obj")
    files = {}
    for top in PRODUCT:
        for dp, _, fns in os.walk(os.path.join(objroot, top)):
            for fn in fns:
                if fn.endswith(".o"):
                    o = os.path.join(dp, fn)
                    src = os.path.relpath(o, objroot)[:-2] + ".c"
                    if os.path.exists(src):  # not a stale object of a moved or removed file
                        files[src] = o
    if not files:
        sys.exit("file_graph: no objects under %s/obj (build first)" % build)
    owner, uses = {}, {}
    for src, o in files.items():
        d, u = symbols(o)
        uses[src] = u
        for s in d:
            owner.setdefault(s, set()).add(src)
    edges = {src: set() for src in files}
    for src, u in uses.items():
        for s in u:
            for dst in owner.get(s, ()):
                # main() files and binaries with their own copies of a symbol: the same folder's
                # definition is the one linked.
                if dst != src:
                    edges[src].add(dst)
    return edges


def sccs(edges):
    """Tarjan, iterative: the strongly connected components of more than one file."""
    index, low, on, stack, out, n = {}, {}, set(), [], [], [0]
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = n[0]; n[0] += 1; stack.append(root); on.add(root)
        while work:
            v, it = work[-1]
            for w in it:
                if w not in index:
                    index[w] = low[w] = n[0]; n[0] += 1; stack.append(w); on.add(w)
                    work.append((w, iter(sorted(edges[w]))))
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop(); on.discard(w); comp.append(w)
                        if w == v:
                            break
                    if len(comp) > 1:
                        out.append(sorted(comp))
    return out


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    edges = graph(sys.argv[1])
    if "--dot" in sys.argv:
        print("digraph files {")
        for a in sorted(edges):
            for b in sorted(edges[a]):
                print('  "%s" -> "%s";' % (a, b))
        print("}")
        return 0
    failed = 0
    circles = sccs(edges)
    for top in PRODUCT:
        mine = [c for c in circles if any(f.startswith(top + "/") for f in c)]
        if mine:
            failed += 1
            print("FAIL: no-file-circles-%s" % top)
            for c in mine:
                # one path around the circle, for the reader
                print("  circle of %d files: %s" % (len(c), " ".join(c)))
                for a in c:
                    print("    %s -> %s" % (a, " ".join(sorted(set(edges[a]) & set(c)))))
        else:
            print("PASS: no-file-circles-%s" % top)
    bad = []
    for a in sorted(edges):
        fa = folder_of(a)
        for b in sorted(edges[a]):
            fb = folder_of(b)
            if fa and fb and fa != fb and fb not in FLOORS[fa]:
                bad.append("%s -> %s" % (a, b))
    for a in sorted(edges):
        fa = shim_floor(a)
        for b in sorted(edges[a]):
            fb = shim_floor(b)
            # cli and check are two top floors side by side: neither uses the other
            if fa is not None and fb is not None and fb < fa:
                bad.append("%s -> %s (shim floors: %s is above %s)" % (a, b, SHIM_FLOORS[fb], SHIM_FLOORS[fa]))
    for a in edges:
        if a.startswith("shim/") and a.count("/") > 1 and shim_floor(a) is None:
            bad.append("%s: a shim folder not in SHIM_FLOORS" % a)
    if bad:
        failed += 1
        print("FAIL: floors")
        for line in bad:
            print("  " + line)
    else:
        print("PASS: floors")
    rpcs = rpc_files(sys.argv[1])
    lost = ["%s is handled in %s, looked for in %s" % (r, w, " or ".join(sorted(x for x in look if x)))
            for r, w, look in rpcs if w not in look]
    if lost or len(rpcs) < 17:
        failed += 1
        print("FAIL: task-rpc-found-by-name (%d methods)" % len(rpcs))
        for line in lost:
            print("  " + line)
    else:
        print("PASS: task-rpc-found-by-name (%d methods, each in the file its name gives)" % len(rpcs))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
