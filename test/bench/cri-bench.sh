#!/usr/bin/env bash
# Kubernetes-path benchmark: containerd 1.6.20's CRI plugin driven as kubelet drives it
# (test/drivers/cri_client.py, lib-cri.sh), runtime handler cvm against runc in the same run:
#   pod start    RunPodSandbox + CreateContainer + StartContainer of the first container
#                (sleep): the sum of the three RPCs' own durations (cri_client.py -T, without
#                Python's start-up), N pods each
#   pod memory   PSS (kB) of every host process of the pod once its container runs: the
#                pod's shim and all its descendants (cvm: shim, QEMU, virtiofsd and its
#                worker, cvm-vsockd; runc: shim, pause, the container), /proc/PID/smaps_rollup
#   pod idle CPU the same processes' utime+stime over 5 s with the container asleep (millicores)
# median / min / max of N (default 5). Root only (a private containerd, its own netns).
# Absolute numbers under TCG say little about KVM hosts: read the ratios.
set -u
cd "$(dirname "$0")/../.."
source test/e2e/lib-shim.sh
source test/e2e/lib-net.sh
source test/e2e/lib-cri.sh
N=${N:-5}
WORK=
trap cri_tier_cleanup EXIT
[[ $(id -u) -eq 0 ]] || { echo "cri-bench: must run as root" >&2; exit 1; }
shim_env_check >/dev/null || { echo "cri-bench: build first (make all)" >&2; exit 1; }
net_setup >/dev/null || exit 1
WORK=$(mktemp -d /tmp/cvm-crib.XXXXXX)
shim_write_config "$WORK/cvm.json"
cri_ctd_start "$WORK/cvm.json" >/dev/null || { echo "cri-bench: containerd (CRI) did not start" >&2; exit 1; }
cri_import_images || { echo "cri-bench: image import failed" >&2; exit 1; }

stats() { sort -n | awk '{a[NR]=$1} END {printf "%s %s %s", a[int((NR+1)/2)], a[1], a[NR]}'; }

# The shim serving pod $1 (containerd starts it with -id <pod id> -address <our socket>).
shim_of() {
  ps -eo pid=,args= | awk -v id="$1" -v sock="$CTD_SOCK" '
    $2 ~ /containerd-shim-(cvm-v1|runc-v2)$/ { has_id = has_addr = 0
      for (i = 3; i < NF; i++) { if ($i == "-id" && $(i+1) == id) has_id = 1; if ($i == "-address" && $(i+1) == sock) has_addr = 1 }
      if (has_id && has_addr) print $1 }' | head -1
}
tree_of() { # pid and every descendant
  local p=$1 c
  echo "$p"
  for c in $(ps -eo pid=,ppid= | awk -v p="$p" '$2 == p {print $1}'); do tree_of "$c"; done
}
pss_of_pod() { # $1 pod id: "total_kB name:kB name:kB ..."
  local shim p tot=0 parts="" v
  shim=$(shim_of "$1")
  [[ -n $shim ]] || { echo "0 no-shim"; return; }
  for p in $(tree_of "$shim"); do
    v=$(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null) || continue
    [[ -n $v ]] || continue
    tot=$((tot + v)); parts+=" $(cat "/proc/$p/comm" 2>/dev/null):$v"
  done
  echo "$tot$parts"
}

cpu_ticks_of_pod() { # $1 pod id: utime+stime (clock ticks) of its processes
  local p tot=0 v
  for p in $(tree_of "$(shim_of "$1")"); do
    v=$(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null) && tot=$((tot + ${v:-0}))
  done
  echo "$tot"
}

pod_json() { bench_pod_json "$1" "$2" cvmbench b; }
bench_ctr_json "$WORK/ctr.json"

