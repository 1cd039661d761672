#!/usr/bin/env bash
# Docker 20.10 runs containers in VMs through cvm-runtime (runc's command line), runc beside
# it in the same private dockerd, results compared: `run --rm` stdout/stderr/exit status,
# deaths by signal (137, 143 through --init), `run -d` + `logs`, `kill -s HUP`, `exec` with
# and without -t, `run -it` through a pty, `attach` to a `run -dit` terminal, `stop` of a
# process ignoring SIGTERM (137),
# `rm -f` leaving nothing of ours, and a SIGKILLed monitor mid-run leaving nothing after
# `rm -f`.
set -uo pipefail
cd "$(dirname "$0")/../.."
source test/e2e/lib-docker.sh

trap 'dockerd_stop' EXIT
dockerd_start || exit 1
read -r -a RUNTIMES <<< "${RUNTIMES:-runc cvm}" # RUNTIMES=cvm: only our half (a deliberately broken build)
declare -A got

ALL_IDS=()
for rt in "${RUNTIMES[@]}"; do
  # --- run --rm: stdout and stderr apart, exit status
  o=$(dk run --rm --runtime "$rt" --network none "$IMG" sh -c 'echo out-line; echo err-line >&2; exit 3' 2>/tmp/cvm-dk-err.$$)
  rc=$?; e=$(cat /tmp/cvm-dk-err.$$); rm -f /tmp/cvm-dk-err.$$
  got[rm-$rt]="rc=$rc out=$o err=$e"
  if [[ $rc -eq 3 && $o == out-line && $e == err-line ]]; then pass "run-rm-stdio-exit-$rt"
  else fail "run-rm-stdio-exit-$rt" "${got[rm-$rt]}"; fi

  # --- a death by signal: --init (docker-init) passes SIGTERM to sleep, whose death is 128+15
  c=$(dk run -d --init --runtime "$rt" --network none "$IMG" sh -c 'echo up; exec sleep 1000')
  ALL_IDS+=("$c")
  if wait_log "$c" up && dk kill -s TERM "$c" >/dev/null && [[ $(dk wait "$c") == 143 ]]; then
    pass "kill-term-143-$rt"; got[term-$rt]=143
  else
    fail "kill-term-143-$rt" "exit $(dk inspect -f '{{.State.ExitCode}}' "$c" 2>&1) $(dk logs "$c" 2>&1 | tail -3)"
  fi
  dk rm -f "$c" >/dev/null 2>&1

  # --- run -d: logs, kill -s HUP, exec (plain and -t), stop of a process ignoring SIGTERM
  c=$(dk run -d --runtime "$rt" --network none "$IMG" sh -c \
      'trap "" TERM; trap "echo got-hup" HUP; echo started; while :; do sleep 1; done')
  ALL_IDS+=("$c")
  if wait_log "$c" started; then pass "run-d-logs-$rt"; else fail "run-d-logs-$rt" "$(dk logs "$c" 2>&1 | tail -3)"; fi
  dk kill -s HUP "$c" >/dev/null
  if wait_log "$c" got-hup 20; then pass "kill-hup-$rt"; else fail "kill-hup-$rt" "$(dk logs "$c" 2>&1 | tail -3)"; fi
  o=$(dk exec "$c" sh -c 'echo exec-out; echo exec-err >&2; exit 4' 2>/tmp/cvm-dk-err.$$)
  rc=$?; e=$(cat /tmp/cvm-dk-err.$$); rm -f /tmp/cvm-dk-err.$$
  got[exec-$rt]="rc=$rc out=$o err=$e"
  if [[ $rc -eq 4 && $o == exec-out && $e == exec-err ]]; then pass "exec-stdio-exit-$rt"
  else fail "exec-stdio-exit-$rt" "${got[exec-$rt]}"; fi
  o=$(dk exec -t "$c" sh -c '[ -t 1 ] && echo is-a-tty; exit 6' | tr -d '\r'); rc=${PIPESTATUS[0]}
  got[exect-$rt]="rc=$rc out=$o"
  if [[ $rc -eq 6 && $o == is-a-tty ]]; then pass "exec-t-$rt"; else fail "exec-t-$rt" "${got[exect-$rt]}"; fi
  dk stop -t 2 "$c" >/dev/null
  ec=$(dk inspect -f '{{.State.ExitCode}}' "$c")
  got[stop-$rt]=$ec
  if [[ $ec == 137 ]]; then pass "stop-ignoring-term-137-$rt"; else fail "stop-ignoring-term-137-$rt" "exit $ec"; fi
  dk rm -f "$c" >/dev/null

  # --- run -it: a scripted terminal session
  s=$(python3 test/drivers/pty_session.py 180 '# ' 'echo hi-$((6*7)); [ -t 0 ] && echo tty-in\n' 'tty-in' 'exit 7\n' -- \
      "$DOCKER_CLI" -H "unix://$DK_SOCK" run -it --rm --runtime "$rt" --network none "$IMG" sh)
  st=$(printf '%s\n' "$s" | tail -1 | tr -d '\r')
  got[it-$rt]=$st
  if [[ $s == *hi-42* && $st == "EXIT 7" ]]; then pass "run-it-$rt"; else fail "run-it-$rt" "$(printf '%s' "$s" | tail -5 | tr '\r\n' '  ')"; fi

  # --- docker attach to a detached container's terminal (run -dit): a session, its exit status
  c=$(dk run -dit --runtime "$rt" --network none "$IMG" sh)
  ALL_IDS+=("$c")
  s=$(python3 test/drivers/pty_session.py 180 '' '\n' '# ' 'echo att-$((6*7))\n' 'att-42' 'exit 5\n' -- \
      "$DOCKER_CLI" -H "unix://$DK_SOCK" attach "$c")
  st=$(printf '%s\n' "$s" | tail -1 | tr -d '\r')
  got[attach-$rt]=$st
  if [[ $s == *att-42* && $st == "EXIT 5" && $(dk inspect -f '{{.State.ExitCode}}' "$c") == 5 ]]; then pass "attach-tty-$rt"
  else fail "attach-tty-$rt" "$(printf '%s' "$s" | tail -5 | tr '\r\n' '  ')"; fi
  dk rm -f "$c" >/dev/null
