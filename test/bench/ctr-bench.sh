#!/usr/bin/env bash
# Product benchmark of a running sandbox: cvm against runc on the same private containerd in
# the same run; each figure a median over N runs with min and max.
#   exec         ctr task exec into a running container: true (round trip)
#   stdout       ctr task exec ID dd if=/dev/zero bs=64k count=3200 | wc -c    (MiB/s)
#   stdin        head -c 200M /dev/zero | ctr task exec ID dd of=/dev/null bs=64k iflag=fullblock
#                (MiB/s; all 3200 records checked; ctr 1.6 always attaches its stdin). Not `wc -c`:
#                busybox wc's small reads cost 10x under TCG (19 vs 180 MiB/s, same path)
# Starting a sandbox (cold start, boot phases) and its memory: test/bench/boot-bench.sh.
# Output: a table, and JSON with the commit measured in $BUILD/bench/ctr-bench.json.
# Absolute numbers under TCG say little about KVM hosts: read the ratios.
# A failed exec or a wrong byte count aborts its figure (printed "aborted", null in the JSON,
# exit 1): no median is made of the samples that worked. BENCH_BREAK_STDOUT=1 expects one
# byte too many in the stdout figure (to see that happen).
set -u
cd "$(dirname "$0")/../.."
source test/e2e/lib-shim.sh
source test/bench/lib-bench.bash
N=${N:-5}
JSON=${BENCH_JSON:-$BUILD/bench/ctr-bench.json}
shim_env_check || exit 1
trap 'ctr task kill -s KILL bench-idle >/dev/null 2>&1; ctr task kill -s KILL bench-rx >/dev/null 2>&1; sleep 1; ctr task rm bench-idle bench-rx >/dev/null 2>&1; ctr c rm bench-idle bench-rx >/dev/null 2>&1; ctd_stop' EXIT
ctd_start >/dev/null || exit 1
shim_import_image || { echo "bench: image import failed" >&2; exit 1; }
shim_write_config "$CTD_DIR/cvm.json"
CVM=(--runtime "$RT" --runtime-config-path "$CTD_DIR/cvm.json")
RUNC=(--runtime io.containerd.runc.v2)
MIB=200

exec_rt() { # id
  local i t0 t1 v
  for i in $(seq 1 "$N"); do
    t0=$(bench_now)
    if ctr task exec --exec-id "e$i" "$1" true >/dev/null 2>"$CTD_DIR/exec.err"; then
      t1=$(bench_now); v=$(bench_secs "$t0" "$t1")
    else
      v=$(bench_bad "exec round trip, $1 sample $i: ctr task exec failed: $(tr '\n' ' ' < "$CTD_DIR/exec.err")")
    fi
    echo "$v"; bench_sampled "$v" || break
  done | bench_stats
}

# 200 MiB in 64 KiB writes through an exec into a running container (no boot in the figure).
stdout_mibs() { # container id
  local i t0 t1 n want
  for i in $(seq 1 "$N"); do
    t0=$(bench_now); n=$(ctr task exec --exec-id "out$i" "$1" dd if=/dev/zero bs=65536 count=$((MIB * 16)) 2>/dev/null | wc -c); t1=$(bench_now)
    want=$((MIB << 20)); [[ -n ${BENCH_BREAK_STDOUT:-} ]] && want=$((want + 1))
    [[ $n -eq $want ]] || { bench_bad "stdout, $1 sample $i: got $n bytes, want $want"; break; }
    echo "scale=1; $MIB / ($t1 - $t0)" | bc
  done | bench_stats
}

stdin_mibs() { # container id
  local i t0 t1 n
  for i in $(seq 1 "$N"); do
    t0=$(bench_now); n=$(head -c $((MIB << 20)) /dev/zero | ctr task exec --exec-id "in$i" "$1" sh -c 'dd of=/dev/null bs=65536 iflag=fullblock 2>&1' 2>/dev/null | sed -n 's/^\([0-9]*+[0-9]*\) records in.*/\1/p'); t1=$(bench_now)
    [[ $n == "$((MIB * 16))+0" ]] || { bench_bad "stdin, $1 sample $i: the container read '$n' records of 64 KiB, want $((MIB * 16))+0"; break; }
    echo "scale=1; $MIB / ($t1 - $t0)" | bc
  done | bench_stats
}

row() { # label, unit, "cvm stats", "runc stats", json key
  local cm cmin cmax rm rmin rmax
  if bench_aborted "$3" "$4"; then
    printf '%-28s aborted: cvm [%s] runc [%s]\n' "$1" "$3" "$4"
    bench_json_put "$5.cvm" "$3" "${2# }"; bench_json_put "$5.runc" "$4" "${2# }"
    return
  fi
  read -r cm cmin cmax <<< "$(awk '{ printf "%.3g %.3g %.3g", $1, $2, $3 }' <<< "$3")"
  read -r rm rmin rmax <<< "$(awk '{ printf "%.3g %.3g %.3g", $1, $2, $3 }' <<< "$4")"
  printf '%-28s %9s %-15s %9s %-15s %7.2fx\n' "$1" "$cm$2" "[$cmin $cmax]" "$rm$2" "[$rmin $rmax]" "$(echo "$cm / $rm" | bc -l)"
  bench_json_put "$5.cvm" "$3" "${2# }"; bench_json_put "$5.runc" "$4" "${2# }"
}

accel=$("$BUILD/bin/cvm-check" 2>&1 | grep -m1 -E "^[a-z]+ +accel: " | sed -E "s/^[a-z]+ +accel: //")
echo "# ctr-bench: N=$N, $(nproc) cores, accel $accel, commit $(bench_commit)"
ctr run -d "${CVM[@]}" "$IMG" bench-idle sleep 100000 >/dev/null
ctr run -d "${RUNC[@]}" "$IMG" bench-rx sleep 100000 >/dev/null
sleep 1
printf '%-28s %9s %-15s %9s %-15s %8s\n' metric cvm "[min max]" runc "[min max]" cvm/runc
row "exec round trip (true)" s "$(exec_rt bench-idle)" "$(exec_rt bench-rx)" exec_s
row "stdout $MIB MiB (exec, 64k)" " MiB/s" "$(stdout_mibs bench-idle)" "$(stdout_mibs bench-rx)" stdout_mibs
row "stdin $MIB MiB (exec)" " MiB/s" "$(stdin_mibs bench-idle)" "$(stdin_mibs bench-rx)" stdin_mibs
bench_json_put_num n "$N"
bench_json_put_raw accel "\"$accel\""
bench_json_write "$JSON" ctr-bench
echo "JSON: $JSON"
bench_end
