#!/usr/bin/env bash
# Product benchmark: cvm against runc on the same private containerd in the same run.
#   cold start   ctr run --rm IMG id true                      (N runs each, median)
#   exec         ctr task exec into a running container: true   (N runs each, median)
#   stdout       ctr task exec ID dd if=/dev/zero bs=64k count=3200 | wc -c    (MiB/s)
#   memory       host RSS/PSS of shim + QEMU + virtiofsd + cvm-vsockd for one idle sandbox
# Absolute numbers under TCG say little about KVM hosts: read the ratios.
set -u
cd "$(dirname "$0")/../.."
source test/e2e/lib-shim.sh
N=${N:-5}
shim_env_check || exit 1
trap 'ctr task kill -s KILL bench-idle >/dev/null 2>&1; ctr task kill -s KILL bench-rx >/dev/null 2>&1; sleep 1; ctr task rm bench-idle bench-rx >/dev/null 2>&1; ctr c rm bench-idle bench-rx >/dev/null 2>&1; ctd_stop' EXIT
ctd_start >/dev/null || exit 1
shim_import_image || { echo "bench: image import failed" >&2; exit 1; }
shim_write_config "$CTD_DIR/cvm.json"
CVM=(--runtime "$RT" --runtime-config-path "$CTD_DIR/cvm.json")
RUNC=(--runtime io.containerd.runc.v2)

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
now() { date +%s.%N; }
secs() { echo "$2 - $1" | bc; }

cold() { # runtime-args...
  for i in $(seq 1 "$N"); do
    t0=$(now); ctr run --rm "$@" "$IMG" "bench-cold-$i" true >/dev/null 2>&1 || echo "run failed" >&2; t1=$(now)
    secs "$t0" "$t1"
  done | median
}

exec_rt() { # id
  for i in $(seq 1 "$N"); do
    t0=$(now); ctr task exec --exec-id "e$i" "$1" true >/dev/null 2>&1 || echo "exec failed" >&2; t1=$(now)
    secs "$t0" "$t1"
  done | median
}

# 200 MiB in 64 KiB writes through an exec into a running container (no boot in the figure).
stdout_mibs() { # container id
  local t0 t1 n
  t0=$(now); n=$(ctr task exec --exec-id out "$1" dd if=/dev/zero bs=65536 count=3200 2>/dev/null | wc -c); t1=$(now)
  [[ $n -eq 209715200 ]] || echo "stdout: got $n bytes" >&2
  echo "scale=1; 200 / ($t1 - $t0)" | bc
}

accel=$("$BUILD/bin/cvm-check" 2>&1 | grep -m1 -E "^[a-z]+ +accel: " | sed -E "s/^[a-z]+ +accel: //")
echo "# ctr-bench: N=$N, $(nproc) cores, accel $accel"
c_cvm=$(cold "${CVM[@]}"); c_runc=$(cold "${RUNC[@]}")
printf '%-28s %10s %10s %8s\n' metric cvm runc ratio
printf '%-28s %9.2fs %9.2fs %7.1fx\n' "cold start (run --rm true)" "$c_cvm" "$c_runc" "$(echo "$c_cvm / $c_runc" | bc -l)"

ctr run -d "${CVM[@]}" "$IMG" bench-idle sleep 100000 >/dev/null
ctr run -d "${RUNC[@]}" "$IMG" bench-rx sleep 100000 >/dev/null
sleep 1
e_cvm=$(exec_rt bench-idle); e_runc=$(exec_rt bench-rx)
printf '%-28s %9.3fs %9.3fs %7.1fx\n' "exec round trip (true)" "$e_cvm" "$e_runc" "$(echo "$e_cvm / $e_runc" | bc -l)"

s_cvm=$(stdout_mibs bench-idle); s_runc=$(stdout_mibs bench-rx)
printf '%-28s %5s MiB/s %4s MiB/s %6.2fx\n' "stdout 200 MiB (exec, 64k)" "$s_cvm" "$s_runc" "$(echo "$s_cvm / $s_runc" | bc -l)"

# Memory of the idle sandbox: the shim daemon and every process below it.
qpid=$(task_field bench-idle 2)
shim=$(ps -o ppid= -p "$qpid" | tr -d ' ')
echo
echo "idle sandbox host memory (kB):"
printf '  %-14s %8s %8s\n' process RSS PSS
tot_rss=0 tot_pss=0
for p in "$shim" $(pgrep -P "$shim") $(for c in $(pgrep -P "$shim"); do pgrep -P "$c"; done); do
  [[ -r /proc/$p/smaps_rollup ]] || continue
  name=$(cat /proc/"$p"/comm)
  rss=$(awk '/^Rss:/ {print $2}' /proc/"$p"/smaps_rollup); pss=$(awk '/^Pss:/ {print $2}' /proc/"$p"/smaps_rollup)
  printf '  %-14s %8d %8d\n' "$name" "$rss" "$pss"
  tot_rss=$((tot_rss + rss)); tot_pss=$((tot_pss + pss))
done
printf '  %-14s %8d %8d\n' total "$tot_rss" "$tot_pss"
rshim=$(ps -o ppid= -p "$(task_field bench-rx 2)" | tr -d ' ')
printf '  %-14s %8d %8d   (runc shim, for comparison)\n' "runc-shim" "$(awk '/^Rss:/ {print $2}' /proc/"$rshim"/smaps_rollup)" "$(awk '/^Pss:/ {print $2}' /proc/"$rshim"/smaps_rollup)"
