#!/usr/bin/env bash
# Footprint of a node: stripped binary size, time from start to a live link
# with the hub, and resident memory when idle with 10 datasets in force.
# Needs a release build:
#   cargo build --release --bin passerelle-node --bin passerelle-hub && bash bench/footprint.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-target/release}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT

"$BIN/passerelle-hub" init --dir "$work/hub" >/dev/null 2>&1
port=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BIN/passerelle-hub" serve --dir "$work/hub" --quic-listen "127.0.0.1:$port" --http-listen 127.0.0.1:0 2>"$work/hub.log" &
for _ in $(seq 100); do grep -q "hub started" "$work/hub.log" && break; sleep 0.1; done
token=$("$BIN/passerelle-hub" enroll --dir "$work/hub" --node-id caf-976 --name "Caisse (mesure)" 2>/dev/null)
"$BIN/passerelle-node" init --dir "$work/node" --hub "127.0.0.1:$port" --token "$token" 2>/dev/null
{
  for i in $(seq 1 10); do
    printf '\n[[datasets]]\nname = "jeu_%s"\nkind = "records"\ncommune = "code_commune"\nperiod = "periode"\n[[datasets.dimensions]]\ncolumn = "sexe"\nkind = "sex"\n' "$i"
  done
  printf '\n[policy]\n'
  for i in $(seq 1 10); do
    printf '[[policy.share]]\ndataset = "jeu_%s"\nby = ["sexe"]\nlevels = ["commune", "epci", "department"]\n' "$i"
  done
} >> "$work/node/node.toml"
python3 - "$work" <<'PY'
import random, sys
random.seed(7)
communes = [f"976{n:02d}" for n in range(1, 18)]
for i in range(1, 11):
    with open(f"{sys.argv[1]}/jeu_{i}.csv", "w") as f:
        f.write("code_commune,periode,sexe\n")
        for _ in range(20000):
            f.write(f"{random.choice(communes)},2025-T{random.randint(1,4)},{random.choice('FM')}\n")
PY
for i in $(seq 1 10); do
  "$BIN/passerelle-node" import --dir "$work/node" --by mesure --dataset "jeu_$i" "$work/jeu_$i.csv" 2>/dev/null
done

size=$(stat -c %s "$BIN/passerelle-node")
starts=()
for round in 1 2 3 4 5; do
  : > "$work/node.log"
  t0=$(date +%s%N)
  PASSERELLE_LOG=info "$BIN/passerelle-node" serve --dir "$work/node" 2>"$work/node.log" &
  pid=$!
  while ! grep -q "connected to the hub" "$work/node.log"; do sleep 0.002; done
  t1=$(date +%s%N)
  starts+=($(( (t1 - t0) / 1000000 )))
  if [ "$round" -lt 5 ]; then kill "$pid"; wait "$pid" 2>/dev/null || true; fi
done
sleep 5
rss=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
sorted=$(printf '%s\n' "${starts[@]}" | sort -n | tr '\n' ' ')
median=$(printf '%s\n' "${starts[@]}" | sort -n | sed -n 3p)
echo "node binary (stripped): $((size / 1024 / 1024)) MB ($size bytes)"
echo "start to live link with the hub: median ${median} ms over 5 starts ($sorted ms)"
echo "idle RSS with 10 datasets in force (after 5 s): $((rss / 1024)) MB ($rss kB)"
kill "$pid"
