# Sourced after lib-shim.sh and lib-net.sh by the CRI tests: a private containerd 1.6.20 with its
# CRI plugin ENABLED (lib-containerd.sh's ctd_start disables it), in the test's network namespace
# (net_setup first: CTD_NETNS), with runtime handlers "" = runc (default) and "cvm" = our shim,
# CNI from /usr/lib/cni with lib-net.sh's bridge config, and a CRI v1 client
# (test/drivers/cri_client.py) speaking to it the way kubelet does.
#   cri_ctd_start CVM_CONFIG_JSON   sets CTD_DIR CTD_SOCK CTD_TTRPC CTD_PID CRI_STUBS; ctd_stop
#                                   (or shim_ctd_teardown) stops it and removes CTD_DIR
#   cri ARGS                        cri_client.py against our containerd (CRI v1 gRPC)
#   cri_import_images               busybox as $IMG and a pause image $CRI_PAUSE (k8s.io namespace)
#   cri_tier_start NAME             what every CRI tier does first (root, build, netns, WORK and
#                                   CFG, containerd, images; cleanup on EXIT); 1 = failed, said
CRI_PY=/usr/bin/python3        # Debian's python3: python3-grpcio and python3-grpc-tools live there
CRI_PAUSE=cvm.local/pause:1
CRI_STUBS=

