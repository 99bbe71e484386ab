#!/usr/bin/env bash
# Builds the Debian packages passerelle-node and passerelle-hub from
# already built binaries:
#   cargo build --release --bin passerelle-node --bin passerelle-hub
#   bash deploy/debian/build.sh target/release target/deb
# Each package holds its binary, a hardened systemd unit (and, for the
# node, the template unit passerelle-node@.service for hosted structures), the example
# configuration (every key commented) and the documentation. Needs
# dpkg-deb only; files are owned by root in the archive.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
deploy="$(dirname "$here")"
repo="$(dirname "$deploy")"
bin_dir="${1:?usage: build.sh BIN_DIR OUT_DIR}"
out_dir="${2:?usage: build.sh BIN_DIR OUT_DIR}"
version="$(sed -n 's/^version = "\(.*\)"/\1/p' "$repo/Cargo.toml" | head -1)"
arch="$(dpkg --print-architecture 2>/dev/null || echo amd64)"
mkdir -p "$out_dir"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

build() {
  local name="$1" role="$2" summary="$3"
  local root="$work/$name"
  install -d "$root/DEBIAN" "$root/usr/bin" "$root/lib/systemd/system" \
    "$root/usr/share/doc/$name/examples" "$root/etc/passerelle"
  install -m 0755 "$bin_dir/$name" "$root/usr/bin/$name"
  strip --strip-unneeded "$root/usr/bin/$name" 2>/dev/null || true
  install -m 0644 "$deploy/systemd/$name.service" "$root/lib/systemd/system/$name.service"
  # The node's template unit: one instance per hosted structure.
  if [ -f "$deploy/systemd/$name@.service" ]; then
    install -m 0644 "$deploy/systemd/$name@.service" "$root/lib/systemd/system/$name@.service"
  fi
  install -m 0644 "$deploy/$role.example.toml" "$root/usr/share/doc/$name/examples/$role.toml"
  install -m 0644 "$deploy/INSTALL.fr.md" "$root/usr/share/doc/$name/INSTALL.fr.md"
  install -m 0644 "$repo/README.md" "$root/usr/share/doc/$name/README.md"
  cat > "$root/DEBIAN/control" <<CONTROL
Package: $name
Version: $version
Architecture: $arch
Maintainer: Passerelle <passerelle@invalid.example>
Section: net
Priority: optional
Depends: adduser, libc6
Description: $summary
 Passerelle: federated data exchange and digital vault for social and
 medico-social observation, built first for Mayotte.
CONTROL
  cat > "$root/DEBIAN/postinst" <<POSTINST
#!/bin/sh
set -e
if [ "\$1" = configure ]; then
  if ! getent passwd passerelle >/dev/null; then
    adduser --system --group --home /var/lib/passerelle --no-create-home passerelle >/dev/null
  fi
  install -d -o passerelle -g passerelle -m 0700 /var/lib/passerelle /var/lib/passerelle/$role
  install -d -m 0755 /etc/passerelle
  # The configuration lives with the state; /etc/passerelle points at it.
  [ -e /etc/passerelle/$role.toml ] || ln -s /var/lib/passerelle/$role/$role.toml /etc/passerelle/$role.toml
  if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null || true
  fi
fi
exit 0
POSTINST
  cat > "$root/DEBIAN/prerm" <<PRERM
#!/bin/sh
set -e
if [ -d /run/systemd/system ] && [ "\$1" = remove ]; then
  systemctl stop $name.service >/dev/null 2>&1 || true
fi
exit 0
PRERM
  chmod 0755 "$root/DEBIAN/postinst" "$root/DEBIAN/prerm"
  rmdir "$root/etc/passerelle"
  rmdir "$root/etc" 2>/dev/null || true
  dpkg-deb --root-owner-group -Z"${DEB_COMPRESSION:-xz}" --build "$root" "$out_dir/${name}_${version}_${arch}.deb" >/dev/null
  echo "$out_dir/${name}_${version}_${arch}.deb"
}

build passerelle-node node "Passerelle node: an institution's data and documents, linked to the hub"
build passerelle-hub hub "Passerelle hub: federation, indicators, digital vault and portal"
