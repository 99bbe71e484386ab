#!/usr/bin/env bash
# Load benchmark of the public portal: the hub serving a theme dashboard
# (with its map) versus nginx serving the same page as a static file, side
# by side in one run, with wrk at 64 connections. Needs wrk and nginx
# (Debian: apt-get install wrk nginx-light) and a release build:
#   cargo build --release -p passerelle-hub && bash bench/portal-load.sh
set -euo pipefail
cd "$(dirname "$0")/.."
HUB=${HUB:-target/release/passerelle-hub}
DURATION=${DURATION:-15s}
PAGE=${PAGE:-/theme/activite}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true; rm -rf "$work"' EXIT

"$HUB" demo --dir "$work/demo" --quic-listen 127.0.0.1:0 --http-listen 127.0.0.1:18181 2>"$work/demo.log" &
for _ in $(seq 1 120); do grep -q "indicators composed" "$work/demo.log" 2>/dev/null && break; sleep 0.5; done
grep -q "indicators composed" "$work/demo.log" || { echo "demo did not start" >&2; cat "$work/demo.log" >&2; exit 1; }

mkdir -p "$work/www"
curl -s "http://127.0.0.1:18181$PAGE" -o "$work/www/page.html"
size=$(stat -c %s "$work/www/page.html")
cat > "$work/nginx.conf" <<CONF
worker_processes ${NGINX_WORKERS:-auto};
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 1024; }
http {
  access_log off;
  server { listen 127.0.0.1:18182; root $work/www; location / { try_files /page.html =404; } }
}
CONF
nginx -c "$work/nginx.conf"
sleep 0.5

run() { wrk -t2 -c64 -d"$DURATION" --latency "$1" 2>&1; }
hub_out=$(run "http://127.0.0.1:18181$PAGE")
nginx_out=$(run "http://127.0.0.1:18182/")
rate() { echo "$1" | awk '/Requests\/sec/ {print $2}'; }
p99() { echo "$1" | awk '$1=="99%" {print $2}'; }
echo "page $PAGE: $size bytes"
echo "hub   : $(rate "$hub_out") req/s, p99 $(p99 "$hub_out")"
echo "nginx : $(rate "$nginx_out") req/s, p99 $(p99 "$nginx_out")"
awk -v a="$(rate "$hub_out")" -v b="$(rate "$nginx_out")" 'BEGIN { printf "hub/nginx rate: %.2f\n", a / b }'
