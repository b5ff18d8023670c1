#!/usr/bin/env bash
# Installs a release build of kith-server under /opt/kith with the systemd units, on Debian (run as root from a
# checkout). The environment file is created from the example only if there is none; edit it, then
#   systemctl enable --now kith-server        # migrates first (kith-migrate.service), then serves
# See docs/operations.md ("Installing under systemd").
set -euo pipefail
cd "$(dirname "$0")/../.."
prefix=${KITH_PREFIX:-/opt/kith}
swift build -c release --product kith-server
bin=$(swift build -c release --show-bin-path)
install -d "$prefix/bin" "$prefix/docs" /etc/kith
install -m 0755 "$bin/kith-server" "$prefix/bin/kith-server"
# The migrations, the contract, and the server's templates and password list ship as resource bundles next to the binary.
for bundle in "$bin"/kith_KithSchema.resources "$bin"/kith_KithAPI.resources "$bin"/kith_KithServer.resources; do
    rm -rf "$prefix/bin/$(basename "$bundle")"
    cp -R "$bundle" "$prefix/bin/"
done
install -m 0644 docs/operations.md docs/access.md "$prefix/docs/"
[ -f /etc/kith/kith.env ] || install -m 0600 deploy/systemd/kith.env.example /etc/kith/kith.env
[ -f /etc/kith/kith-migrate.env ] || install -m 0600 deploy/systemd/kith-migrate.env.example /etc/kith/kith-migrate.env
install -m 0644 deploy/systemd/kith-migrate.service deploy/systemd/kith-server.service /etc/systemd/system/
systemctl daemon-reload 2>/dev/null || echo "systemd is not running here: the units are installed for its next start" >&2
echo "Installed to $prefix. Edit /etc/kith/kith.env and /etc/kith/kith-migrate.env, then: systemctl enable --now kith-server"
