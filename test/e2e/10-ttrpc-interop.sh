#!/usr/bin/env bash
# Interop with a peer we did not write: our ttrpc client publishes a TaskExit through a
# private containerd 1.6.20's ttrpc endpoint (Events/Forward) and `ctr events` must show it
# with the right topic, namespace and payload; bad requests come back as containerd's
# statuses, decoded. Also: the spec's worked example (§1.10) against our codec.
set -u
cd "$(dirname "$0")/../.."
source test/e2e/lib-containerd.sh
BUILD=${BUILD:-build}
DRV=$BUILD/drivers/ttrpc_forward
[[ -x $DRV ]] || { fail driver "missing $DRV (run make check)"; exit 1; }

EV_PID=
cleanup() { [[ -n $EV_PID ]] && kill "$EV_PID" 2>/dev/null; ctd_stop; }
trap cleanup EXIT
ctd_start || exit 1
note "containerd $(containerd --version | awk '{print $3}')"

ctr events > "$CTD_DIR/events.log" 2>&1 &
EV_PID=$!
sleep 0.5

out=$("$DRV" "$CTD_TTRPC" exit cvmtest c1 137 2>&1)
[[ $out == OK ]] && pass forward-accepted || fail forward-accepted "$out"

for _ in $(seq 1 30); do grep -q '/tasks/exit' "$CTD_DIR/events.log" && break; sleep 0.1; done
line=$(grep '/tasks/exit' "$CTD_DIR/events.log" | head -1)
note "ctr events: $line"
[[ $line == *" cvmtest /tasks/exit "* ]] && pass event-topic-and-namespace || fail event-topic-and-namespace "got: '$line'"
if [[ $line == *'"container_id":"c1"'* && $line == *'"id":"c1"'* && $line == *'"pid":4242'* && $line == *'"exit_status":137'* && $line == *'"exited_at":'* ]]; then
  pass event-payload-decoded
else
  fail event-payload-decoded "got: '$line'"
fi

# Statuses containerd sends for bad requests, decoded by our client.
out=$("$DRV" "$CTD_TTRPC" no-timestamp cvmtest 2>&1); note "no timestamp -> $out"
[[ $out == "STATUS 3 INVALID_ARGUMENT "* ]] && pass status-invalid-argument || fail status-invalid-argument "$out"
out=$("$DRV" "$CTD_TTRPC" bad-topic cvmtest 2>&1); note "bad topic -> $out"
[[ $out == "STATUS 3 INVALID_ARGUMENT "*topic* ]] && pass status-bad-topic || fail status-bad-topic "$out"
out=$("$DRV" "$CTD_TTRPC" unknown-method 2>&1); note "unknown method -> $out"
[[ $out == "STATUS 12 UNIMPLEMENTED method Nope" ]] && pass status-unimplemented || fail status-unimplemented "$out"
out=$("$DRV" "$CTD_TTRPC" garbage-payload 2>&1); note "garbage payload -> $out"
[[ $out == "STATUS 13 INTERNAL ttrpc: error unmarshalling payload"* ]] && pass status-garbage-payload || fail status-garbage-payload "$out"
# spec §1.5: an oversized frame is answered RESOURCE_EXHAUSTED on its stream and the
# connection survives (our client refuses to send one, so a raw socket does it here).
out=$(python3 - "$CTD_TTRPC" <<'PY'
import socket, struct, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
n = (4 << 20) + 1
s.sendall(struct.pack('>IIBB', n, 1, 1, 0) + b'\0' * n)
hdr = b''
while len(hdr) < 10: hdr += s.recv(10 - len(hdr))
ln, sid, typ, fl = struct.unpack('>IIBB', hdr)
body = b''
while len(body) < ln: body += s.recv(ln - len(body))
print(sid, typ, body.hex())
PY
)
note "oversized frame -> $out"
# Response{status{code=8, message=...}}: field 1 (0a), len, 08 08 = code 8.
[[ $out == "1 2 0a"??"0808"* ]] && pass containerd-oversized-resource-exhausted || fail containerd-oversized-resource-exhausted "$out"
# containerd is still serving after all of that.
out=$("$DRV" "$CTD_TTRPC" exit cvmtest c2 0 2>&1)
[[ $out == OK ]] && pass still-serving || fail still-serving "$out"
[[ $(grep -c '/tasks/exit' "$CTD_DIR/events.log") -eq 2 ]] && pass no-event-from-bad-requests || fail no-event-from-bad-requests "$(cat "$CTD_DIR/events.log")"

exit $FAILED
