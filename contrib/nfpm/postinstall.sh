#!/bin/sh
# ck package: make systemd see the units. The timers are not enabled here:
# ck needs clouds.yaml, the lists and the mapping first (see the README).
set -e
install -d -o ck -g ck -m 0755 /var/lib/ck /var/lib/ck/metrics
# The key of ck's seals (--seal-key-file in the units): made once, kept on
# upgrade; a new key costs one proving download of every sealed image.
if [ ! -e /var/lib/ck/seal.key ]; then
	(umask 077 && head -c 32 /dev/urandom >/var/lib/ck/seal.key)
	chown ck:ck /var/lib/ck/seal.key
fi
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null 2>&1 || true
	# On upgrade, a timer that was enabled picks up the new units.
	for t in ck-sync.timer ck-prune.timer; do
		if systemctl is-enabled --quiet "$t" 2>/dev/null; then
			systemctl restart "$t" >/dev/null 2>&1 || true
		fi
	done
	# The sites' timers (ck-sync@SITE.timer): those running, the same way.
	systemctl try-restart 'ck-sync@*.timer' 'ck-prune@*.timer' >/dev/null 2>&1 || true
fi
if [ ! -e /etc/openstack/clouds.yaml ]; then
	echo "ck: configure /etc/default/ck, /etc/ck/ and /etc/openstack/clouds.yaml, then:"
	echo "    systemctl enable --now ck-sync.timer ck-prune.timer"
	echo "ck: or, for many sites from this host, see /etc/ck/sites/example.yaml"
fi
exit 0
