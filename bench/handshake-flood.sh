#!/usr/bin/env bash
# Hub memory under a flood of unfinished QUIC handshakes (issue 11): the
# hub's resident memory idle, then its peak while passerelle-flood sends
# Initial packets that start handshakes and never finish them, in three
# settings of the quic_* keys of hub.toml:
#   defaults        one source address, the shipped limits
#   full cap        the cap filled: Retry off and no per-address limit, so
#                   every unproven packet starts a handshake up to
#                   quic_max_handshakes (the worst the limits allow)
#   no admission    every limit raised to 65536 and a 60 s deadline: what
#                   the hub would hold without admission control
# Needs a release build:
#   cargo build --release -p passerelle-hub --bin passerelle-hub -p passerelle-tests --bin passerelle-flood
#   bash bench/handshake-flood.sh [PER_SECOND] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-target/release}
RATE=${1:-10000}
SECS=${2:-20}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT

rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
hwm() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }
gauge() {
  python3 - "$1" "$2" <<'PY'
import sys, urllib.request
text = urllib.request.urlopen(f"http://{sys.argv[1]}/metrics").read().decode()
for line in text.splitlines():
    if line.startswith(sys.argv[2] + " "):
        print(line.split()[1]); break
else:
    print("-")
PY
}
free_port() { python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_'"$1"'); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

run() {
  local name=$1 max=$2 retry=$3 per=$4 conns=$5 timeout=$6
  rm -rf "$work/hub"
  "$BIN/passerelle-hub" init --dir "$work/hub" >/dev/null 2>&1
  python3 - "$work/hub/hub.toml" "$max" "$retry" "$per" "$conns" "$timeout" <<'PY'
import re, sys
path, mx, retry, per, conns, timeout = sys.argv[1:]
text = open(path).read()
for key, value in [("quic_max_handshakes", mx), ("quic_retry_above", retry),
                   ("quic_handshakes_per_address", per), ("quic_connections_per_address", conns),
                   ("quic_handshake_timeout", f'"{timeout}"')]:
    text = re.sub(rf"^{key} = .*$", f"{key} = {value}", text, flags=re.M)
open(path, "w").write(text)
PY
  local quic http
  quic=$(free_port DGRAM); http=$(free_port STREAM)
  PASSERELLE_LOG=warn "$BIN/passerelle-hub" serve --dir "$work/hub" \
    --quic-listen "127.0.0.1:$quic" --http-listen "127.0.0.1:$http" 2>"$work/hub.log" &
  local pid=$!
  for _ in $(seq 100); do gauge "127.0.0.1:$http" passerelle_quic_handshakes_pending >/dev/null 2>&1 && break; sleep 0.1; done
  sleep 2
  local idle peak=0 pending_peak=0
  idle=$(rss "$pid")
  "$BIN/passerelle-flood" "127.0.0.1:$quic" 127.0.0.2 "$RATE" "$SECS" >"$work/flood.out" &
  local flood=$!
  while kill -0 "$flood" 2>/dev/null; do
    local r p
    r=$(rss "$pid"); [ "$r" -gt "$peak" ] && peak=$r
    p=$(gauge "127.0.0.1:$http" passerelle_quic_handshakes_pending 2>/dev/null || echo 0)
    p=${p%.*}; [ "${p:-0}" -gt "$pending_peak" ] && pending_peak=$p
    sleep 0.5
  done
  wait "$flood" || true
  local after
  after=$(rss "$pid")
  printf '%-13s idle %6d kB  peak %7d kB (VmHWM %7d kB)  after %6d kB  pending handshakes at most %5s  flood: %s\n' \
    "$name" "$idle" "$peak" "$(hwm "$pid")" "$after" "$pending_peak" "$(cat "$work/flood.out")"
  kill "$pid"; wait "$pid" 2>/dev/null || true
}

#    name          max    retry  per-addr conns  deadline
run "defaults"     256    32     16       64     10s
run "full cap"     256    256    256      256    10s
run "no admission" 65536  65536  65536    65536  60s
