#!/usr/bin/env bash
# Docker benchmark: `docker run --rm IMG true` through a private dockerd (test/e2e/lib-docker.sh),
# cvm-runtime against runc in the same run, N (5) each, interleaved; median, min, max in
# seconds. JSON in $BUILD/bench/docker-bench.json. Timings only mean something relative to
# runc on the same host (no KVM here: the guest runs under TCG).
set -u
cd "$(dirname "$0")/../.."
source test/e2e/lib-docker.sh
source test/bench/lib-bench.bash
N=${N:-5}
JSON=${BENCH_JSON:-$BUILD/bench/docker-bench.json}
trap dockerd_stop EXIT
dockerd_start >/dev/null || { echo "docker-bench: dockerd did not start" >&2; exit 1; }

one() { # $1 = runtime -> seconds
  local t0 t1
  t0=$(bench_now)
  dk run --rm --runtime "$1" --network none "$IMG" true >/dev/null || { echo "docker-bench: run $1 failed" >&2; echo nan; return; }
  t1=$(bench_now)
  bench_secs "$t0" "$t1"
}
declare -A samples
for i in $(seq 1 "$N"); do
  for rt in runc cvm; do samples[$rt]+="$(one "$rt")"$'\n'; done
done
echo "# docker-bench: docker run --rm busybox true, N=$N, $(nproc) cores"
printf '%-10s %9s %9s %9s\n' runtime median min max
for rt in cvm runc; do
  s=$(printf '%s' "${samples[$rt]}" | bench_stats)
  read -r med min max <<<"$s"
  printf '%-10s %8.2fs %8.2fs %8.2fs\n' "$rt" "$med" "$min" "$max"
  bench_json_put "docker_run_rm_true_$rt" "$s"
  eval "med_$rt=$med"
done
# shellcheck disable=SC2154
printf '%-10s %8.1fx\n' cvm/runc "$(echo "$med_cvm / $med_runc" | bc -l)"
bench_json_write "$JSON" docker-bench
