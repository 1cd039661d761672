# Sourced by lib-shim.sh and lib-agent.sh: what a crash or a sanitizer leaves behind, for the
# checks that a run had none (shim_log_check, agent_end_check).
#
# A sanitizer report (ASan, LSan, UBSan), and "Can't open file" when a sandboxed process
# (cvm-vsockd after its pivot_root) cannot reach the sanitizer's log_path.
SAN_REPORT_RE='AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:|SUMMARY: [A-Za-z]*Sanitizer|ERROR: Can.t open file:'
# What a plain build's crash prints: glibc's fatal messages, an assert, and the hypervisor
# layer's line for a helper killed by a fatal signal ("killed by signal 11 (SIGSEGV)").
CRASH_RE='SIGSEGV|SIGBUS|SIGILL|SIGFPE|SIGSYS|SIGABRT|segfault|Segmentation fault|core dumped|stack smashing detected|double free|free\(\): |malloc\(\): |corrupted (size|double-linked)|Assertion .* failed'

# crash_mark DIR: from now on (kernel uptime CRASH_T0 for dmesg; DIR/.crash-mark's mtime for
# core files) a crash counts.
crash_mark() { CRASH_T0=$(cut -d' ' -f1 /proc/uptime); CRASH_MARK_FILE=$1/.crash-mark; : > "$CRASH_MARK_FILE"; }

# kernel_crashes: the kernel's lines since crash_mark about a host-side process of ours (or a
# shim) that faulted: "segfault at", "traps: ... trap invalid opcode" (UBSan's trap, abort of
# __builtin_trap), "general protection fault". The comm is cut at 15 characters.
kernel_crashes() {
  dmesg 2>/dev/null | awk -v t0="${CRASH_T0:-0}" '
    match($0, /^\[ *[0-9]+\.[0-9]+\]/) { t = substr($0, 2, RLENGTH - 2) + 0; if (t >= t0) print }' |
    grep -E '(containerd-shim|cvm-vsockd|cvm-agent|qemu-system|virtiofsd).*(segfault|traps:|general protection)' | head -5
}

# core_files DIR...: cores dumped since crash_mark under DIR (a crashing daemon's cwd is its
# bundle) and, when core_pattern names an absolute directory, there.
core_files() {
  local pat dirs=("$@")
  pat=$(cat /proc/sys/kernel/core_pattern 2>/dev/null)
  [[ $pat == /* ]] && dirs+=("$(dirname "$pat")")
  [[ -n ${CRASH_MARK_FILE:-} ]] || return 0
  find "${dirs[@]}" -xdev -maxdepth 6 -type f -name 'core*' -newer "$CRASH_MARK_FILE" 2>/dev/null | head -5
}

# san_reports: the sanitizer reports written to the sanitizer pass's log_path (run-tests.sh
# sets CVM_SAN_LOG; its files are CVM_SAN_LOG.<pid>).
san_reports() { [[ -n ${CVM_SAN_LOG:-} ]] && ls "$CVM_SAN_LOG".* 2>/dev/null | head -5; }
