#!/bin/sh
# ck package: stop the timers before the units go away. deb passes
# "remove"/"upgrade", rpm the number of versions left (0 = removal).
set -e
case "$1" in
remove | purge | 0)
	if [ -d /run/systemd/system ]; then
		systemctl disable --now ck-sync.timer ck-prune.timer >/dev/null 2>&1 || true
		systemctl stop ck-sync.service ck-prune.service >/dev/null 2>&1 || true
		# The sites' timers: the enabled ones are the links in timers.target.wants.
		for t in /etc/systemd/system/timers.target.wants/ck-sync@*.timer \
			/etc/systemd/system/timers.target.wants/ck-prune@*.timer; do
			[ -L "$t" ] || continue
			systemctl disable --now "${t##*/}" >/dev/null 2>&1 || true
		done
		systemctl stop 'ck-sync@*.service' 'ck-prune@*.service' >/dev/null 2>&1 || true
	fi
	;;
esac
exit 0
