#!/usr/bin/env bash
# Runs `systemd-analyze verify` on the units in this directory as the deb
# installs them: in a scratch root holding the system's own units, a ck
# binary at /usr/bin/ck and the man pages their Documentation= names.
# Usage: contrib/systemd/verify.sh BINARY MANDIR   (make units-check)
set -euo pipefail
bin=$1 man=$2
here=$(cd "$(dirname "$0")" && pwd)
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/usr/bin" "$root/usr/lib/systemd" "$root/etc/systemd/system" "$root/man/man1"
cp -a /usr/lib/systemd/system "$root/usr/lib/systemd/"
install -m 0755 "$bin" "$root/usr/bin/ck"
cp "$here"/*.service "$here"/*.timer "$root/etc/systemd/system/"
cp "$man"/*.1 "$root/man/man1/"
units=()
for u in "$here"/*.service "$here"/*.timer; do units+=("/etc/systemd/system/$(basename "$u")"); done
MANPATH="$root/man" systemd-analyze verify --root="$root" "${units[@]}"
echo "systemd-analyze verify: ${#units[@]} units OK"
