#!/usr/bin/env bash
# 60-cri-stream: CRI streaming through containerd 1.6.20's REAL stream server (127.0.0.1, see
# lib-cri.sh), the way kubectl exec/attach/port-forward reach it through kubelet: the CRI call
# returns a URL, test/drivers/cri_stream.py speaks WebSocket (v4.channel.k8s.io) to it.
# Runtime handler "" (runc) and "cvm" in the same run, one pod each shared by every case:
#   1. Exec, no tty: stdout and stderr on their own channels, exit 3 from the error channel's
#      status (and Success for exit 0)
#   2. Exec with stdin
#   3. Exec with a tty, a resize to 120x40 that the process sees (stty size), exit 5
#   4. Attach to a container started with stdin+tty (a shell): a command typed, its output
#   5. Attach to a container started with stdin, no tty: stdout and stderr separate
#   6. PortForward to busybox httpd on 127.0.0.1:8081 and 0.0.0.0:8082 in the pod (one
#      request, two ports), the port frames of each channel
#   7. PortForward of 1 MiB: every byte arrives (sha256 against the file in the pod)
#   8. PortForward to a port nobody listens on: the error channel says so
#   9. cvm: the steering (BPF sk_lookup link) is held by the pod's shim while the pod runs and
#      nothing of ours is left after StopPodSandbox/RemovePodSandbox
# Results compared runc vs cvm; timings as NOTE lines. Root only; never skips.
set -u
cd "$(dirname "$0")/../.."
source test/e2e/lib-shim.sh
source test/e2e/lib-net.sh
source test/e2e/lib-cri.sh
# websocket first: no containerd for a run that cannot stream
"$CRI_PY" -c 'import websocket' 2>/dev/null || { fail cri-stream-prereq "python3-websocket missing (make setup)"; exit 1; }
cri_tier_start cri-stream || exit 1
q() { cri rpc "$@" 2>/dev/null; }
# the stream server listens on 127.0.0.1 of containerd's netns (lib-net.sh's): connect from there
st() { ${CTD_NETNS:+nsenter --net=/run/netns/$CTD_NETNS} "$CRI_PY" test/drivers/cri_stream.py -a "unix://$CTD_SOCK" -t "${ST_TIMEOUT:-30}" "$@"; }
# j JSON PY_EXPR: a value out of cri_stream.py's JSON (d = the object)
j() { "$CRI_PY" -c 'import json,sys; d=json.loads(sys.argv[1] or "{}"); v=eval(sys.argv[2]); print(v if isinstance(v,str) else json.dumps(v))' "$1" "$2" 2>/dev/null; }
# expect TAG KEY CASE EXPECTED DETAIL: R[TAG.KEY] == EXPECTED passes CASE (and marks KEY ok)
expect() {
  if [[ ${R[$1.$2]-} == "$4" ]]; then R[$1.$2.ok]=yes; pass "$1-$3"; else fail "$1-$3" "${R[$1.$2]-} ${5:-}"; fi
}
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