cri_ctd_start() { # $1 = the runtime config JSON for handler cvm
  [[ $(id -u) -eq 0 ]] || { fail containerd-start "root is required"; return 1; }
  "$CRI_PY" -c 'import grpc, grpc_tools' 2>/dev/null ||
    { fail cri-prereq "python3-grpcio / python3-grpc-tools missing (make setup)"; return 1; }
  CTD_DIR=$(mktemp -d /tmp/cvm-ctd.XXXXXX)
  CTD_SOCK=$CTD_DIR/c.sock
  CTD_TTRPC=$CTD_DIR/c.sock.ttrpc
  CRI_STUBS=$CTD_DIR/stubs
  export CRI_STUBS
  "$CRI_PY" test/drivers/cri_client.py gen "$CRI_STUBS" || { fail cri-prereq "protoc of test/drivers/cri/api.proto failed"; return 1; }
  mkdir -p "$CTD_DIR/cni-net.d"
  cp "$NET_CNI_DIR"/net.d/*.conflist "$CTD_DIR/cni-net.d/"
  cat > "$CTD_DIR/config.toml" <<TOML
version = 2
root = "$CTD_DIR/root"
state = "$CTD_DIR/state"
[grpc]
  address = "$CTD_SOCK"
[ttrpc]
  address = "$CTD_TTRPC"
[debug]
  address = "$CTD_DIR/debug.sock"
  level = "debug"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$CRI_PAUSE"
  # this host has no CAP_SYS_RESOURCE for a negative oom_score_adj (runc too)
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$CTD_DIR/cni-net.d"
    max_conf_num = 1
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
TOML
  # handler cvm: the snippet an operator installs (config/containerd-cri.toml), verbatim but
  # for its config path, so the test checks what is shipped
  sed -e '/^version *=/d' -e "s|^\( *ConfigPath = \).*|\1\"$1\"|" config/containerd-cri.toml >> "$CTD_DIR/config.toml"
  ${CTD_NETNS:+nsenter --net=/run/netns/$CTD_NETNS} containerd --config "$CTD_DIR/config.toml" > "$CTD_DIR/containerd.log" 2>&1 &
  CTD_PID=$!
  for _ in $(seq 1 150); do
    [[ -S $CTD_SOCK && -S $CTD_TTRPC ]] && ctr version >/dev/null 2>&1 &&
      cri rpc Version '{"version":"v1"}' >/dev/null 2>&1 && return 0
    kill -0 "$CTD_PID" 2>/dev/null || break
    sleep 0.2
  done
  fail containerd-start "containerd (CRI) did not come up: $(grep -m3 'level=error' "$CTD_DIR/containerd.log"; tail -3 "$CTD_DIR/containerd.log")"
  return 1
}

cri() { "$CRI_PY" test/drivers/cri_client.py -a "unix://$CTD_SOCK" "$@"; }

# busybox for the app containers; the pause image is the same layer with a default command
# that keeps running (CRI runs the sandbox image's own entrypoint; busybox's is `sh`, which
# exits at once without stdin). mkbusybox.py has no command option: rewrite its config blob.
cri_import_images() {
  python3 test/images/mkbusybox.py "$CTD_DIR/busybox.tar" "$IMG" >/dev/null &&
    ctr -n k8s.io images import "$CTD_DIR/busybox.tar" >/dev/null || return 1
  python3 test/images/mkbusybox.py "$CTD_DIR/pause-src.tar" "$CRI_PAUSE" >/dev/null || return 1
  python3 - "$CTD_DIR/pause-src.tar" "$CTD_DIR/pause.tar" <<'PY' || return 1
import hashlib, io, json, sys, tarfile
src, out = sys.argv[1], sys.argv[2]
blobs, sha = {}, lambda b: hashlib.sha256(b).hexdigest()
with tarfile.open(src) as tf:
    for m in tf.getmembers():
        blobs[m.name] = tf.extractfile(m).read()
index = json.loads(blobs["index.json"])
mdesc = index["manifests"][0]
manifest = json.loads(blobs["blobs/sha256/" + mdesc["digest"].split(":")[1]])
config = json.loads(blobs["blobs/sha256/" + manifest["config"]["digest"].split(":")[1]])
config["config"]["Cmd"] = ["sleep", "2147483647"]
cb = json.dumps(config, sort_keys=True).encode()
manifest["config"].update(digest="sha256:" + sha(cb), size=len(cb))
mb = json.dumps(manifest, sort_keys=True).encode()
mdesc.update(digest="sha256:" + sha(mb), size=len(mb))
ib = json.dumps(index, sort_keys=True).encode()
layer = manifest["layers"][0]["digest"].split(":")[1]
with tarfile.open(out, "w") as tf:
    def put(path, data):
        ti = tarfile.TarInfo(path); ti.size = len(data); ti.mode = 0o644; ti.mtime = 0
        tf.addfile(ti, io.BytesIO(data))
    put("oci-layout", blobs["oci-layout"]); put("index.json", ib)
    for b in (cb, mb):
        put("blobs/sha256/" + sha(b), b)
    put("blobs/sha256/" + layer, blobs["blobs/sha256/" + layer])
PY
  ctr -n k8s.io images import "$CTD_DIR/pause.tar" >/dev/null
}

# CRI keeps its pods and containers in the k8s.io namespace: remove whatever a failed case left
# (containers, then pods), through CRI so CNI DEL and the netns removal happen too.
cri_teardown() {
  local id
  [[ -n ${CTD_PID:-} && -n ${CRI_STUBS:-} ]] || return 0
  for id in $(cri rpc ListContainers -q containers 2>/dev/null | "$CRI_PY" -c 'import json,sys; [print(c["id"]) for c in json.loads(sys.stdin.read() or "[]")]' 2>/dev/null); do
    cri -t 30 rpc StopContainer "{\"container_id\":\"$id\",\"timeout\":0}" >/dev/null 2>&1
    cri -t 30 rpc RemoveContainer "{\"container_id\":\"$id\"}" >/dev/null 2>&1
  done
  for id in $(cri rpc ListPodSandbox -q items 2>/dev/null | "$CRI_PY" -c 'import json,sys; [print(c["id"]) for c in json.loads(sys.stdin.read() or "[]")]' 2>/dev/null); do
    cri -t 60 rpc StopPodSandbox "{\"pod_sandbox_id\":\"$id\"}" >/dev/null 2>&1
    cri -t 60 rpc RemovePodSandbox "{\"pod_sandbox_id\":\"$id\"}" >/dev/null 2>&1
  done
}

# The start every CRI tier shares: root, the built shim, the test's netns, WORK (removed at exit)
# with the cvm config CFG, containerd with the CRI plugin, the two images. Cleanup on EXIT: pods
# and containers through CRI (cri_teardown), then containerd and the netns.
ctd_err() { grep 'level=error' "$CTD_DIR/containerd.log" | tail -${1:-3} | tr '\n' '|'; } # containerd's last errors
cri_tier_cleanup() {
  cri_teardown
  ctd_stop
  [[ -z ${CVM_POOL_SIZE:-} ]] || shim_pool_drain
  net_teardown
  [[ -n ${WORK:-} ]] && rm -rf "$WORK"
}
cri_tier_start() { # $1 = the tier's name in its FAIL lines
  WORK=
  trap cri_tier_cleanup EXIT
  [[ $(id -u) -eq 0 ]] || { fail "$1" "must run as root"; return 1; }
  shim_env_check || return 1
  net_setup || return 1
  WORK=$(mktemp -d "/tmp/cvm-$1.XXXXXX")
  CFG=$WORK/cvm.json
  shim_write_config "$CFG"
  cri_ctd_start "$CFG" || return 1
  cri_import_images || { fail cri-image-import "ctr -n k8s.io images import failed"; return 1; }
}

# Benchmarks' pod and container configs (cri-bench, pool-bench): a pod sandbox config JSON for
# sample $2 of tag $1 under $WORK (name "<prefix>$2-$1" in CRI namespace $3), its log directory
# made; prints the file. The container config (sleep in $IMG) is bench_ctr_json's, into $1.
bench_pod_json() { # $1 tag, $2 n, $3 CRI namespace, $4 name prefix
  jq -n --arg n "$4$2-$1" --arg d "$WORK/logs/$1-$2" --arg u "uid-$4-$1-$2-$$" --arg ns "$3" \
    '{metadata: {name: $n, uid: $u, namespace: $ns, attempt: 0}, hostname: $n, log_directory: $d,
      linux: {security_context: {namespace_options: {network: "POD", pid: "CONTAINER", ipc: "POD"}}}}' > "$WORK/pod-$1-$2.json"
  mkdir -p "$WORK/logs/$1-$2"
  echo "$WORK/pod-$1-$2.json"
}
bench_ctr_json() { # $1 file to write
  jq -n --arg img "$IMG" '{metadata: {name: "app", attempt: 0}, image: {image: $img},
    command: ["sleep", "100000"], log_path: "app/0.log",
    linux: {security_context: {namespace_options: {network: "POD", pid: "CONTAINER", ipc: "POD"}}}}' > "$1"
}
