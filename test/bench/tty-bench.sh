#!/usr/bin/env bash
# Benchmark: an exec that prints 4 MiB of text (65536 lines of 64 bytes), with
# a terminal (ctr task exec -t under script(1)) and without one, cvm against runc on the same
# private containerd in the same run. N runs each (default 3): median, min, max in seconds,
# the rate of the median, and the QEMU CPU time the cvm runs cost (from /proc/<qemu>/stat).
# Absolute numbers under TCG say little about KVM hosts: read the ratios. A run that brings
# the wrong byte count aborts its figure ("aborted", exit 1): never a median of the rest.
set -u
cd "$(dirname "$0")/../.."
source test/e2e/lib-shim.sh
source test/bench/lib-bench.bash
N=${N:-3}
MIB=${MIB:-4}
shim_env_check || exit 1
command -v script >/dev/null || { echo "tty-bench: script(1) is not installed (util-linux)" >&2; exit 1; }
IDS="tb-cvm tb-runc"
trap 'for i in $IDS; do ctr task kill -s KILL $i >/dev/null 2>&1; done; sleep 1; for i in $IDS; do ctr task rm $i >/dev/null 2>&1; ctr c rm $i >/dev/null 2>&1; done; ctd_stop; rm -rf "${CTD_DIR:-/nonexistent}"' EXIT
ctd_start >/dev/null || exit 1
shim_import_image || { echo "tty-bench: image import failed" >&2; exit 1; }
shim_write_config "$CTD_DIR/cvm.json"
ctr run -d --runtime "$RT" --runtime-config-path "$CTD_DIR/cvm.json" "$IMG" tb-cvm sleep 100000 >/dev/null || exit 1
ctr run -d --runtime io.containerd.runc.v2 "$IMG" tb-runc sleep 100000 >/dev/null || exit 1
sleep 1
qpid=$(task_field tb-cvm 2)
[[ -r /proc/$qpid/stat ]] || { echo "tty-bench: no QEMU pid for tb-cvm" >&2; exit 1; }
hz=$(getconf CLK_TCK)
mkfifo "$CTD_DIR/tty-in"

BYTES=$((MIB * 1048576))
LINES=$((BYTES / 64))
# 63 characters and "\n": a line discipline with ONLCR makes each "\r\n".
GEN="yes 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde | head -c $BYTES"
# What arrives: with a tty every "\n" became "\r\n" in the container's pty and "\r\r\n" in
# script's (ctr leaves OPOST on there), the same for both runtimes.
WANT_TTY=$((BYTES + 2 * LINES))
now() { date +%s.%N; }
qcpu() { awk '{print $14 + $15}' "/proc/$qpid/stat"; }

# one run: prints "seconds qemu-cpu-seconds"; $1 = id, $2 = tty|pipe, $3 = exec id
one() {
  local id=$1 mode=$2 eid=$3 t0 t1 c0 c1 n want=$BYTES
  c0=$(qcpu); t0=$(now)
  if [[ $mode == tty ]]; then
    want=$WANT_TTY
    # stdin a FIFO held open: at EOF script would type ^D, and its echo would join the output
    n=$(script -qec "ctr -a $CTD_SOCK task exec -t --exec-id $eid $id sh -c '$GEN'" /dev/null <>"$CTD_DIR/tty-in" | wc -c)
  else
    n=$(ctr task exec --exec-id "$eid" "$id" sh -c "$GEN" | wc -c)
  fi
  t1=$(now); c1=$(qcpu)
  [[ $n -eq $want ]] || { bench_bad "tty-bench: $id $mode: got $n bytes, want $want"; return; }
  echo "$(echo "$t1 - $t0" | bc) $(echo "scale=2; ($c1 - $c0) / $hz" | bc)"
}

# N runs -> "median min max cpu-median" ("nan ..." when a run was bad)
stats() { # $1 = id, $2 = mode
  local i v
  for i in $(seq 1 "$N"); do v=$(one "$1" "$2" "$2$i"); echo "$v"; bench_sampled "$v" || break; done |
    sort -n | awk '$1 == "BAD" {bad = 1} {t[NR]=$1; c[NR]=$2}
                   END {if (bad || NR == 0) {print "nan nan nan nan"; exit}
                        m=int((NR+1)/2); printf "%s %s %s %s\n", t[m], t[1], t[NR], c[m]}'
}

accel=$("$BUILD/bin/cvm-check" 2>&1 | grep -m1 -E "^[a-z]+ +accel: " | sed -E "s/^[a-z]+ +accel: //")
echo "# tty-bench: exec printing $MIB MiB of 64-byte lines, N=$N, $(nproc) cores, accel $accel"
printf '%-22s %-8s %9s %9s %9s %10s %11s\n' case runtime median min max MiB/s qemu-cpu
row() { # $1 = case, $2 = runtime, $3 = "median min max cpu"
  read -r med min max cpu <<<"$3"
  printf '%-22s %-8s %8.2fs %8.2fs %8.2fs %10.2f %10s\n' "$1" "$2" "$med" "$min" "$max" \
    "$(echo "$MIB / $med" | bc -l)" "$([[ $2 == cvm ]] && printf "%.2fs" "$cpu" || echo -)"
}
for mode in tty pipe; do
  label="exec -t (tty)"; [[ $mode == pipe ]] && label="exec (no tty)"
  s_cvm=$(stats tb-cvm $mode); s_runc=$(stats tb-runc $mode)
  bench_aborted "$s_cvm" "$s_runc" && { printf '%-22s aborted: cvm [%s] runc [%s]\n' "$label" "$s_cvm" "$s_runc"; continue; }
  row "$label" cvm "$s_cvm"
  row "$label" runc "$s_runc"
  printf '%-22s %-8s %8.1fx\n' "$label" "cvm/runc" "$(echo "${s_cvm%% *} / ${s_runc%% *}" | bc -l)"
done
bench_end