declare -A R
NSOPT='{"network":"POD","pid":"CONTAINER","ipc":"POD"}'
pod_config() { # $1 tag
  local f=$WORK/pod-$1.json
  mkdir -p "$WORK/logs/$1"
  cat > "$f" <<JSON
{"metadata": {"name": "ps-$1", "uid": "uid-s-$1-$$", "namespace": "cvmtest", "attempt": 0},
 "hostname": "ps-$1", "log_directory": "$WORK/logs/$1",
 "linux": {"cgroup_parent": "", "security_context": {"namespace_options": $NSOPT}}}
JSON
  echo "$f"
}
ctr_config() { # $1 tag, $2 name, $3 shell command, $4 "stdin" / "stdin tty" / ""
  local f=$WORK/ctr-$1-$2.json si=false tt=false
  [[ $4 == *stdin* ]] && si=true
  [[ $4 == *tty* ]] && tt=true
  cat > "$f" <<JSON
{"metadata": {"name": "$2", "attempt": 0}, "image": {"image": "$IMG"},
 "command": ["sh", "-c", "$3"], "log_path": "$2/0.log", "stdin": $si, "stdin_once": false, "tty": $tt,
 "linux": {"security_context": {"namespace_options": $NSOPT}}}
JSON
  echo "$f"
}
wait_state() { # $1 container, $2 state (10 s)
  for _ in $(seq 1 50); do
    [[ $(q ContainerStatus "{\"container_id\":\"$1\"}" -q status.state) == "$2" ]] && return 0
    sleep 0.2
  done
  return 1
}
start_ctr() { # $1 tag, $2 pod, $3 pod config, $4 name, $5 command, $6 stdio: prints the id
  local cc id
  cc=$(ctr_config "$1" "$4" "$5" "${6:-}")
  id=$(cri create "$2" "$cc" "$3" 2>>"$WORK/err") && cri rpc StartContainer "{\"container_id\":\"$id\"}" >/dev/null 2>>"$WORK/err" &&
    wait_state "$id" CONTAINER_RUNNING && echo "$id"
}
# the shim of a cvm pod: the containerd-shim-cvm-v1 daemon serving it
pod_shim_pid() { shim_footprint_ours "$CTD_SOCK" k8s.io "$1" | awk '$2 ~ /containerd-shim-cvm-v1$/ {print $1; exit}'; }
bpf_links() { ls -l "/proc/$1/fd" 2>/dev/null | grep -c 'anon_inode:bpf_link'; }
# the shim of pid $1 is gone: no such process, a zombie, or the pid reused by something else
shim_gone() {
  [[ ! -d /proc/$1 ]] || [[ $(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) == Z ]] ||
    [[ $(readlink "/proc/$1/exe" 2>/dev/null) != */containerd-shim-cvm-v1 ]]
}

SRV_CMD='mkdir -p /www && echo pf-ok-$(hostname) > /www/index.html && head -c 1048576 /dev/urandom > /www/big && httpd -p 127.0.0.1:8081 -h /www && httpd -p 0.0.0.0:8082 -h /www && exec sleep 100000'
PIPE_CMD='while read l; do echo out:$l; echo err:$l >&2; done'

