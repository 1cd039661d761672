# Sourced by test/bench/*.sh (named .bash so `make bench`, which runs every *.sh, skips it).
# Statistics over N samples and the JSON record beside the human table.

# stdin: one number per line -> "median min max" (the lower median for even N). No sample, or
# any line that is not a number (bench_bad's BAD), gives "nan nan nan": the figure is aborted,
# never a median of the samples that happened to work.
bench_stats() {
  awk '!/^[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$/ {bad = 1} {print} END {if (bad) print "BAD"}' |
    sort -g | awk '$1 == "BAD" {bad = 1} {a[NR] = $1}
                   END { if (NR == 0 || bad) { print "nan nan nan"; exit }
                         printf "%s %s %s\n", a[int((NR + 1) / 2)], a[1], a[NR] }'
}

# A sample that failed, or measured something else than asked (a wrong byte count): say why
# on stderr and print the marker that aborts its figure in bench_stats. Samplers stop that
# figure there (bench_sampled).
bench_bad() { echo "bench: $* (figure aborted)" >&2; echo BAD; }
bench_sampled() { [[ $1 != *BAD* ]]; } # a sample's output: keep sampling?

# bench_aborted STATS...: true when a figure's stats say it was aborted; counts it, so the
# benchmark ends non-zero (bench_end) and the figure shows "aborted", never a number.
BENCH_ABORTED=0
bench_aborted() {
  local st
  for st in "$@"; do
    [[ $st == nan* || -z $st ]] && { BENCH_ABORTED=$((BENCH_ABORTED + 1)); return 0; }
  done
  return 1
}
bench_end() { # the benchmark's exit status: non-zero when a figure was aborted
  [[ $BENCH_ABORTED -eq 0 ]] && return 0
  echo "bench: $BENCH_ABORTED figure(s) aborted by a failed or wrong sample (see above)" >&2
  return 1
}

bench_now() { date +%s.%N; }
bench_secs() { echo "$2 - $1" | bc; }

# The commit measured: HEAD, "+dirty" when the worktree has changes.
bench_commit() {
  local c
  c=$(git rev-parse --short=12 HEAD 2>/dev/null) || { echo unknown; return; }
  git diff --quiet HEAD 2>/dev/null || c+="+dirty"
  echo "$c"
}

# JSON record: bench_json_put KEY "median min max" [unit] appends one member to $BENCH_JSON_BODY.
BENCH_JSON_BODY=""
bench_json_num() { # a number as JSON (bc writes ".09"; no samples: null)
  awk -v v="$1" 'BEGIN { if (v == "" || v == "nan" || v !~ /^[-+]?[0-9]*\.?[0-9]+$/) print "null"; else print v + 0 }'
}
bench_json_put() { # key, "med min max", unit
  local k=$1 med min max
  read -r med min max <<< "$2"
  BENCH_JSON_BODY+="${BENCH_JSON_BODY:+,}\"$k\": {\"median\": $(bench_json_num "$med"), \"min\": $(bench_json_num "$min"), \"max\": $(bench_json_num "$max"), \"unit\": \"${3:-s}\"}"
}
bench_json_put_raw() { BENCH_JSON_BODY+="${BENCH_JSON_BODY:+,}\"$1\": $2"; }
bench_json_put_num() { bench_json_put_raw "$1" "$(bench_json_num "$2")"; }
# Writes {"bench": name, "commit": ..., "date": ..., "n": N, <members>} to $1.
bench_json_write() { # path, bench name
  mkdir -p "$(dirname "$1")"
  printf '{"bench": "%s", "commit": "%s", "date": "%s", "host_cores": %s, %s}\n' "$2" "$(bench_commit)" \
    "$(date -u +%FT%TZ)" "$(nproc)" "$BENCH_JSON_BODY" | python3 -m json.tool > "$1.tmp" && mv "$1.tmp" "$1"
}

# PSS/RSS (kB) of a process tree: the process and every descendant. Prints "pss rss".
bench_tree_mem() { # root pid
  local p pss=0 rss=0 a b
  for p in $(bench_tree_pids "$1"); do
    [[ -r /proc/$p/smaps_rollup ]] || continue
    a=$(awk '/^Pss:/ {print $2}' /proc/"$p"/smaps_rollup); b=$(awk '/^Rss:/ {print $2}' /proc/"$p"/smaps_rollup)
    pss=$((pss + ${a:-0})); rss=$((rss + ${b:-0}))
  done
  echo "$pss $rss"
}
bench_tree_pids() { # root pid: it and its descendants, parents first
  local p c
  echo "$1"
  for c in $(pgrep -P "$1"); do bench_tree_pids "$c"; done
}
