#!/bin/sh
# ck package: forget the removed units. The ck user and /var/lib/ck stay
# (they may own files an operator still wants); purge removes the state.
set -e
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null 2>&1 || true
fi
if [ "$1" = purge ]; then
	rm -rf /var/lib/ck
fi
exit 0