done

# --- the same answers from both runtimes
for k in rm term exec exect stop it attach; do
  if [[ -n ${got[$k-runc]:-} && ${got[$k-runc]} == "${got[$k-cvm]:-unset}" ]]; then pass "cvm-same-as-runc-$k"
  else fail "cvm-same-as-runc-$k" "runc: ${got[$k-runc]:-unset} cvm: ${got[$k-cvm]:-unset}"; fi
done

# --- SIGKILL of the monitor mid-run: Docker sees the exit (137), rm -f leaves nothing
c=$(dk run -d --runtime cvm --network none "$IMG" sh -c 'echo up; while :; do sleep 1; done')
ALL_IDS+=("$c")
if wait_log "$c" up; then
  mon=$(dk inspect -f '{{.State.Pid}}' "$c")
  CVM_UIDS=$(cvm_vm_uid "$c")
  [[ -n $CVM_UIDS ]] || note "no QEMU found for $c"
  kill -9 "$mon"
  ec=$(timeout 60 "$DOCKER_CLI" -H "unix://$DK_SOCK" wait "$c")
  dk rm -f "$c" >/dev/null
  left=$(cvm_footprint "$c")
  if [[ $ec == 137 && -n $CVM_UIDS && -z $left ]]; then pass "monitor-killed-leaves-nothing"
  else fail "monitor-killed-leaves-nothing" "exit $ec; VM uid ${CVM_UIDS:-none seen}; left: $left"; fi
else
  fail "monitor-killed-leaves-nothing" "container did not start: $(dk logs "$c" 2>&1 | tail -3)"
fi

# --- after every rm -f: nothing of ours left (processes, run dirs, state dirs)
left=$(cvm_footprint "${ALL_IDS[@]}")
if [[ -z $left ]]; then pass "rm-leaves-nothing"; else fail "rm-leaves-nothing" "$left"; fi
exit "$FAILED"
