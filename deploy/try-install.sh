#!/usr/bin/env bash
# Exercises deploy/INSTALL.fr.md as a new partner would: builds the Debian
# packages from BIN_DIR, checks their contents, installs the node package
# into a fresh root and runs every ```sh block of the guide, in order,
# against a real hub started from the hub package. Paths under /var/lib,
# /etc and /var/backups are moved into the fresh root; apt, systemctl and
# sudo are small shims (no systemd in CI): apt unpacks the package,
# systemctl runs the unit's ExecStart. Runs in a private network namespace
# when the kernel allows it.
#   bash deploy/try-install.sh target/release
set -euo pipefail
deploy="$(cd "$(dirname "$0")" && pwd)"
bin_dir="$(cd "${1:?usage: try-install.sh BIN_DIR}" && pwd)"

if [ -z "${PASSERELLE_IN_NETNS:-}" ] && command -v ip >/dev/null && unshare -rn true 2>/dev/null; then
  exec env PASSERELLE_IN_NETNS=1 unshare -rn bash -c 'ip link set lo up 2>/dev/null || true; exec bash "$0" "$@"' "$0" "$@"
fi

work="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "try-install: $*" >&2; for f in "$work"/*.log; do [ -f "$f" ] && { echo "--- $f" >&2; tail -20 "$f" >&2; }; done; exit 1; }

echo "== packages"
DEB_COMPRESSION="${DEB_COMPRESSION:-xz}" bash "$deploy/debian/build.sh" "$bin_dir" "$work/deb" >/dev/null
node_deb="$(ls "$work"/deb/passerelle-node_*.deb)"
hub_deb="$(ls "$work"/deb/passerelle-hub_*.deb)"
node_list="$(dpkg-deb -c "$node_deb")"
for f in ./usr/bin/passerelle-node ./lib/systemd/system/passerelle-node.service ./lib/systemd/system/passerelle-node@.service \
         ./usr/share/doc/passerelle-node/examples/node.toml ./usr/share/doc/passerelle-node/INSTALL.fr.md; do
  grep -q " $f\$" <<<"$node_list" || fail "$f missing from $node_deb"
done
grep -q " ./usr/bin/passerelle-hub$" <<<"$(dpkg-deb -c "$hub_deb")" || fail "passerelle-hub missing from $hub_deb"
unit="$(dpkg-deb --fsys-tarfile "$node_deb" | tar -xO ./lib/systemd/system/passerelle-node.service)"
for line in User=passerelle NoNewPrivileges=yes ProtectSystem=strict StateDirectory=passerelle/node; do
  grep -qx "$line" <<<"$unit" || fail "unit lacks $line"
done
grep -q "adduser --system" <<<"$(dpkg-deb -I "$node_deb" postinst)" || fail "postinst does not create the service user"

echo "== hub (the DEETS side)"
hub_root="$work/hub-root"
dpkg-deb -x "$hub_deb" "$hub_root"
hub_dir="$hub_root/var/lib/passerelle/hub"
mkdir -p "$hub_dir"
"$hub_root/usr/bin/passerelle-hub" init --dir "$hub_dir" --name "DEETS (essai)" >/dev/null 2>"$work/hub-init.log" || fail "hub init"
port=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
PASSERELLE_LOG=info "$hub_root/usr/bin/passerelle-hub" serve --dir "$hub_dir" --quic-listen "127.0.0.1:$port" --http-listen 127.0.0.1:0 2>"$work/hub.log" &
pids+=($!)
for _ in $(seq 100); do grep -q "hub started" "$work/hub.log" && break; sleep 0.1; done
grep -q "hub started" "$work/hub.log" || fail "hub did not start"
JETON="$("$hub_root/usr/bin/passerelle-hub" enroll --dir "$hub_dir" --node-id caf-976 --name "Caisse (essai)")"
HUB="127.0.0.1:$port"
# The two structures the guide hosts (§ 16).
JETON_CCAS="$("$hub_root/usr/bin/passerelle-hub" enroll --dir "$hub_dir" --node-id ccas-mamoudzou --name "CCAS de Mamoudzou (essai)")"
JETON_ASSO="$("$hub_root/usr/bin/passerelle-hub" enroll --dir "$hub_dir" --node-id asso-nayma --name "Association Nayma (essai)")"
export HUB JETON JETON_CCAS JETON_ASSO

