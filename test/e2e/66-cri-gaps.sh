#!/usr/bin/env bash
# 66-cri-gaps: what the Kubernetes CRI validation suite found different from runc (issue 23),
# through containerd 1.6.20's REAL CRI plugin (lib-cri.sh), handler "" (runc) and "cvm" in the
# same run:
#   setuid   a setuid-root binary in the image, run as uid 1000 with privilege escalation
#            allowed (no_new_privs false), gets euid 0; with no_new_privs it keeps 1000
#   hostPID  two containers in the node's (runc) / guest's (cvm) pid namespace: SIGKILL of
#            one's init kills its child before the exit is reported
#   propagation  a mount the node makes under an rshared hostPath (HostToContainer) after
#            start is seen in the container (through the volume's host-side copy, whose
#            guest-visible views follow the node's source; that nothing mounted on our side goes
#            back into the node's tree is test_shim_mounts' test_bind_propagation_one_way)
#   hostNetwork, hostIPC   run on runc; refused by cvm at RunPodSandbox naming the field;
#            with "host_namespaces": "vm" a hostNetwork pod runs in the VM's own
# Root only. PASS:/FAIL:/NOTE: lines; never skips.
set -u
cd "$(dirname "$0")/../.."
source test/e2e/lib-shim.sh
source test/e2e/lib-net.sh
source test/e2e/lib-cri.sh
cri_tier_start cri-gaps || exit 1

q() { cri rpc "$@" 2>/dev/null; }
SUID_IMG=cvm.local/suid:1
gcc -static -O2 -o "$WORK/euid" test/images/euid.c &&
  python3 test/images/mkbusybox.py "$WORK/suid-base.tar" "$SUID_IMG" >/dev/null &&
  python3 test/images/add-suid-layer.py "$WORK/suid-base.tar" "$WORK/suid.tar" "$WORK/euid" euid &&
  ctr -n k8s.io images import "$WORK/suid.tar" >/dev/null || { fail cri-gaps-image "building the setuid image failed"; exit 1; }

pod_config() { # $1 tag, $2 JSON merged into linux.security_context.namespace_options: file printed
  # (no hostname for a hostNetwork pod: kubelet sets none, and runc refuses one without a UTS namespace)
  local f=$WORK/pod-$1.json
  mkdir -p "$WORK/logs/$1"
  jq -n --arg t "$1" --arg d "$WORK/logs/$1" --arg u "uid-g-$1-$$" --argjson ns "${2:-{\}}" \
    '{metadata: {name: ("g-" + $t), uid: $u, namespace: "cvmtest", attempt: 0},
      hostname: (if $ns.network == "NODE" then "" else ("g-" + $t) end),
      log_directory: $d,
      labels: {"io.kubernetes.pod.name": ("g-" + $t), "io.kubernetes.pod.namespace": "cvmtest",
               "io.kubernetes.pod.uid": $u},
      linux: {cgroup_parent: "", security_context: {namespace_options: ({network: "POD", pid: "CONTAINER", ipc: "POD"} * $ns)}}}' > "$f"
  echo "$f"
}
ctr_config() { # $1 tag, $2 name, $3 image, $4 JSON merged over the base ContainerConfig: file printed
  local f=$WORK/ctr-$1-$2.json
  jq -n --arg n "$2" --arg img "$3" --argjson o "$4" \
    '{metadata: {name: $n, attempt: 0}, image: {image: $img}, log_path: ($n + "/0.log"),
      command: ["sleep", "100000"], linux: {security_context: {}}} * $o' > "$f"
  echo "$f"
}
run_ctr() { # $1 var, $2 pod id, $3 pod config, $4 container config file: id in var (empty on failure)
  local _id err=$WORK/err-$RANDOM
  _id=$(cri create "$2" "$4" "$3" 2>"$err") && cri rpc StartContainer "{\"container_id\":\"$_id\"}" >/dev/null 2>>"$err" || _id=
  printf -v "$1" '%s' "$_id"
  [[ -n $_id ]] || LAST_ERR=$(tr '\n' '|' < "$err")
}

