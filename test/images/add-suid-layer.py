#!/usr/bin/env python3
"""Add a second layer to a one-image OCI tarball (mkbusybox.py's output): FILE as /bin/NAME,
owned by root, mode 04755 (setuid root). The image keeps its name.

usage: add-suid-layer.py IN.tar OUT.tar FILE NAME"""
import gzip, hashlib, io, json, sys, tarfile

src, out, path, name = sys.argv[1:5]
blobs, sha = {}, lambda b: hashlib.sha256(b).hexdigest()
with tarfile.open(src) as tf:
    for m in tf.getmembers():
        blobs[m.name] = tf.extractfile(m).read()
raw = io.BytesIO()
with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tf:
    data = open(path, "rb").read()
    ti = tarfile.TarInfo("bin/" + name)
    ti.size, ti.mode, ti.mtime, ti.uid, ti.gid, ti.uname, ti.gname = len(data), 0o4755, 0, 0, 0, "root", "root"
    tf.addfile(ti, io.BytesIO(data))
layer_tar = raw.getvalue()
gz = io.BytesIO()
with gzip.GzipFile(fileobj=gz, mode="wb", mtime=0) as g:
    g.write(layer_tar)
layer = gz.getvalue()
index = json.loads(blobs["index.json"])
mdesc = index["manifests"][0]
manifest = json.loads(blobs["blobs/sha256/" + mdesc["digest"].split(":")[1]])
config = json.loads(blobs["blobs/sha256/" + manifest["config"]["digest"].split(":")[1]])
config["rootfs"]["diff_ids"].append("sha256:" + sha(layer_tar))
cb = json.dumps(config, sort_keys=True).encode()
manifest["config"].update(digest="sha256:" + sha(cb), size=len(cb))
manifest["layers"].append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                           "digest": "sha256:" + sha(layer), "size": len(layer)})
mb = json.dumps(manifest, sort_keys=True).encode()
mdesc.update(digest="sha256:" + sha(mb), size=len(mb))
ib = json.dumps(index, sort_keys=True).encode()
with tarfile.open(out, "w") as tf:
    def put(p, d):
        t = tarfile.TarInfo(p); t.size = len(d); t.mode = 0o644; t.mtime = 0
        tf.addfile(t, io.BytesIO(d))
    put("oci-layout", blobs["oci-layout"]); put("index.json", ib)
    for b in (cb, mb, layer):
        put("blobs/sha256/" + sha(b), b)
    for l in manifest["layers"][:-1]:
        h = l["digest"].split(":")[1]
        put("blobs/sha256/" + h, blobs["blobs/sha256/" + h])
