#!/usr/bin/env bash
# Warm VM pool benchmark (README "Warm VM pool"), runc beside cvm in the same run, medians of N
# (default 5) with min and max:
#   ctr run --rm IMG id true    runc; cvm with the pool off (cold boot); cvm claiming a warm
#                               VM (the pool full before each sample); cvm claiming the second
#                               warm VM right after the first was claimed, while the first
#                               slot's refill boots (at SCHED_IDLE); cvm claiming a warm VM
#                               that skipped its rehearsal ("rehearse": false)
#   CRI pod start               RunPodSandbox + CreateContainer + StartContainer (cri_client.py
#                               -T, the RPCs' own durations, as cri-bench): runc; cvm pool off;
#                               cvm from the pool, with and without the rehearsal
#   claimed start's phase       from the shim's log: claimed shim serving -> container created
#                               (adoption + Create)
# Pool on/off is the runtime config file (read at every start): one containerd for all. A
# "from the pool" sample that booted cold, a failed run, or a missing log line aborts its
# figure ("aborted", null in the JSON, exit 1), never a median of the samples that worked.
set -u
cd "$(dirname "$0")/../.."
source test/e2e/lib-shim.sh
source test/e2e/lib-net.sh
source test/e2e/lib-cri.sh
source test/bench/lib-bench.bash
N=${N:-5}
JSON=${BENCH_JSON:-$BUILD/bench/pool-bench.json}
SHIM=$PWD/$SHIM_BIN
POOL=/run/cvm/pool
unset CVM_POOL_SIZE
WORK=
T=$(mktemp -d /tmp/cvm-pool-bench.XXXXXX)
bench_cleanup() {
  cri_tier_cleanup
  "$SHIM" pool-drain >/dev/null 2>&1
  for _ in $(seq 1 100); do pgrep -f "$SHIM_BIN pool-warm" >/dev/null || break; sleep 0.1; done
  rm -rf "$T"
}
trap bench_cleanup EXIT
[[ $(id -u) -eq 0 ]] || { echo "pool-bench: must run as root" >&2; exit 1; }
shim_env_check >/dev/null || { echo "pool-bench: build first (make all)" >&2; exit 1; }
"$SHIM" pool-drain >/dev/null 2>&1
net_setup >/dev/null || exit 1
WORK=$(mktemp -d /tmp/cvm-poolb.XXXXXX)
CFG=$WORK/cvm.json
# Every unclaimed warm shim gone (their slots' locks free). A drain reaches only warm shims
# whose VM is up, and they leave asynchronously: repeated until no lock is held (60 s).
pool_drain_all() {
  for _ in $(seq 1 120); do
    "$SHIM" pool-drain >/dev/null 2>&1
    [[ -z $(fuser "$POOL"/[0-9]*.lock 2>/dev/null) ]] && return 0
    sleep 0.5
  done
  echo "pool-bench: warm shims still hold slots after 60 s of drains" >&2; return 1
}
pool_off() { shim_write_config "$CFG"; pool_drain_all; }
pool_on() { shim_write_config "$CFG" 90000 '"pool": {"size": 2}'; }
# the same pool whose warm VMs skip the rehearsal (shim/daemon/warm_rehearse.h): the warm shims
# of the other setting are drained first (a claim does not check the config)
pool_on_norehearse() { pool_drain_all; shim_write_config "$CFG" 90000 '"pool": {"size": 2, "rehearse": false}'; }
pool_off
cri_ctd_start "$CFG" >/dev/null || { echo "pool-bench: containerd (CRI) did not start" >&2; exit 1; }
shim_use_ctd
cri_import_images || { echo "pool-bench: image import failed" >&2; exit 1; }
LOG=$CTD_DIR/containerd.log
CVM=(--runtime "$RT" --runtime-config-path "$CFG")

warm_count() { local n=0 s; for s in "$POOL"/[0-9]*.sock; do [[ -S $s ]] && n=$((n + 1)); done; echo $n; }
wait_warm() { for _ in $(seq 1 600); do [[ $(warm_count) -ge $1 ]] && return 0; sleep 0.2; done; return 1; }
claims() { grep -c 'pool: claimed slot' "$LOG"; }
# The pool fills behind the first start that finds it short: one cold start primes it.
prime() { ctr -n k8s.io run --rm "${CVM[@]}" "$IMG" "prime$1" true >/dev/null 2>&1; wait_warm 2; }