# --- setuid: the same image, container config and exec under both handlers
declare -A R
for h in runc cvm; do
  hname=$h; [[ $h == runc ]] && hname=
  PC=$(pod_config "suid-$h")
  POD=$(cri runp "$PC" "$hname" 2>"$WORK/err") || { fail "setuid-$h-pod" "$(tr '\n' '|' < "$WORK/err") $(ctd_err)"; continue; }
  for nnp in false true; do
    run_ctr id "$POD" "$PC" "$(ctr_config "suid-$h" "nnp-$nnp" "$SUID_IMG" \
      "{\"linux\": {\"security_context\": {\"run_as_user\": {\"value\": 1000}, \"no_new_privs\": $nnp}}}")"
    [[ -n $id ]] || { fail "setuid-$h-nnp-$nnp" "$LAST_ERR $(ctd_err)"; continue; }
    R[$h.$nnp]=$(cri exec "$id" -- /bin/euid 2>&1)
  done
  q StopPodSandbox "{\"pod_sandbox_id\":\"$POD\"}" >/dev/null; q RemovePodSandbox "{\"pod_sandbox_id\":\"$POD\"}" >/dev/null
done
[[ ${R[runc.false]:-} == "uid=1000 euid=0" ]] && pass setuid-escalates-runc || fail setuid-escalates-runc "'${R[runc.false]:-}'"
[[ ${R[cvm.false]:-} == "uid=1000 euid=0" ]] && pass setuid-escalates-cvm || fail setuid-escalates-cvm "'${R[cvm.false]:-}' (runc: '${R[runc.false]:-}')"
[[ ${R[runc.true]:-} == "uid=1000 euid=1000" ]] && pass setuid-no-new-privs-runc || fail setuid-no-new-privs-runc "'${R[runc.true]:-}'"
[[ ${R[cvm.true]:-} == "uid=1000 euid=1000" ]] && pass setuid-no-new-privs-cvm || fail setuid-no-new-privs-cvm "'${R[cvm.true]:-}' (runc: '${R[runc.true]:-}')"

# --- hostPID (default config): the pod's containers share the guest's pid namespace (not
# refused: containerd's TestContainerKillInitPidHost expects it to run); killing one's init
# takes its children along before its exit is reported (runc: the node's, the same rule)
TAG=4$$
for h in runc cvm; do
  hname=$h; [[ $h == runc ]] && hname=
  PC=$(pod_config "hostpid-$h" '{"pid": "NODE"}')
  POD=$(cri runp "$PC" "$hname" 2>"$WORK/err") || { fail "hostpid-kill-init-$h" "pod: $(tr '\n' '|' < "$WORK/err") $(ctd_err)"; continue; }
  run_ctr watcher "$POD" "$PC" "$(ctr_config "hostpid-$h" watcher "$IMG" '{"linux": {"security_context": {"namespace_options": {"pid": "NODE"}}}}')"
  run_ctr victim "$POD" "$PC" "$(ctr_config "hostpid-$h" victim "$IMG" "{\"command\": [\"sh\", \"-c\", \"sleep $TAG; echo hi\"], \"linux\": {\"security_context\": {\"namespace_options\": {\"pid\": \"NODE\"}}}}")"
  if [[ -z $watcher || -z $victim ]]; then fail "hostpid-kill-init-$h" "containers: $LAST_ERR $(ctd_err)"; continue; fi
  for _ in $(seq 1 50); do cri exec "$watcher" -- ps -o args 2>/dev/null | grep -q "^sleep $TAG" && break; sleep 0.2; done
  before=$(cri exec "$watcher" -- ps -o args 2>&1 | grep -c "^sleep $TAG")
  q StopContainer "{\"container_id\":\"$victim\",\"timeout\":0}" >/dev/null   # SIGKILL to its init
  after=$(cri exec "$watcher" -- ps -o args 2>&1 | grep -c "^sleep $TAG")
  state=$(q ContainerStatus "{\"container_id\":\"$victim\"}" -q status.state)
  [[ $before == 1 && $after == 0 && $state == CONTAINER_EXITED ]] && pass "hostpid-kill-init-$h" ||
    fail "hostpid-kill-init-$h" "sleep $TAG before: $before after: $after, victim $state"
  q StopPodSandbox "{\"pod_sandbox_id\":\"$POD\"}" >/dev/null; q RemovePodSandbox "{\"pod_sandbox_id\":\"$POD\"}" >/dev/null
done

