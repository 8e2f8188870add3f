#!/usr/bin/env bash
# Runs `systemd-analyze verify` on the units in this directory as the deb
# installs them: in a scratch root holding the system's own units, a ck
# binary at /usr/bin/ck and the man pages their Documentation= names.
# Templates (NAME@.service, NAME@.timer) are verified as an instance,
# NAME@example. systemd-analyze exits 0 on an unknown key or a specifier it
# cannot resolve (it only warns), so any output at all is a failure here;
# a deliberately misspelt copy checks that this still catches a typo.
# It also checks that each template has the hardening of its single-site
# unit, line for line.
# Usage: contrib/systemd/verify.sh BINARY MANDIR   (make units-check)
set -euo pipefail
bin=$1 man=$2
here=$(cd "$(dirname "$0")" && pwd)
command -v systemd-analyze >/dev/null || { echo "verify.sh: systemd-analyze not found (Debian package systemd)" >&2; exit 1; }
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/usr/bin" "$root/usr/lib/systemd" "$root/etc/systemd/system" "$root/man/man1"
cp -a /usr/lib/systemd/system "$root/usr/lib/systemd/"
install -m 0755 "$bin" "$root/usr/bin/ck"
cp "$here"/*.service "$here"/*.timer "$root/etc/systemd/system/"
cp "$man"/*.1 "$root/man/man1/"

# verify UNIT...: fails on a non-zero exit or on any output.
verify() {
	local out
	if ! out=$(MANPATH="$root/man" systemd-analyze verify --root="$root" "$@" 2>&1) || [ -n "$out" ]; then
		printf '%s\n' "${out:-systemd-analyze verify failed}" >&2
		return 1
	fi
}

units=()
for u in "$here"/*.service "$here"/*.timer; do
	name=$(basename "$u")
	case $name in
	*@.*) name=${name/@./@example.} ;;
	esac
	units+=("/etc/systemd/system/$name")
done
verify "${units[@]}"

# The check itself: a misspelt key in a copy of a template must fail it.
sed 's/^ProtectSystem=/ProtectSistem=/' "$here/ck-sync@.service" >"$root/etc/systemd/system/ck-typo@.service"
if verify /etc/systemd/system/ck-typo@example.service 2>/dev/null; then
	echo "verify.sh: a unit with a misspelt key passed: this check is broken" >&2
	exit 1
fi

for t in ck-sync ck-prune; do
	if ! diff <(sed -n '/^# Hardening/,$p' "$here/$t.service") <(sed -n '/^# Hardening/,$p' "$here/$t@.service") >&2; then
		echo "verify.sh: $t@.service does not have the hardening of $t.service (above: < single-site, > template)" >&2
		exit 1
	fi
done
echo "systemd-analyze verify: ${#units[@]} units OK (templates as @example); templates hardened as the single-site units"
