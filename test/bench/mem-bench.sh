#!/usr/bin/env bash
# Memory benchmark: what sandboxes cost the host, cvm against runc on the same private
# containerd in the same run. Every figure is PSS (kB, /proc/PID/smaps_rollup) summed over ALL
# host processes of a sandbox: its shim and everything under it (cvm: shim, QEMU, virtiofsd
# and its worker, cvm-vsockd; runc: shim and the container). PSS splits a page shared by k
# processes k ways, so shared libraries and the page cache of the kernel image count once
# across the sandboxes that map them.
#   one idle     N sandboxes one after another, each measured alone SETTLE s after its
#                container (sleep) started (20 s: the shim's idle reclaim, config
#                tcg_idle_reset_s, acts once QEMU has been idle 10 s); median [min max]. The
#                first one's QEMU is split into guest RAM (the memfd), its TCG translation
#                cache (the tcg-jit memfd, or anonymous when tcg_idle_reset_s is 0), the kernel
#                and initrd it mapped, its other anonymous memory (heap, copied-on-write data)
#                and its files (binary, libraries).
#   density      DENSITY idle sandboxes at once, SETTLE s after the last started: the total and
#                the median per sandbox
#   burst        one idle sandbox, then an exec allocates, touches and frees BURST_MIB MiB
#                (dd bs=<BURST_MIB>M count=1: one buffer of that size, filled by read()); the
#                sandbox's PSS sampled every 0.5 s: its peak and how long until it is back
#                within 16 MiB of its idle figure (the guest's free page reporting, the balloon
#                in hypervisor/qemu_argv.c). Also the guest RAM the host still holds: the
#                allocated size of QEMU's memfd (fstat blocks), whoever maps it.
# Targets (issue 21, TCG, 2 cores): one idle <= 48 MiB; DENSITY=10 idle <= 320 MiB in total;
# after the burst, back within 16 MiB of idle in <= 10 s. Cold start and stdout throughput of
# the same tree: boot-bench.sh and ctr-bench.sh (make bench runs all three).
# Output: a table, and JSON with the commit measured in $BUILD/bench/mem-bench.json.
set -u
cd "$(dirname "$0")/../.."
source test/e2e/lib-shim.sh
source test/bench/lib-bench.bash
N=${N:-5}
DENSITY=${DENSITY:-10}
SETTLE=${SETTLE:-20}
BURST_MIB=${BURST_MIB:-200}
JSON=${BENCH_JSON:-$BUILD/bench/mem-bench.json}
ids=()
T=
cleanup() {
  local id
  for id in "${ids[@]}"; do ctr task kill -s KILL "$id" >/dev/null 2>&1; done
  [[ ${#ids[@]} -gt 0 ]] && sleep 1
  for id in "${ids[@]}"; do ctr task rm -f "$id" >/dev/null 2>&1; ctr c rm "$id" >/dev/null 2>&1; done
  ids=()
}
trap 'cleanup; ctd_stop; [[ -n $T ]] && rm -rf "$T"' EXIT
shim_env_check || exit 1
ctd_start >/dev/null || exit 1
shim_use_ctd
shim_import_image || { echo "mem-bench: image import failed" >&2; exit 1; }
shim_write_config "$CTD_DIR/cvm.json"
CVM=(--runtime "$RT" --runtime-config-path "$CTD_DIR/cvm.json")
RUNC=(--runtime io.containerd.runc.v2)
T=$(mktemp -d /tmp/cvm-mem-bench.XXXXXX)

accel=$("$BUILD/bin/cvm-check" 2>&1 | grep -m1 -E "^[a-z]+ +accel: " | sed -E "s/^[a-z]+ +accel: //")
echo "# mem-bench: N=$N, DENSITY=$DENSITY, SETTLE=${SETTLE}s, BURST=${BURST_MIB} MiB, $(nproc) cores, accel $accel, commit $(bench_commit)"

start() { # id, runtime args...
  local id=$1
  shift
  ids+=("$id")
  ctr run -d "$@" "$IMG" "$id" sleep 1000000 >/dev/null 2>"$T/err" || { echo "mem-bench: $id failed: $(cat "$T/err")" >&2; return 1; }
}
stop() { # id
  ctr task kill -s KILL "$1" >/dev/null 2>&1
  for _ in $(seq 1 50); do [[ $(task_field "$1" 3) == STOPPED || -z $(task_field "$1" 3) ]] && break; sleep 0.1; done
  ctr task rm -f "$1" >/dev/null 2>&1; ctr c rm "$1" >/dev/null 2>&1
  local keep=() i
  for i in "${ids[@]}"; do [[ $i == "$1" ]] || keep+=("$i"); done
  ids=("${keep[@]}")
}
shim_of() { ps -o ppid= -p "$(task_field "$1" 2)" 2>/dev/null | tr -d ' '; } # the task pid's parent
pss_of() { # id: the PSS (kB) of its shim's whole process tree; a sandbox that is not there is a
  # failed sample (BAD, which aborts its figure), never a 0 in a median
  local s v; s=$(shim_of "$1")
  [[ -n $s ]] || { bench_bad "mem-bench: $1 has no task or shim"; return; }
  v=$(bench_tree_mem "$s" 2>/dev/null | cut -d' ' -f1) # a process may exit while it is read
  [[ $v =~ ^[0-9]+$ && $v -gt 0 ]] && echo "$v" || bench_bad "mem-bench: $1: no PSS read ($v)"
}
memfd_kb() { # qemu pid: allocated kB of its guest RAM memfd (what the host holds, all mappers)
  local f
  for f in /proc/"$1"/fd/*; do
    [[ $(readlink "$f") == /memfd:mem* ]] && { echo $(( $(stat -L -c '%b * %B' "$f") / 1024 )); return; }
  done
  echo 0
}
# QEMU's PSS by kind of mapping: "guest tcg boot anon own" (kB); tcg = the translation cache
# when it is a memfd (-accel tcg,split-wx=on), else it is the 16 MiB anonymous mapping counted
# in anon; boot = the kernel and initrd files; own = its binary and libraries (their pages
# copied on write, relocated data, included).
qemu_split() { # qemu pid
  awk '/^[0-9a-f]+-[0-9a-f]+ / {
         name = ""; for (i = 6; i <= NF; i++) name = name (i > 6 ? " " : "") $i
         if (name ~ /^\/memfd:tcg-jit/) k = "tcg"
         else if (name ~ /^\/memfd:/) k = "guest"
         else if (name ~ /(vmlinux|initrd[^\/]*\.img)$/) k = "boot"
         else if (name == "" || name ~ /^\[/) k = "anon"
         else k = "own" }
       /^Pss:/ { s[k] += $2 }
       END { printf "%d %d %d %d %d\n", s["guest"], s["tcg"], s["boot"], s["anon"], s["own"] }' /proc/"$1"/smaps
}
mib() { echo $(( ($1 + 512) / 1024 )); }

# --- one idle sandbox, N times, alone ---
: > "$T/one.cvm"; : > "$T/one.runc"
for i in $(seq 1 "$N"); do
  start "mb-one-$i" "${CVM[@]}" || { bench_bad "mem-bench: idle cvm $i did not start" >> "$T/one.cvm"; continue; }
  start "mb-rone-$i" "${RUNC[@]}" || { bench_bad "mem-bench: idle runc $i did not start" >> "$T/one.runc"; continue; }
  sleep "$SETTLE"
  pss_of "mb-one-$i" >> "$T/one.cvm"; pss_of "mb-rone-$i" >> "$T/one.runc"
  if [[ $i -eq 1 ]]; then
    q=$(task_field mb-one-1 2); s=$(shim_of mb-one-1)
    echo "one idle sandbox, its host processes (PSS kB, ${SETTLE} s after start):"
    for p in $(bench_tree_pids "$s"); do
      v=$(awk '/^Pss:/ {print $2}' /proc/"$p"/smaps_rollup 2>/dev/null) || continue
      printf '  %-18s %8s\n' "$(cat /proc/"$p"/comm)" "$v"
      bench_json_put_num "one_idle.first.$(cat /proc/"$p"/comm).pss_kb" "$v"
    done
    read -r g c b a o <<< "$(qemu_split "$q")"
    printf '  QEMU split: guest RAM %s, TCG cache memfd %s, kernel+initrd files %s, anonymous (heap; the TCG cache when not a memfd) %s, own files %s\n' "$g" "$c" "$b" "$a" "$o"
    printf '  guest RAM the host holds (memfd allocated): %s kB of %s MiB\n' "$(memfd_kb "$q")" \
      "$(tr '\0' ' ' < /proc/"$q"/cmdline | grep -oE ' -m [0-9]+' | grep -oE '[0-9]+')"
    bench_json_put_num one_idle.first.qemu.guest_ram_pss_kb "$g"
    bench_json_put_num one_idle.first.qemu.tcg_memfd_pss_kb "$c"
    bench_json_put_num one_idle.first.qemu.boot_files_pss_kb "$b"
    bench_json_put_num one_idle.first.qemu.anon_pss_kb "$a"
    bench_json_put_num one_idle.first.qemu.own_files_pss_kb "$o"
    bench_json_put_num one_idle.first.memfd_allocated_kb "$(memfd_kb "$q")"
  fi
  stop "mb-one-$i"; stop "mb-rone-$i"
done
one=$(bench_stats < "$T/one.cvm"); rone=$(bench_stats < "$T/one.runc")
read -r om omin omax <<< "$one"; read -r rm rmin rmax <<< "$rone"
bench_json_put one_idle.cvm_pss_kb "$one" kB
bench_json_put one_idle.runc_pss_kb "$rone" kB

# --- DENSITY idle sandboxes at once ---
for i in $(seq 1 "$DENSITY"); do
  start "mb-d-$i" "${CVM[@]}"; start "mb-rd-$i" "${RUNC[@]}"
done
sleep "$SETTLE"
tot=0 rtot=0; : > "$T/d.cvm"
for i in $(seq 1 "$DENSITY"); do
  v=$(pss_of "mb-d-$i"); echo "$v" >> "$T/d.cvm"; [[ $v == BAD ]] || tot=$((tot + v))
  v=$(pss_of "mb-rd-$i"); [[ $v == BAD ]] && echo BAD >> "$T/d.cvm" || rtot=$((rtot + v))
done
dper=$(bench_stats < "$T/d.cvm"); read -r dm dmin dmax <<< "$dper"
cleanup
bench_json_put density.cvm_per_sandbox_pss_kb "$dper" kB
bench_json_put_num density.n "$DENSITY"
bench_json_put_num density.cvm_total_pss_kb "$tot"
bench_json_put_num density.runc_total_pss_kb "$rtot"

# --- burst: allocate, touch and free BURST_MIB MiB in the container ---
burst() { # id -> "idle peak after10 back_s" (kB, kB, kB, s; back_s "never" if not within 30 s)
  local id=$1 idle t0 pid peak=0 back=never after10="" v now
  idle=$(pss_of "$id")
  t0=$(bench_now)
  ctr task exec --exec-id burst "$id" dd if=/dev/zero of=/dev/null bs="${BURST_MIB}M" count=1 >/dev/null 2>"$T/burst.err" &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do v=$(pss_of "$id"); ((v > peak)) && peak=$v; sleep 0.5; done
  wait "$pid" || { bench_bad "mem-bench: the burst in $id failed: $(cat "$T/burst.err")" >/dev/null; echo "nan nan nan never"; return; }
  t0=$(bench_now) # the burst's memory is free from here on: time the way back
  while :; do
    v=$(pss_of "$id"); now=$(bench_secs "$t0" "$(bench_now)")
    ((v > peak)) && peak=$v
    [[ $back == never && $v -le $((idle + 16384)) ]] && back=$now
    [[ -z $after10 && $(echo "$now >= 10" | bc) -eq 1 ]] && after10=$v
    [[ -n $after10 && ( $back != never || $(echo "$now >= 30" | bc) -eq 1 ) ]] && break
    sleep 0.5
  done
  echo "$idle $peak $after10 $back"
}
start mb-burst "${CVM[@]}" && start mb-rburst "${RUNC[@]}"
sleep "$SETTLE"
q=$(task_field mb-burst 2)
f0=$(memfd_kb "$q")
read -r b_idle b_peak b_10 b_back <<< "$(burst mb-burst)"
f1=$(memfd_kb "$q")
read -r rb_idle rb_peak rb_10 rb_back <<< "$(burst mb-rburst)"
cleanup
bench_json_put_num burst.mib "$BURST_MIB"
bench_json_put_num burst.cvm.idle_pss_kb "$b_idle"; bench_json_put_num burst.cvm.peak_pss_kb "$b_peak"
bench_json_put_num burst.cvm.after_10s_pss_kb "$b_10"; bench_json_put_raw burst.cvm.back_within_16mib_s "$(bench_json_num "$b_back")"
bench_json_put_num burst.cvm.memfd_before_kb "$f0"; bench_json_put_num burst.cvm.memfd_after_kb "$f1"
bench_json_put_num burst.runc.idle_pss_kb "$rb_idle"; bench_json_put_num burst.runc.peak_pss_kb "$rb_peak"
bench_json_put_num burst.runc.after_10s_pss_kb "$rb_10"

echo
printf '%-46s %24s %24s\n' "host memory (PSS, all processes)" "cvm med [min max]" "runc med [min max]"
printf '%-46s %10s MiB [%s %s] %10s MiB [%s %s]\n' "one idle sandbox (N=$N)" "$(mib "$om")" "$(mib "$omin")" "$(mib "$omax")" \
  "$(mib "$rm")" "$(mib "$rmin")" "$(mib "$rmax")"
printf '%-46s %10s MiB %13s %10s MiB\n' "$DENSITY idle sandboxes, total" "$(mib "$tot")" "" "$(mib "$rtot")"
printf '%-46s %10s MiB [%s %s]\n' "  per sandbox among $DENSITY" "$(mib "$dm")" "$(mib "$dmin")" "$(mib "$dmax")"
printf '%-46s %10s MiB %13s %10s MiB\n' "burst: idle before" "$(mib "$b_idle")" "" "$(mib "$rb_idle")"
printf '%-46s %10s MiB %13s %10s MiB\n' "burst: peak (${BURST_MIB} MiB touched)" "$(mib "$b_peak")" "" "$(mib "$rb_peak")"
printf '%-46s %10s MiB %13s %10s MiB\n' "burst: 10 s after it was freed" "$(mib "${b_10:-0}")" "" "$(mib "${rb_10:-0}")"
secs() { [[ $1 == never ]] && echo "never (30 s)" || printf '%.1f s' "$1"; }
printf '%-46s %14s %13s %12s\n' "burst: back within 16 MiB of idle after" "$(secs "$b_back")" "" "$(secs "$rb_back")"
printf '%-46s %6s -> %s MiB\n' "burst: guest RAM the host holds (memfd)" "$(mib "$f0")" "$(mib "$f1")"

verdict() { if [[ $(echo "$1" | bc -l) -eq 1 ]]; then echo met; else echo missed; fi; }
echo
echo "targets:"
printf '  %-52s %10s  %s\n' "one idle sandbox <= 48 MiB (median)" "$(mib "$om") MiB" "$(verdict "$om <= 49152")"
printf '  %-52s %10s  %s\n' "$DENSITY idle sandboxes <= $((DENSITY * 32)) MiB in total" "$(mib "$tot") MiB" "$(verdict "$tot <= $((DENSITY * 32768))")"
[[ $b_back == never ]] && bb=99999 || bb=$b_back
printf '  %-52s %10s  %s\n' "after a ${BURST_MIB} MiB burst: within 16 MiB of idle <= 10 s" "$(secs "$b_back")" "$(verdict "$bb <= 10")"
# a figure whose samples failed is aborted: said, and the benchmark exits non-zero
bench_aborted "$one" && echo "one idle sandbox: aborted (see above)"
bench_aborted "$dper" && echo "$DENSITY idle sandboxes: aborted (see above)"
bench_aborted "$b_idle $b_peak" && echo "burst: aborted (see above)"
bench_json_put_num n "$N"
bench_json_put_num settle_s "$SETTLE"
bench_json_put_raw accel "\"$accel\""
bench_json_write "$JSON" mem-bench
echo
echo "JSON: $JSON"
bench_end