echo "== the guide, on a fresh root"
root="$work/root"
mkdir -p "$root" "$work/home"
cp "$node_deb" "$work/home/"
printf 'code_commune,periode,sexe\n' > "$work/home/personnes-recues.csv"
for i in $(seq 1 40); do printf '97611,2025-T1,F\n97608,2025-T1,M\n' >> "$work/home/personnes-recues.csv"; done
script="$work/guide.sh"
{
  cat <<SHIMS
set -euo pipefail
ROOT="$root"
WORK="$work"
export PATH="\$ROOT/usr/bin:\$PATH"
sudo() { local u=root; while [ "\${1:-}" = -u ]; do u="\$2"; shift 2; done; USER="\$u" "\$@"; }
apt() {
  [ "\$1" = install ] || { echo "apt shim: only install" >&2; return 1; }
  shift
  for deb in "\$@"; do dpkg-deb -x "\$deb" "\$ROOT"; done
  # What postinst does, without a system user: the state folder and the
  # /etc link.
  install -d -m 0700 "\$ROOT/var/lib/passerelle" "\$ROOT/var/lib/passerelle/node"
  install -d "\$ROOT/etc/passerelle"
  [ -e "\$ROOT/etc/passerelle/node.toml" ] || ln -s "\$ROOT/var/lib/passerelle/node/node.toml" "\$ROOT/etc/passerelle/node.toml"
}
# No passerelle user here: install's owner options are dropped.
install() {
  local a=()
  while [ \$# -gt 0 ]; do case "\$1" in -o|-g) shift 2 ;; *) a+=("\$1"); shift ;; esac; done
  command install "\${a[@]}"
}
unit_start() {
  # A template's instance (passerelle-node@STRUCTURE) takes %i.
  local unit="\$1" exec dir file="\$1" instance=""
  case "\$unit" in *@*) file="\${unit%%@*}@"; instance="\${unit#*@}" ;; esac
  exec=\$(sed -n 's/^ExecStart=//p' "\$ROOT/lib/systemd/system/\$file.service" | sed "s#/usr/bin/#\$ROOT/usr/bin/#; s#/var/lib/passerelle#\$ROOT/var/lib/passerelle#g; s#%i#\$instance#g")
  dir=\$(sed -n 's/.*--dir \\([^ ]*\\).*/\\1/p' <<<"\$exec")
  PASSERELLE_LOG=info PASSERELLE_LOG_FORMAT=json \$exec 2>>"\$WORK/\$unit.log" &
  echo \$! > "\$WORK/\$unit.pid"
  # Started means linked to the hub, as the node's typed status says
  # (waited for, up to 30 s), not a fixed pause. Status is asked only once
  # the admin socket answers: before that it would open the store itself,
  # and hold it from the starting node.
  for _ in \$(seq 300); do [ -S "\$dir/admin.sock" ] && break; sleep 0.1; done
  for _ in \$(seq 300); do
    "\$ROOT/usr/bin/passerelle-node" status --dir "\$dir" --format json 2>/dev/null \\
      | python3 -c 'import json,sys; l=json.load(sys.stdin)["link"]; sys.exit(0 if l and l["connected"] is True else 1)' && return 0
    sleep 0.1
  done
  echo "unit_start: \$unit never linked to the hub" >&2
  return 1
}
unit_stop() {
  local unit="\$1"
  [ -f "\$WORK/\$unit.pid" ] || return 0
  kill "\$(cat "\$WORK/\$unit.pid")" 2>/dev/null || true
  while kill -0 "\$(cat "\$WORK/\$unit.pid")" 2>/dev/null; do sleep 0.1; done
  rm -f "\$WORK/\$unit.pid"
}
systemctl() {
  case "\$1" in
    enable) shift; [ "\${1:-}" = --now ] && { shift; unit_start "\$1"; } ;;
    start) unit_start "\$2" ;;
    stop) unit_stop "\$2" ;;
    restart) unit_stop "\$2"; unit_start "\$2" ;;
    daemon-reload) ;;
    *) echo "systemctl shim: \$1 not supported" >&2; return 1 ;;
  esac
}
cd "$work/home"
SHIMS
  awk '/^```sh$/ {inb=1; next} /^```/ {inb=0; next} inb {print}' "$deploy/INSTALL.fr.md" \
    | sed -e "s#/var/lib/passerelle#\$ROOT/var/lib/passerelle#g" -e "s#/etc/passerelle#\$ROOT/etc/passerelle#g"
  # Typed state while the node still runs: the node's status and the
  # hub's listing, for the checks below.
  echo 'passerelle-node status --dir "$ROOT/var/lib/passerelle/node" --format json > "$WORK/node-status.json"'
  # The hub registers the link a moment after the node sees it: wait (up
  # to 10 s) for the hub to list it (and the hosted nodes) connected,
  # keeping its last answer.
  cat <<HUBCHECK
