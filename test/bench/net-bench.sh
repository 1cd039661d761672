#!/usr/bin/env bash
# Network benchmark: host <-> container over the same CNI bridge, cvm against runc in the same
# run (test/e2e/lib-net.sh: a network namespace of the benchmark's own plays the host).
#   TCP download   100 MiB from the container's busybox httpd to the host (wget), MiB/s
#   TCP upload     64 MiB from the host to the container's nc (dd | nc), MiB/s
#   RTT            ICMP round trip host -> container (busybox ping, 20 x), ms
# N runs of each throughput figure (median, with min and max); read the ratios: under TCG the
# guest's CPU, not the path, bounds the numbers. A transfer of the wrong size, or a ping
# that gives no average, aborts its figure ("aborted", exit 1): never a median of the rest.
set -u
cd "$(dirname "$0")/../.."
source test/e2e/lib-shim.sh
source test/e2e/lib-net.sh
source test/bench/lib-bench.bash
N=${N:-3}
shim_env_check || exit 1
trap 'for t in nb-cvm nb-runc; do ctr task kill -s KILL $t >/dev/null 2>&1; done; sleep 1;
      for t in nb-cvm nb-runc; do ctr task rm $t >/dev/null 2>&1; ctr c rm $t >/dev/null 2>&1; done;
      ctd_stop; net_teardown' EXIT
net_setup || exit 1
ctd_start >/dev/null || exit 1
shim_use_ctd
shim_import_image || { echo "bench: image import failed" >&2; exit 1; }
shim_write_config "$CTD_DIR/cvm.json"

now() { date +%s.%N; }
SERVE='dd if=/dev/zero of=/big bs=1048576 count=100 2>/dev/null && mkdir -p /www && mv /big /www/big &&
       (httpd -f -p 8080 -h /www &) && while true; do nc -l -p 5001 | wc -c > /up.tmp; mv /up.tmp /up.n; done'
nctr run --cni -d --runtime "$RT" --runtime-config-path "$CTD_DIR/cvm.json" "$IMG" nb-cvm sh -c "$SERVE" >/dev/null
nctr run --cni -d "$IMG" nb-runc sh -c "$SERVE" >/dev/null
ip_of() { ctr task exec --exec-id "ip$RANDOM" "$1" ip -o -4 addr show dev eth0 | awk '{print $4}' | cut -d/ -f1; }
for _ in $(seq 1 100); do
  [[ $(ctr task exec --exec-id "w$RANDOM" nb-cvm ls /www/big 2>/dev/null) == /www/big &&
     $(ctr task exec --exec-id "w$RANDOM" nb-runc ls /www/big 2>/dev/null) == /www/big ]] && break
  sleep 0.3
done
ipc=$(ip_of nb-cvm); ipr=$(ip_of nb-runc)

download() { # ip -> MiB/s
  local t0 t1 n
  t0=$(now); n=$(nhost timeout 120 busybox wget -q -O - "http://$1:8080/big" | wc -c); t1=$(now)
  [[ $n -eq 104857600 ]] || { bench_bad "download from $1: $n bytes, want 104857600"; return; }
  echo "scale=1; 100 / ($t1 - $t0)" | bc
}
upload() { # task ip -> MiB/s; the server's byte count proves the transfer
  local t0 t1 n
  for _ in $(seq 1 50); do # the server's next nc -l may take a moment under TCG
    ctr task exec --exec-id "u$RANDOM" "$1" sh -c 'netstat -ltn 2>/dev/null | grep -q ":5001 "' && break
    sleep 0.2
  done
  ctr task exec --exec-id "u$RANDOM" "$1" rm -f /up.n
  t0=$(now); dd if=/dev/zero bs=65536 count=1024 2>/dev/null | nhost timeout 120 busybox nc "$2" 5001; t1=$(now)
  for _ in $(seq 1 50); do
    n=$(ctr task exec --exec-id "u$RANDOM" "$1" cat /up.n 2>/dev/null) && [[ -n $n ]] && break
    sleep 0.2
  done
  [[ $n -eq 67108864 ]] || { bench_bad "upload to $2: server got '$n' bytes, want 67108864"; return; }
  echo "scale=1; 64 / ($t1 - $t0)" | bc
}
rtt() { # ip -> "avg avg avg" ms; lost packets abort the figure
  local out
  out=$(nhost busybox ping -c 20 -i 0.2 -q "$1" 2>&1)
  [[ $out == *" 0% packet loss"* ]] || { bench_bad "ping $1: $(tr '\n' ' ' <<< "$out")" | bench_stats; return; }
  awk -F/ '/round-trip/ {print $4}' <<< "$out" | bench_stats
}
# N samples of "$@" (a function printing one number), stopping at the first bad one
samples() { local i v; for i in $(seq 1 "$N"); do v=$("$@"); echo "$v"; bench_sampled "$v" || break; done | bench_stats; }

accel=$("$BUILD/bin/cvm-check" 2>&1 | grep -m1 -E '^[a-z]+ +accel: ' | sed -E 's/^[a-z]+ +accel: //')
echo "# net-bench: N=$N, $(nproc) cores, accel $accel; cvm $ipc, runc $ipr on bridge $NET_BR"
printf '%-22s %-26s %-26s %7s\n' metric "cvm (median min max)" "runc (median min max)" ratio
row() { # name unit cvm-stats runc-stats
  local cm rm
  bench_aborted "$3" "$4" && { printf '%-22s aborted: cvm [%s] runc [%s]\n' "$1" "$3" "$4"; return; }
  cm=${3%% *}; rm=${4%% *}
  printf '%-22s %-26s %-26s %6.2fx\n' "$1" "$3 $2" "$4 $2" "$(echo "$cm / $rm" | bc -l)"
}
dc=$(samples download "$ipc")
dr=$(samples download "$ipr")
row "TCP download 100 MiB" MiB/s "$dc" "$dr"
uc=$(samples upload nb-cvm "$ipc")
ur=$(samples upload nb-runc "$ipr")
row "TCP upload 64 MiB" MiB/s "$uc" "$ur"
rc=$(rtt "$ipc"); rr=$(rtt "$ipr")
row "ICMP RTT (avg of 20)" ms "$rc" "$rr"
bench_end