# --- mount propagation: an rshared hostPath (HostToContainer); the node mounts under it after
# the container started; the container sees the new mount (runc: its bind is a slave)
PROP=$WORK/prop
mkdir -p "$PROP" && mount --bind "$PROP" "$PROP" && mount --make-shared "$PROP"
for h in runc cvm; do
  hname=$h; [[ $h == runc ]] && hname=
  mkdir -p "$PROP/$h"
  PC=$(pod_config "prop-$h")
  POD=$(cri runp "$PC" "$hname" 2>"$WORK/err") || { fail "propagation-host-to-container-$h" "pod: $(tr '\n' '|' < "$WORK/err")"; continue; }
  run_ctr pc "$POD" "$PC" "$(ctr_config "prop-$h" watcher "$IMG" "{\"mounts\": [{\"container_path\": \"/prop\", \"host_path\": \"$PROP/$h\", \"propagation\": \"PROPAGATION_HOST_TO_CONTAINER\"}]}")"
  if [[ -z $pc ]]; then fail "propagation-host-to-container-$h" "container: $LAST_ERR $(ctd_err)"; continue; fi
  mkdir -p "$PROP/$h/sub" && mount -t tmpfs "prop-$h" "$PROP/$h/sub" && echo "late-$h" > "$PROP/$h/sub/marker"
  got=
  for _ in $(seq 1 25); do got=$(cri exec "$pc" -- cat /prop/sub/marker 2>&1) && [[ $got == "late-$h" ]] && break; sleep 0.2; done
  [[ $got == "late-$h" ]] && pass "propagation-host-to-container-$h" || fail "propagation-host-to-container-$h" "container read '$got'"
  q StopPodSandbox "{\"pod_sandbox_id\":\"$POD\"}" >/dev/null; q RemovePodSandbox "{\"pod_sandbox_id\":\"$POD\"}" >/dev/null
  umount "$PROP/$h/sub" 2>/dev/null
done
umount -l "$PROP" 2>/dev/null

# --- host namespaces: hostNetwork / hostIPC pods. runc shares the node's; cvm refuses at
# RunPodSandbox naming the field (default), or with "host_namespaces": "vm" runs the pod in
# the VM's own (the shim reads ConfigPath at each sandbox's Create: rewritten in between)
for f in network:hostNetwork ipc:hostIPC; do
  ns=${f%%:*} field=${f#*:}
  PC=$(pod_config "host-$ns-runc" "{\"$ns\": \"NODE\"}")
  if POD=$(cri runp "$PC" "" 2>"$WORK/err"); then
    pass "$field-runc-runs"
    q StopPodSandbox "{\"pod_sandbox_id\":\"$POD\"}" >/dev/null; q RemovePodSandbox "{\"pod_sandbox_id\":\"$POD\"}" >/dev/null
  else
    fail "$field-runc-runs" "$(tr '\n' '|' < "$WORK/err")"
  fi
  PC=$(pod_config "host-$ns-cvm" "{\"$ns\": \"NODE\"}")
  t0=$(date +%s%N)
  if POD=$(cri runp "$PC" cvm 2>"$WORK/err"); then
    fail "$field-cvm-refused" "RunPodSandbox succeeded"
    q StopPodSandbox "{\"pod_sandbox_id\":\"$POD\"}" >/dev/null; q RemovePodSandbox "{\"pod_sandbox_id\":\"$POD\"}" >/dev/null
  elif grep -q "($field)" "$WORK/err" && grep -q host_namespaces "$WORK/err"; then
    pass "$field-cvm-refused"
    note "$field refused in $(( ($(date +%s%N) - t0) / 1000000 )) ms: $(grep -o 'linux.namespaces[^|]*' "$WORK/err" | head -1)"
  else
    fail "$field-cvm-refused" "$(tr '\n' '|' < "$WORK/err")"
  fi
done

# "host_namespaces": "vm" lets a hostNetwork pod run, in the VM's own network (not the node's)
shim_write_config "$CFG" 90000 '"host_namespaces": "vm"'
PC=$(pod_config hostnet-vm '{"network": "NODE"}')
if POD=$(cri runp "$PC" cvm 2>"$WORK/err"); then
  pass hostNetwork-cvm-vm-local-runs
  q StopPodSandbox "{\"pod_sandbox_id\":\"$POD\"}" >/dev/null; q RemovePodSandbox "{\"pod_sandbox_id\":\"$POD\"}" >/dev/null
else
  fail hostNetwork-cvm-vm-local-runs "$(tr '\n' '|' < "$WORK/err") $(ctd_err)"
fi