# One ctr sample: seconds to stdout, or BAD. $1 label, $2 id, $3 "claim" when it must claim.
ctr_sample() {
  local c0 t0 t1
  c0=$(claims); t0=$(bench_now)
  if ! ctr -n k8s.io run --rm "${@:4}" "$IMG" "$2" true >/dev/null 2>"$T/err"; then
    bench_bad "pool-bench: $1 $2 failed: $(head -c 300 "$T/err")"; return
  fi
  t1=$(bench_now)
  if [[ $3 == claim && $(claims) -le $c0 ]]; then
    bench_bad "pool-bench: $1 $2 did not claim a warm VM ($(grep 'pool: cold' "$LOG" | tail -1 | grep -o 'pool: cold[^"]*'))"; return
  fi
  bench_secs "$t0" "$t1"
}

echo "# pool-bench: N=$N, $(nproc) cores, $("$BUILD/bin/cvm-check" 2>&1 | grep -m1 -E '^[a-z]+ +accel: ' | sed -E 's/^[a-z]+ +//'), commit $(bench_commit)"
: > "$T/runc"; : > "$T/off"; : > "$T/on"; : > "$T/refill"; : > "$T/norh"
for i in $(seq 1 "$N"); do
  s=$(ctr_sample runc "br$i" - --runtime io.containerd.runc.v2); echo "$s" >> "$T/runc"
done
pool_off
for i in $(seq 1 "$N"); do
  s=$(ctr_sample off "bo$i" - "${CVM[@]}"); echo "$s" >> "$T/off"; bench_sampled "$s" || break
done
pool_on
prime 1 || echo "BAD pool did not fill" >> "$T/on"
for i in $(seq 1 "$N"); do
  wait_warm 2 || { bench_bad "pool-bench: pool not refilled to 2" >> "$T/on"; break; }
  s=$(ctr_sample on "bp$i" claim "${CVM[@]}"); echo "$s" >> "$T/on"; bench_sampled "$s" || break
  # at once: the other warm VM, while the slot just claimed refills
  s=$(ctr_sample refill "bq$i" claim "${CVM[@]}"); echo "$s" >> "$T/refill"; bench_sampled "$s" || break
done

pool_on_norehearse
prime 3 || echo "BAD pool did not fill" >> "$T/norh"
for i in $(seq 1 "$N"); do
  wait_warm 2 || { bench_bad "pool-bench: pool not refilled to 2" >> "$T/norh"; break; }
  s=$(ctr_sample on "bn$i" claim "${CVM[@]}"); echo "$s" >> "$T/norh"; bench_sampled "$s" || break
done

# The phases of the claimed starts, from the shim's log lines in containerd's log (its
# timestamps): "pool: claimed slot" (the claimed shim's first line once it serves) and
# "container ... created" (adoption + Create done).
phases=$(awk -F'time="' '/pool: claimed slot/ && / id=bp[0-9]+ / {split($2, a, "\""); c = a[1]} /container bp[0-9]+ created/ && c {split($2, a, "\""); print c, a[1]; c = ""}' "$LOG" |
  while read -r a b; do echo "$(( ($(date -d "$b" +%s%N) - $(date -d "$a" +%s%N)) / 1000000 ))"; done)

st_runc=$(bench_stats < "$T/runc"); st_off=$(bench_stats < "$T/off")
st_on=$(bench_stats < "$T/on"); st_ref=$(bench_stats < "$T/refill"); st_norh=$(bench_stats < "$T/norh")
st_ph=$(bench_stats <<< "${phases:-BAD}")
printf '\n%-46s %24s\n' "ctr run --rm IMG id true" "median [min max]"
row() { # label stats unit
  if bench_aborted "$2"; then printf '  %-44s aborted\n' "$1"; else
    read -r m a b <<< "$2"; printf '  %-44s %8.3f%s [%.3f %.3f]\n' "$1" "$m" "$3" "$a" "$b"; fi
}
row "runc" "$st_runc" s
row "cvm, pool off (cold boot)" "$st_off" s
row "cvm, claimed from the pool" "$st_on" s
row "cvm, claimed while a refill boots" "$st_ref" s
row "cvm, claimed, pool.rehearse false" "$st_norh" s
row "claimed: claim taken -> container created" "$st_ph" " ms"
bench_json_put ctr_run.runc_s "$st_runc" s
bench_json_put ctr_run.cvm_pool_off_s "$st_off" s
bench_json_put ctr_run.cvm_pool_on_s "$st_on" s
bench_json_put ctr_run.cvm_pool_on_during_refill_s "$st_ref" s
bench_json_put ctr_run.cvm_pool_on_no_rehearsal_s "$st_norh" s
bench_json_put ctr_run.claim_to_created_ms "$st_ph" ms