run_handler() { # $1 = runtime handler ("" = runc), $2 = tag
  local h=$1 t=$2 pc pod srv tty pipe out t0 big spid
  pc=$(pod_config "$t")
  pod=$(cri runp "$pc" "$h" 2>"$WORK/err") || { fail "$t-run-pod-sandbox" "$(tr '\n' '|' < "$WORK/err") containerd: $(ctd_err)"; return 1; }
  srv=$(start_ctr "$t" "$pod" "$pc" srv "$SRV_CMD") || { fail "$t-start-srv" "$(tr '\n' '|' < "$WORK/err") $(ctd_err)"; return 1; }
  tty=$(start_ctr "$t" "$pod" "$pc" tty 'exec sh' "stdin tty") || fail "$t-start-tty-container" "$(tr '\n' '|' < "$WORK/err") $(ctd_err)"
  pipe=$(start_ctr "$t" "$pod" "$pc" pipe "$PIPE_CMD" "stdin") || fail "$t-start-stdin-container" "$(tr '\n' '|' < "$WORK/err") $(ctd_err)"
  # all three running at once, in this pod
  local running
  running=$(q ListContainers "{\"filter\":{\"pod_sandbox_id\":\"$pod\",\"state\":{\"state\":\"CONTAINER_RUNNING\"}}}" -q containers | "$CRI_PY" -c 'import json,sys; print(" ".join(sorted(c["id"] for c in json.load(sys.stdin))))' 2>/dev/null)
  [[ -n $srv && -n $tty && -n $pipe && $running == "$(printf '%s\n' "$srv" "$tty" "$pipe" | sort | tr '\n' ' ' | sed 's/ $//')" ]] &&
    pass "$t-pod-with-three-containers" || fail "$t-pod-with-three-containers" "srv='$srv' tty='$tty' pipe='$pipe'; running in the pod: '$running'"

  # 1. Exec without a tty: separate stdout/stderr, exit status from the error channel
  t0=$(date +%s%N)
  out=$(st exec "$srv" -- sh -c 'echo out1; echo err1 >&2; exit 3')
  R[$t.exec_ms]=$(ms_since "$t0")
  R[$t.exec3]=$(j "$out" '[d.get("stdout"), d.get("stderr"), d.get("exit_code"), (d.get("status") or {}).get("reason"), d.get("error")]')
  expect "$t" exec3 exec-stdout-stderr-exit3 '["out1\n", "err1\n", 3, "NonZeroExitCode", null]' "$out"
  out=$(st exec "$srv" -- true)
  R[$t.exec0]=$(j "$out" '[d.get("stdout"), d.get("stderr"), d.get("exit_code"), (d.get("status") or {}).get("status")]')
  expect "$t" exec0 exec-exit0-success '["", "", 0, "Success"]' "$out"

  # 2. Exec with stdin (v4 cannot close stdin: the command reads one line)
  out=$(st exec "$srv" --stdin $'hello stdin\n' -- sh -c 'read l; echo "got:$l"')
  R[$t.exec_stdin]=$(j "$out" '[d.get("stdout"), d.get("exit_code")]')
  expect "$t" exec_stdin exec-stdin '["got:hello stdin\n", 0]' "$out"

  # 3. Exec with a tty and a resize: the process sees 40 rows 120 columns, exits 5
  out=$(st exec "$srv" --tty --resize 120x40 --stdin $'\n' --until 'size:40 120' -- \
        sh -c 'while read l; do s=$(stty size); echo "size:$s"; [ "$s" = "40 120" ] && exit 5; done')
  R[$t.exec_tty]=$(j "$out" '["size:40 120\r\n" in d.get("stdout",""), d.get("stderr"), d.get("exit_code")]')
  expect "$t" exec_tty exec-tty-resize-exit5 '[true, "", 5]' "$out"

  # 4. Attach to the stdin+tty shell: a typed command runs, its output comes back (tty: \r\n)
  if [[ -n $tty ]]; then
    out=$(st attach "$tty" --tty --stdin $'echo at-$((6*7))\n' --until $'at-42\r\n')
    R[$t.attach_tty]=$(j "$out" '[d.get("detached"), d.get("stderr"), d.get("error")]')
    expect "$t" attach_tty attach-tty '[true, "", null]' "$out"
  fi
  # 5. Attach without a tty: the container's stdout and stderr arrive apart
  if [[ -n $pipe ]]; then
    out=$(st attach "$pipe" --stdin $'x1\n' --until $'out:x1\n' --until-err $'err:x1\n')
    R[$t.attach_pipe]=$(j "$out" '[d.get("detached"), d.get("stdout"), d.get("stderr"), d.get("error")]')
    expect "$t" attach_pipe attach-stdout-stderr '[true, "out:x1\n", "err:x1\n", null]' "$out"
  fi

  # 6. PortForward to 127.0.0.1:8081 and 0.0.0.0:8082 in the pod, one request
  out=$(st portforward "$pod" 8081,8082 --send $'GET /index.html HTTP/1.0\r\n\r\n')
  R[$t.pf]=$(j "$out" '[[p, "200 OK" in v["data"], v["data"].endswith("pf-ok-ps-'"$t"'\n"), v["port_frames"], v["error"]] for p, v in sorted(d.get("ports", {}).items())]')
  expect "$t" pf port-forward-loopback-and-any "[[\"8081\", true, true, [8081, 8081], \"\"], [\"8082\", true, true, [8082, 8082], \"\"]]" "$out"

  # 7. 1 MiB through the port forward, whole
  big=$(cri exec "$srv" -- sha256sum /www/big 2>&1 | cut -d' ' -f1)
  t0=$(date +%s%N)
  out=$(ST_TIMEOUT=120 st portforward "$pod" 8081 --send $'GET /big HTTP/1.0\r\n\r\n')
  R[$t.pf_big_ms]=$(ms_since "$t0")
  R[$t.pf_big]=$(j "$out" '[d["ports"]["8081"]["body_len"], d["ports"]["8081"]["body_sha256"] == "'"$big"'"]')
  expect "$t" pf_big port-forward-1MiB '[1048576, true]' "(sha in pod $big) $(cut -c1-300 <<< "$out")"
  note "$t: exec round trip (streaming, exit 3) ${R[$t.exec_ms]} ms; 1 MiB port-forward ${R[$t.pf_big_ms]} ms (with the CRI call and the websocket; containerd waits up to 1 s for the other direction once one ends)"

  # 8. a port nobody listens on: the error channel reports it, no data
  out=$(st portforward "$pod" 9 --send $'x\n')
  R[$t.pf_closed]=$(j "$out" '[d["ports"]["9"]["data_len"], d["ports"]["9"]["error"] != ""]')
  note "$t: port-forward to a closed port: error channel '...$(j "$out" 'd["ports"]["9"]["error"][-110:]')'"
  expect "$t" pf_closed port-forward-closed-port-error '[0, true]' "$out"

  # 9. the steering lives with the pod's shim (cvm)
  if [[ $t == cvm ]]; then
    # one netns-type BPF link in the shim, on the pod's netns (QEMU's, the sandbox task's)
    local qpid link_ns pod_ns
    spid=$(pod_shim_pid "$pod")
    qpid=$(q PodSandboxStatus "{\"pod_sandbox_id\":\"$pod\",\"verbose\":true}" -q info.info | "$CRI_PY" -c 'import json,sys; print(json.loads(sys.stdin.read()).get("pid", ""))' 2>/dev/null)
    pod_ns=$(stat -L -c %i "/proc/${qpid:-0}/ns/net" 2>/dev/null)
    link_ns=$(for f in /proc/${spid:-0}/fd/*; do [[ $(readlink "$f") == anon_inode:bpf_link ]] && awk '/^netns_ino:/ {print $2}' "/proc/$spid/fdinfo/${f##*/}"; done 2>/dev/null | tr '\n' ' ')
    [[ -n $spid && $(bpf_links "$spid") -eq 1 && -n $pod_ns && $link_ns == "$pod_ns " ]] && pass "$t-steering-attached-to-pod-netns" ||
      fail "$t-steering-attached-to-pod-netns" "shim '${spid:-none}' holds $(bpf_links "${spid:-0}") bpf links on netns '$link_ns', pod netns '$pod_ns' (qemu ${qpid:-?})"
    note "$t: the shim's sk_lookup link is on netns inode $link_ns(the pod's: $pod_ns)"
  fi
  cri -t 60 rpc StopPodSandbox "{\"pod_sandbox_id\":\"$pod\"}" >/dev/null 2>"$WORK/err" || fail "$t-stop-pod" "$(tr '\n' '|' < "$WORK/err")"
  for c in $srv $tty $pipe; do cri rpc RemoveContainer "{\"container_id\":\"$c\"}" >/dev/null 2>&1; done
  cri -t 60 rpc RemovePodSandbox "{\"pod_sandbox_id\":\"$pod\"}" >/dev/null 2>"$WORK/err" || fail "$t-remove-pod" "$(tr '\n' '|' < "$WORK/err")"
  if [[ $t == cvm ]]; then
    local left=""
    for _ in $(seq 1 25); do left=$(shim_footprint_ours "$CTD_SOCK" k8s.io "$pod"); [[ -z $left ]] && break; sleep 0.2; done
    [[ -z $left ]] && pass "$t-nothing-left" || fail "$t-nothing-left" "$(echo "$left" | tr '\n' '|')"
    [[ -n $spid ]] && shim_gone "$spid" && pass "$t-steering-gone-with-shim" ||
      fail "$t-steering-gone-with-shim" "shim '${spid:-none}' still runs ($(cat "/proc/${spid:-0}/stat" 2>/dev/null | cut -c1-60)), $(bpf_links "${spid:-0}") bpf links"
  fi
}

T0=$(date +%s%N)
run_handler "" runc
T1=$(date +%s%N)
run_handler cvm cvm
note "tier runtime: runc part $(( (T1 - T0) / 1000000 )) ms, cvm part $(ms_since "$T1") ms"

for k in exec3 exec0 exec_stdin exec_tty attach_tty attach_pipe pf pf_big pf_closed; do
  v_runc=${R[runc.$k]-unset} v_cvm=${R[cvm.$k]-unset}
  if [[ ${R[runc.$k.ok]-} != yes ]]; then fail "cvm-same-as-runc-$k" "runc failed this case itself: '$v_runc'"; continue; fi
  [[ $k == pf ]] && v_runc=${v_runc//ps-runc/ps-X} v_cvm=${v_cvm//ps-cvm/ps-X}
  if [[ $v_cvm == "$v_runc" ]]; then pass "cvm-same-as-runc-$k"
  else fail "cvm-same-as-runc-$k" "runc='$v_runc' cvm='$v_cvm'"; fi
done
# no case here makes containerd log an error (the closed port's failure is the stream's own)
ctd_errors_check containerd-no-errors
exit $FAILED
