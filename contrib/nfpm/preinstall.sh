#!/bin/sh
# ck package: the system user the units run as, before its files arrive.
set -e
if ! getent group ck >/dev/null; then
	groupadd --system ck
fi
if ! getent passwd ck >/dev/null; then
	useradd --system --gid ck --home-dir /var/lib/ck --no-create-home \
		--shell /usr/sbin/nologin --comment "ck image-list sync" ck
fi
exit 0