# --- CRI pod start (the images are in CRI's namespace, k8s.io, which the ctr runs above used)
pod_json() { bench_pod_json "$1" "$2" cvmpool p; }
bench_ctr_json "$WORK/ctr.json"
pod_sample() { # $1 handler ("" = runc), $2 tag, $3 n, $4 "claim"
  local pc pod c c0
  pc=$(pod_json "$2" "$3"); c0=$(claims)
  pod=$(cri -T runp "$pc" "$1" 2>"$WORK/t1") && c=$(cri -T create "$pod" "$WORK/ctr.json" "$pc" 2>"$WORK/t2") &&
    cri -T rpc StartContainer "{\"container_id\":\"$c\"}" >/dev/null 2>"$WORK/t3" ||
    { bench_bad "pool-bench: $2 pod $3 failed: $(cat "$WORK"/t[123] | tr '\n' ' ' | head -c 300)"; return; }
  if [[ $(grep -c '^elapsed_ms: ' "$WORK"/t[123] | awk -F: '{s += $2} END {print s}') -ne 3 ]]; then
    bench_bad "pool-bench: $2 pod $3: not three elapsed_ms lines"
  elif [[ $4 == claim && $(claims) -le $c0 ]]; then
    bench_bad "pool-bench: $2 pod $3 did not claim a warm VM ($(grep 'pool: cold' "$LOG" | tail -1 | grep -o 'pool: cold[^"]*'))"
  else
    sed -n 's/^elapsed_ms: //p' "$WORK"/t[123] | awk '{s += $1} END {print s}'
  fi
  cri -t 60 rpc StopPodSandbox "{\"pod_sandbox_id\":\"$pod\"}" >/dev/null 2>&1
  cri -t 60 rpc RemovePodSandbox "{\"pod_sandbox_id\":\"$pod\"}" >/dev/null 2>&1
}
: > "$T/crunc"; : > "$T/coff"; : > "$T/con"; : > "$T/cnorh"
for i in $(seq 1 "$N"); do s=$(pod_sample "" runc "$i" -); echo "$s" >> "$T/crunc"; bench_sampled "$s" || break; done
pool_off
for i in $(seq 1 "$N"); do s=$(pod_sample cvm off "$i" -); echo "$s" >> "$T/coff"; bench_sampled "$s" || break; done
claimed_pods() { # $1 tag, $2 file of samples, $3 prime id: N pods, each claiming a warm VM
  prime "$3" || echo "BAD pool did not fill" >> "$2"
  for i in $(seq 1 "$N"); do
    wait_warm 2 || { bench_bad "pool-bench: pool not refilled to 2" >> "$2"; break; }
    s=$(pod_sample cvm "$1" "$i" claim); echo "$s" >> "$2"; bench_sampled "$s" || break
  done
}
pool_on
claimed_pods on "$T/con" 2
pool_on_norehearse
claimed_pods norh "$T/cnorh" 4
st_cr=$(bench_stats < "$T/crunc"); st_coff=$(bench_stats < "$T/coff"); st_con=$(bench_stats < "$T/con"); st_cnorh=$(bench_stats < "$T/cnorh")
printf '\n%-46s %24s\n' "CRI pod start (RunPodSandbox + 1st container)" "median [min max]"
row "runc" "$st_cr" " ms"
row "cvm, pool off" "$st_coff" " ms"
row "cvm, from the pool" "$st_con" " ms"
row "cvm, from the pool, pool.rehearse false" "$st_cnorh" " ms"
bench_json_put cri_pod_start.runc_ms "$st_cr" ms
bench_json_put cri_pod_start.cvm_pool_off_ms "$st_coff" ms
bench_json_put cri_pod_start.cvm_pool_on_ms "$st_con" ms
bench_json_put cri_pod_start.cvm_pool_on_no_rehearsal_ms "$st_cnorh" ms

# The targets of issue 20 (TCG here), said plainly.
med() { cut -d' ' -f1 <<< "$1"; }
verdict() { if [[ $1 != *nan* && $(echo "$1" | bc -l 2>/dev/null) -eq 1 ]]; then echo met; else echo missed; fi; }
echo
echo "targets:"
printf '  %-48s %s\n' "pool: ctr run --rm true <= runc + 0.3 s" "$(verdict "$(med "$st_on") <= $(med "$st_runc") + 0.3")"
printf '  %-48s %s\n' "pool: CRI pod start <= 2x runc" "$(verdict "$(med "$st_con") <= 2 * $(med "$st_cr")")"
bench_json_put_num n "$N"
bench_json_write "$JSON" pool-bench
echo "JSON: $JSON"
bench_end