for _ in \$(seq 100); do
  "$hub_root/usr/bin/passerelle-hub" nodes --dir "$hub_dir" --format json > "\$WORK/hub-nodes.json"
  python3 -c 'import json,sys; up={r["node_id"] for r in json.load(open(sys.argv[1])) if r["connected"] is True}; sys.exit(0 if {"caf-976","ccas-mamoudzou","asso-nayma"} <= up else 1)' "\$WORK/hub-nodes.json" && break
  sleep 0.1
done
HUBCHECK
  echo 'unit_stop passerelle-node'
  echo 'unit_stop passerelle-node@ccas-mamoudzou'
  echo 'unit_stop passerelle-node@asso-nayma'
} > "$script"
bash "$script" > "$work/guide.log" 2>&1 || { cat "$work/guide.log" >&2; fail "a command of the guide failed"; }

echo "== checks"
python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
assert s["running"] is True and s["link"]["connected"] is True, s' "$work/node-status.json" \
  || { cat "$work/guide.log" "$work/node-status.json" >&2; fail "the node was not connected at the end of the guide"; }
python3 -c '
import json, sys
n = [r for r in json.load(open(sys.argv[1])) if r["node_id"] == "caf-976"]
assert n and n[0]["connected"] is True and n[0]["revoked_at"] is None, n' "$work/hub-nodes.json" \
  || { cat "$work/hub-nodes.json" >&2; fail "the hub did not list the node as connected"; }
grep -q "verdict: the node is ready" "$work/guide.log" || { cat "$work/guide.log" >&2; fail "doctor did not pass"; }
grep -q "of personnes_recues: 80 rows" "$work/guide.log" || { cat "$work/guide.log" >&2; fail "the import did not go through"; }
grep -q "^la console répond$" "$work/guide.log" || { cat "$work/guide.log" >&2; fail "the console did not answer"; }
grep -q "^awa  *Awa Saïd  *data,admin " "$work/guide.log" || { cat "$work/guide.log" >&2; fail "the agents were not created"; }
[ -s "$root/var/lib/passerelle/sauvegardes/node.tar" ] || fail "no backup written"
# § 15: a batch through the API, one through the watched folder, and the
# token kept only as its hash.
"$root/usr/bin/passerelle-node" batches --dir "$root/var/lib/passerelle/node" --format json | python3 -c '
import json, sys
by = sorted(b["by"] for b in json.load(sys.stdin))
assert "token:logiciel-metier" in by and "folder:personnes_recues" in by, by' || fail "the API or the watched folder did not import"
python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert "/api/v1/datasets/{dataset}/files" in d["paths"], d["paths"].keys()' "$work/home/openapi.json" || fail "no OpenAPI document"
grep -q "^2;code_commune;« 99999 » n'est pas un code de commune de Mayotte" "$work/guide.log" \
  || { cat "$work/guide.log" >&2; fail "the watched folder's report is not in French"; }