declare -A START MEM CPU DETAIL
HZ=$(getconf CLK_TCK)
bench() { # $1 handler ("" = runc), $2 tag
  local h=$1 t=$2 i pc pod c m c0 c1
  START[$t]="" MEM[$t]="" CPU[$t]=""
  for i in $(seq 1 "$N"); do
    pc=$(pod_json "$t" "$i")
    pod=$(cri -T runp "$pc" "$h" 2>"$WORK/t1") && c=$(cri -T create "$pod" "$WORK/ctr.json" "$pc" 2>"$WORK/t2") &&
      cri -T rpc StartContainer "{\"container_id\":\"$c\"}" >/dev/null 2>"$WORK/t3" ||
      { echo "cri-bench: $t pod $i failed to start: $(cat "$WORK"/t[123] | tr '\n' ' ')" >&2; return 1; }
    # three calls, three elapsed_ms lines: anything else is not the figure asked for
    [[ $(grep -c '^elapsed_ms: ' "$WORK"/t[123] | awk -F: '{s += $2} END {print s}') -eq 3 ]] ||
      { echo "cri-bench: $t pod $i: not three elapsed_ms lines in the CRI calls' output (figures aborted)" >&2; return 1; }
    START[$t]+=" $(sed -n 's/^elapsed_ms: //p' "$WORK"/t[123] | awk '{s += $1} END {print s}')"
    sleep 1   # let the container's start settle before reading memory
    m=$(pss_of_pod "$pod")
    [[ $m != *no-shim* && ${m%% *} -gt 0 ]] || { echo "cri-bench: $t pod $i: no shim process to measure ($m; figures aborted)" >&2; return 1; }
    MEM[$t]+=" ${m%% *}"
    [[ $i -eq 1 ]] && DETAIL[$t]=${m#* }
    c0=$(cpu_ticks_of_pod "$pod"); sleep 5; c1=$(cpu_ticks_of_pod "$pod")
    CPU[$t]+=" $(( (c1 - c0) * 1000 / HZ / 5 ))"
    cri -t 60 rpc StopPodSandbox "{\"pod_sandbox_id\":\"$pod\"}" >/dev/null 2>&1
    cri -t 60 rpc RemovePodSandbox "{\"pod_sandbox_id\":\"$pod\"}" >/dev/null 2>&1
  done
}

accel=$("$BUILD/bin/cvm-check" 2>&1 | grep -m1 -E "^[a-z]+ +accel: " | sed -E "s/^[a-z]+ +accel: //")
echo "# cri-bench: N=$N pods per runtime, $(nproc) cores, accel $accel, containerd $(containerd --version | awk '{print $3}') CRI"
bench "" runc || exit 1
bench cvm cvm || exit 1
read -r s_cvm_med s_cvm_min s_cvm_max <<< "$(tr ' ' '\n' <<< "${START[cvm]}" | grep . | stats)"
read -r s_runc_med s_runc_min s_runc_max <<< "$(tr ' ' '\n' <<< "${START[runc]}" | grep . | stats)"
read -r m_cvm_med m_cvm_min m_cvm_max <<< "$(tr ' ' '\n' <<< "${MEM[cvm]}" | grep . | stats)"
read -r m_runc_med m_runc_min m_runc_max <<< "$(tr ' ' '\n' <<< "${MEM[runc]}" | grep . | stats)"
printf '%-36s %22s %22s %8s\n' metric "cvm med (min-max)" "runc med (min-max)" ratio
printf '%-36s %8s ms (%s-%s) %8s ms (%s-%s) %7.1fx\n' "pod start (RunPodSandbox+1st ctr)" \
  "$s_cvm_med" "$s_cvm_min" "$s_cvm_max" "$s_runc_med" "$s_runc_min" "$s_runc_max" "$(echo "$s_cvm_med / $s_runc_med" | bc -l)"
printf '%-36s %8s kB (%s-%s) %8s kB (%s-%s) %7.1fx\n' "pod host memory (PSS, all processes)" \
  "$m_cvm_med" "$m_cvm_min" "$m_cvm_max" "$m_runc_med" "$m_runc_min" "$m_runc_max" "$(echo "$m_cvm_med / $m_runc_med" | bc -l)"
read -r c_cvm_med c_cvm_min c_cvm_max <<< "$(tr ' ' '\n' <<< "${CPU[cvm]}" | grep . | stats)"
read -r c_runc_med c_runc_min c_runc_max <<< "$(tr ' ' '\n' <<< "${CPU[runc]}" | grep . | stats)"
printf '%-36s %8s m  (%s-%s) %8s m  (%s-%s)\n' "idle pod CPU (millicores, 5 s)" \
  "$c_cvm_med" "$c_cvm_min" "$c_cvm_max" "$c_runc_med" "$c_runc_min" "$c_runc_max"
echo "pod 1 processes (comm:PSS kB): cvm: ${DETAIL[cvm]}"
echo "                                runc: ${DETAIL[runc]}"
