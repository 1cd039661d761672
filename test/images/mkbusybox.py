#!/usr/bin/env python3
"""Build an OCI image tarball (one layer) from Debian's busybox-static, no registry needed.

usage: mkbusybox.py OUT.tar [NAME] [--docker]     NAME defaults to cvm.local/busybox:latest
--docker adds manifest.json (the docker-archive index) so Docker 20.10's `docker load`, which
knows no OCI layout, takes the same tarball (podman loads either).
The layer holds /bin/busybox plus a symlink per applet, /etc/passwd and /tmp. Deterministic:
fixed mtimes and ownership, sorted entries."""
import gzip, hashlib, io, json, os, subprocess, sys, tarfile

docker = "--docker" in sys.argv[1:]
args = [a for a in sys.argv[1:] if a != "--docker"]
out = args[0]
name = args[1] if len(args) > 1 else "cvm.local/busybox:latest"
bb = "/bin/busybox"
applets = subprocess.run([bb, "--list"], capture_output=True, text=True, check=True).stdout.split()

def add(tf, ti, data=None):
    ti.mtime, ti.uid, ti.gid, ti.uname, ti.gname = 0, 0, 0, "root", "root"
    tf.addfile(ti, io.BytesIO(data) if data is not None else None)

raw = io.BytesIO()
with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tf:
    for d in ["bin", "etc", "tmp", "proc", "sys", "dev", "root"]:
        ti = tarfile.TarInfo(d); ti.type = tarfile.DIRTYPE; ti.mode = 0o1777 if d == "tmp" else 0o755
        add(tf, ti)
    data = open(bb, "rb").read()
    ti = tarfile.TarInfo("bin/busybox"); ti.size = len(data); ti.mode = 0o755
    add(tf, ti, data)
    for a in sorted(set(applets)):
        if a == "busybox":
            continue
        ti = tarfile.TarInfo("bin/" + a); ti.type = tarfile.SYMTYPE; ti.linkname = "busybox"; ti.mode = 0o777
        add(tf, ti)
    pw = b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n"
    ti = tarfile.TarInfo("etc/passwd"); ti.size = len(pw); ti.mode = 0o644
    add(tf, ti, pw)
layer_tar = raw.getvalue()
gz = io.BytesIO()
with gzip.GzipFile(fileobj=gz, mode="wb", mtime=0) as g:
    g.write(layer_tar)
layer = gz.getvalue()
sha = lambda b: hashlib.sha256(b).hexdigest()
config = json.dumps({
    "architecture": "amd64", "os": "linux",
    "config": {"Env": ["PATH=/bin"], "Cmd": ["sh"], "WorkingDir": "/"},
    "rootfs": {"type": "layers", "diff_ids": ["sha256:" + sha(layer_tar)]},
    "history": [{"created_by": "cvm test/images/mkbusybox.py"}],
}, sort_keys=True).encode()
manifest = json.dumps({
    "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "sha256:" + sha(config), "size": len(config)},
    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": "sha256:" + sha(layer), "size": len(layer)}],
}, sort_keys=True).encode()
index = json.dumps({
    "schemaVersion": 2,
    "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:" + sha(manifest),
                   "size": len(manifest), "platform": {"architecture": "amd64", "os": "linux"},
                   "annotations": {"io.containerd.image.name": name, "org.opencontainers.image.ref.name": "latest"}}],
}, sort_keys=True).encode()
with tarfile.open(out, "w") as tf:
    def put(path, data):
        ti = tarfile.TarInfo(path); ti.size = len(data); ti.mode = 0o644; ti.mtime = 0
        tf.addfile(ti, io.BytesIO(data))
    put("oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
    put("index.json", index)
    for b in (config, manifest, layer):
        put("blobs/sha256/" + sha(b), b)
    if docker:
        put("manifest.json", json.dumps([{"Config": "blobs/sha256/" + sha(config), "RepoTags": [name],
                                          "Layers": ["blobs/sha256/" + sha(layer)]}]).encode())
print(name)