grep -q "audit chain intact" "$work/guide.log" || { cat "$work/guide.log" >&2; fail "audit verify did not pass"; }
# The chain names who acted on every way in: the command line (agents,
# the API token), the API token, the watched folder.
"$root/usr/bin/passerelle-node" audit show --dir "$root/var/lib/passerelle/node" --format json | python3 -c '
import json, sys
done = {(r["actor"], r["action"]) for r in json.load(sys.stdin)}
for want in [("operator:passerelle", "agent_add"), ("operator:passerelle", "token_add"),
             ("token:logiciel-metier", "batch_import"), ("folder:personnes_recues", "batch_import"),
             ("folder:personnes_recues", "import_refused")]:
    assert want in done, (want, sorted(done))' || fail "the audit chain does not name who acted"
api_token="$("$root/usr/bin/passerelle-node" token add --dir "$root/var/lib/passerelle/node" --name essai --scope deposit 2>/dev/null)"
grep -qx "pnt_[0-9a-f]\{64\}" <<<"$api_token" || fail "token add did not print a token"
! grep -rqF "${api_token#pnt_}" "$root/var/lib/passerelle/node" || fail "the API token is stored in clear"
# § 16: two hosted nodes, each with its own folder, key and store, both
# linked to the hub.
h1="$root/var/lib/passerelle-nodes/ccas-mamoudzou"; h2="$root/var/lib/passerelle-nodes/asso-nayma"
for h in "$h1" "$h2"; do [ -s "$h/node.key" ] && [ -d "$h/store" ] || fail "$h is not a node folder"; done
! cmp -s "$h1/node.key" "$h2/node.key" || fail "two hosted nodes share a key"
for id in ccas-mamoudzou asso-nayma; do
  grep -q "\"connected\": true" <(python3 -c '
import json, sys
print(json.dumps([r for r in json.load(open(sys.argv[1])) if r["node_id"] == sys.argv[2]]))' "$work/hub-nodes.json" "$id") \
    || fail "hosted node $id was not connected"
done
"$hub_root/usr/bin/passerelle-hub" nodes --dir "$hub_dir" --format csv | grep -q "^caf-976,Caisse (essai)" || fail "the hub does not know the node"
# JSON listings are typed: booleans, numbers, RFC 3339 times, null.
"$hub_root/usr/bin/passerelle-hub" nodes --dir "$hub_dir" --format json | python3 -c '
import json, sys
n = [r for r in json.load(sys.stdin) if r["node_id"] == "caf-976"][0]
assert type(n["connected"]) is bool and n["revoked_at"] is None, n
assert n["cert_expires"].endswith("Z") and n["last_seen"].endswith("Z"), n' || fail "the hub's JSON listing is not typed"
"$root/usr/bin/passerelle-node" batches --dir "$root/var/lib/passerelle/node" --format json | python3 -c '
import json, sys
b = json.load(sys.stdin)[0]
assert b["rows"] == 80 and type(b["rows"]) is int and b["periods"] == ["2025-T1"], b
assert b["imported"].endswith("Z"), b' || fail "the node's JSON listing is not typed"
grep '^{' "$work/passerelle-node.log" | python3 -c 'import json,sys; n=sum(1 for l in sys.stdin if json.loads(l)); assert n > 0' || fail "service logs are not JSON lines"
echo "try-install: ok — packages built and checked; the guide took a fresh root to a connected node, an import, the agents' console, a diagnosis, a backup, an import through the API and the watched folder, and two hosted nodes"
