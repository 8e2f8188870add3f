#!/usr/bin/env bash
# devcloud.sh — a real Keystone + Glance and two OCI registries on 127.0.0.1 for ck's
# tests, CI and demo.
#
#   devcloud.sh up             install (if missing), configure, start, provision, write
#                              clouds.yaml; then the registries and oras (below)
#   devcloud.sh registry-up    only the registries and oras, no Keystone or Glance
#   devcloud.sh down           stop the processes this script started (and nothing else)
#   devcloud.sh registry-down  stop only the registries
#   devcloud.sh status         show whether each service runs and answers
#   devcloud.sh env            print `export …` lines: eval "$(contrib/devcloud/devcloud.sh env)"
#   devcloud.sh logs           print the tail of every service's logs (for CI failures)
#
# State (configs, SQLite DBs, image store, registry storage, test CA, logs, pids,
# clouds.yaml, ids.env, registry.env) lives in ${CK_DEVCLOUD_DIR:-<repo>/.devcloud}.
# `down && rm -rf <state>` starts from scratch.
# Debian 12's OpenStack Zed libraries; see docs/glance-local.md for why each choice is made.
# Registries: Debian's docker-registry (distribution 2.8) with TLS from a test CA made
# here, one anonymous (port CK_DEVCLOUD_REGISTRY_PORT, default 5443) and one with htpasswd
# auth (CK_DEVCLOUD_REGISTRY_AUTH_PORT, default 5444), ports fixed at the first start; the
# oras CLI (go install) pushes test artifacts the way EGI's pipeline does.
# Passwords below are fixed and for this throw-away loopback cloud only; the registry's
# test password is random, made once into registry.env.
set -euo pipefail
shopt -s inherit_errexit

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/../.." && pwd)
STATE=${CK_DEVCLOUD_DIR:-$REPO_ROOT/.devcloud}

KS_PORT=5000
GL_PORT=9292
KS_URL="http://127.0.0.1:$KS_PORT"
GL_URL="http://127.0.0.1:$GL_PORT"
REGION=RegionOne

ADMIN_PASSWORD=devcloud-admin
GLANCE_PASSWORD=devcloud-glance
CK_PASSWORD=devcloud-ck
ALICE_PASSWORD=devcloud-alice
BOB_PASSWORD=devcloud-bob

# The python3 first on PATH may be a pyenv build that cannot see Debian's dist-packages.
PY=/usr/bin/python3
PACKAGES=(python3-keystone python3-glance python3-keystonemiddleware uwsgi-core
	uwsgi-plugin-python3 qemu-utils sqlite3 curl jq)
# python3-bcrypt hashes the htpasswd entry (the registry accepts only bcrypt; keystone
# depends on it anyway); qemu-utils makes the qcow2 disks the registry tests push.
REGISTRY_PACKAGES=(docker-registry openssl python3-bcrypt qemu-utils curl)
ORAS_VERSION=1.3.6

log() { printf 'devcloud: %s\n' "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

# now_ms prints a millisecond clock for the timings printed by `up`.
now_ms() { date +%s%3N; }

# SVC_ENV prefixes every service command with an environment that cannot leak a
# virtualenv or pyenv into Debian's python (an array, not a function, so setsid can run it).
SVC_ENV=(env -u PYTHONPATH -u PYTHONHOME -u VIRTUAL_ENV -u PYENV_VERSION
	PATH=/usr/sbin:/usr/bin:/sbin:/bin)

# ---------------------------------------------------------------- install

# missing_packages PACKAGE... prints those that are not installed (one dpkg-query for
# all: each call costs a second on a busy VM).
missing_packages() {
	local p installed
	installed=$(dpkg-query -W -f='${Package} ${Status}\n' "$@" 2>/dev/null |
		awk '$2 == "install" && $3 == "ok" && $4 == "installed" {print $1}') || true
	for p in "$@"; do
		grep -qx -- "$p" <<<"$installed" || printf '%s\n' "$p"
	done
}

apt_retry() {
	local i
	for i in 1 2 3 4; do
		if DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=300 "$@"; then
			return 0
		fi
		log "apt-get $1 failed (attempt $i), retrying"
		sleep $((i * 5))
	done
	return 1
}

# install_packages PACKAGE... installs those that are missing.
install_packages() {
	local missing
	mapfile -t missing < <(missing_packages "$@")
	((${#missing[@]} == 0)) && return 0
	[[ $(id -u) == 0 ]] || die "packages missing (${missing[*]}); run as root or: sudo apt-get install ${missing[*]}"
	log "installing ${missing[*]}"
	# Library packages only (and docker-registry, whose own service is never used): the
	# server packages ask debconf questions and start daemons. A policy-rc.d returning 101
	# stops any package from starting one during the install.
	local made_policy=""
	if [[ ! -e /usr/sbin/policy-rc.d ]]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
		made_policy=1
	fi
	local rc=0 aptlog=$STATE/logs/apt.log
	mkdir -p "$STATE/logs"
	{ apt_retry update && apt_retry install -y --no-install-recommends "${missing[@]}"; } >>"$aptlog" 2>&1 || rc=$?
	[[ -n $made_policy ]] && rm -f /usr/sbin/policy-rc.d
	if ((rc != 0)); then
		tail -n 40 "$aptlog" >&2
		die "apt-get install failed (full log: $aptlog)"
	fi
}

# ---------------------------------------------------------------- configure

write_configs() {
	mkdir -p "$STATE"/{keystone,glance/images,glance/staging,glance/tasks,logs,run}
	chmod 700 "$STATE/keystone"

	cat >"$STATE/keystone/keystone.conf" <<EOF
[DEFAULT]
log_file = $STATE/logs/keystone.log
[database]
connection = sqlite:///$STATE/keystone/keystone.db
[token]
provider = fernet
[fernet_tokens]
key_repository = $STATE/keystone/fernet-keys
[fernet_receipts]
key_repository = $STATE/keystone/fernet-keys
[credential]
key_repository = $STATE/keystone/credential-keys
[identity]
# bcrypt's default of 12 rounds costs ~350 ms per login; tests log in a lot.
password_hash_rounds = 4
[cache]
enabled = true
backend = dogpile.cache.memory
EOF

	cat >"$STATE/keystone/wsgi.py" <<'EOF'
# uwsgi entry point: the same thing /usr/bin/keystone-wsgi-public builds.
from keystone.server.wsgi import initialize_public_application
application = initialize_public_application()
EOF

	# Our own paste pipeline: the packaged one lives in glance-common (a server package).
	cat >"$STATE/glance/glance-api-paste.ini" <<'EOF'
[pipeline:glance-api-keystone]
pipeline = healthcheck http_proxy_to_wsgi versionnegotiation authtoken context rootapp

[composite:rootapp]
paste.composite_factory = glance.api:root_app_factory
/: apiversions
/v2: apiv2app

[app:apiversions]
paste.app_factory = glance.api.versions:create_resource

[app:apiv2app]
paste.app_factory = glance.api.v2.router:API.factory

[filter:healthcheck]
paste.filter_factory = oslo_middleware:Healthcheck.factory

[filter:versionnegotiation]
paste.filter_factory = glance.api.middleware.version_negotiation:VersionNegotiationFilter.factory

[filter:context]
paste.filter_factory = glance.api.middleware.context:ContextMiddleware.factory

[filter:authtoken]
paste.filter_factory = keystonemiddleware.auth_token:filter_factory
delay_auth_decision = true

[filter:http_proxy_to_wsgi]
paste.filter_factory = oslo_middleware:HTTPProxyToWSGI.factory
EOF

	cat >"$STATE/glance/glance-api.conf" <<EOF
[DEFAULT]
bind_host = 127.0.0.1
bind_port = $GL_PORT
workers = 1
log_file = $STATE/logs/glance-api.log
enabled_backends = local:file
# List options need brackets: without them every image create fails with a 500.
enabled_import_methods = [glance-direct,web-download]
[glance_store]
default_backend = local
[local]
filesystem_store_datadir = $STATE/glance/images
[os_glance_staging_store]
filesystem_store_datadir = $STATE/glance/staging
[os_glance_tasks_store]
filesystem_store_datadir = $STATE/glance/tasks
[database]
connection = sqlite:///$STATE/glance/glance.db
[paste_deploy]
flavor = keystone
config_file = $STATE/glance/glance-api-paste.ini
[keystone_authtoken]
www_authenticate_uri = $KS_URL
auth_url = $KS_URL
auth_type = password
user_domain_name = Default
project_domain_name = Default
project_name = service
username = glance
password = $GLANCE_PASSWORD
region_name = $REGION
# The default (internal) finds no usable endpoint: every request would be a 500.
interface = public
[oslo_policy]
enforce_new_defaults = false
enforce_scope = false
[import_filtering_opts]
# web-download from a test's httptest server on loopback, any port.
allowed_schemes = [http,https]
allowed_hosts = [127.0.0.1,localhost]
allowed_ports = []
EOF
}

# km runs keystone-manage; its chatter (and eventlet's noise at exit) goes to a log that is
# printed only when it fails.
km() {
	"${SVC_ENV[@]}" "$PY" /usr/bin/keystone-manage --config-file "$STATE/keystone/keystone.conf" \
		"$@" >>"$STATE/logs/keystone-manage.log" 2>&1 || {
		tail -n 30 "$STATE/logs/keystone-manage.log" >&2
		die "keystone-manage $1 failed"
	}
}

init_keystone() {
	[[ -e $STATE/keystone/.initialised ]] && return 0
	log "keystone: db_sync, fernet and credential keys, bootstrap"
	km db_sync
	sqlite3 "$STATE/keystone/keystone.db" 'PRAGMA journal_mode=WAL;' >/dev/null
	km fernet_setup --keystone-user root --keystone-group root
	km credential_setup --keystone-user root --keystone-group root
	km bootstrap --bootstrap-password "$ADMIN_PASSWORD" \
		--bootstrap-region-id "$REGION" \
		--bootstrap-admin-url "$KS_URL/v3" \
		--bootstrap-public-url "$KS_URL/v3" \
		--bootstrap-internal-url "$KS_URL/v3"
	touch "$STATE/keystone/.initialised"
}

init_glance() {
	[[ -e $STATE/glance/.initialised ]] && return 0
	log "glance: db_sync"
	"${SVC_ENV[@]}" "$PY" -m glance.cmd.manage --config-file "$STATE/glance/glance-api.conf" db_sync \
		>>"$STATE/logs/glance-manage.log" 2>&1 || {
		tail -n 30 "$STATE/logs/glance-manage.log" >&2
		die "glance db_sync failed"
	}
	sqlite3 "$STATE/glance/glance.db" 'PRAGMA journal_mode=WAL;' >/dev/null
	touch "$STATE/glance/.initialised"
}

# ---------------------------------------------------------------- processes

pidfile() { printf '%s/run/%s.pid' "$STATE" "$1"; }

# running NAME succeeds when the pid recorded for NAME is alive and still runs from our
# state dir, so a recycled pid is never mistaken for ours.
running() {
	local f pid
	f=$(pidfile "$1")
	[[ -s $f ]] || return 1
	pid=$(<"$f")
	[[ -r /proc/$pid/cmdline ]] || return 1
	tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$STATE/"
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start_keystone() {
	running keystone && return 0
	port_busy "$KS_PORT" && die "port $KS_PORT is in use by a process this script did not start"
	# 1 process x 1 thread: two writers on SQLite give "database is locked".
	# "Connection: close" stops keystonemiddleware from reusing a socket that uwsgi's
	# http-socket has already dropped (the cause of the occasional 401 at start).
	setsid "${SVC_ENV[@]}" OS_KEYSTONE_CONFIG_FILES="$STATE/keystone/keystone.conf" \
		/usr/bin/uwsgi-core --plugin-dir /usr/lib/uwsgi/plugins --plugin python3 \
		--http-socket "127.0.0.1:$KS_PORT" --wsgi-file "$STATE/keystone/wsgi.py" \
		--master --die-on-term --need-app --processes 1 --threads 1 \
		--buffer-size 65535 --add-header 'Connection: close' \
		</dev/null >>"$STATE/logs/keystone-uwsgi.log" 2>&1 9>&- &
	echo $! >"$(pidfile keystone)"
}

start_glance() {
	running glance && return 0
	port_busy "$GL_PORT" && die "port $GL_PORT is in use by a process this script did not start"
	setsid "${SVC_ENV[@]}" "$PY" -m glance.cmd.api --config-file "$STATE/glance/glance-api.conf" \
		</dev/null >>"$STATE/logs/glance-api.stdout.log" 2>&1 9>&- &
	echo $! >"$(pidfile glance)"
}

# stop NAME signals the process group that setsid gave the recorded pid (the service and
# the workers it forked), and nothing else.
stop() {
	local f pid i target
	f=$(pidfile "$1")
	if ! running "$1"; then
		rm -f "$f"
		return 0
	fi
	pid=$(<"$f")
	target=$pid
	[[ $(ps -o pgid= -p "$pid" | tr -d ' ') == "$pid" ]] && target=-$pid
	kill -TERM -- "$target" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do
		kill -0 -- "$target" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL -- "$target" 2>/dev/null || true
	rm -f "$f"
	log "$1 stopped (pid $pid)"
}

# wait_http URL SECONDS NAME polls until URL answers 2xx, or the service died.
wait_http() {
	local url=$1 secs=$2 name=$3 i
	for ((i = 0; i < secs * 10; i++)); do
		curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null && return 0
		running "$name" || {
			log "$name exited during start"
			return 1
		}
		sleep 0.1
	done
	log "$name did not answer $url within ${secs}s"
	return 1
}

# ---------------------------------------------------------------- keystone API

# token USER PASSWORD PROJECT [PROJECT_DOMAIN] prints a project-scoped token.
token() {
	local body
	body=$(jq -nc --arg u "$1" --arg p "$2" --arg pr "$3" --arg pd "${4:-Default}" '{auth:{
		identity:{methods:["password"],password:{user:{name:$u,domain:{name:"Default"},password:$p}}},
		scope:{project:{name:$pr,domain:{name:$pd}}}}}')
	curl -fsS --max-time 60 -D - -o /dev/null -H 'Content-Type: application/json' \
		-d "$body" "$KS_URL/v3/auth/tokens" |
		awk 'tolower($1)=="x-subject-token:" {gsub("\r",""); print $2}'
}

TOKEN=""
# ks METHOD PATH [JSON] calls Keystone with the admin token and prints the reply body.
ks() {
	curl -fsS --max-time 60 -X "$1" -H "X-Auth-Token: $TOKEN" \
		-H 'Content-Type: application/json' ${3:+-d "$3"} "$KS_URL/v3$2"
}

# ensure KIND QUERY JSON prints the id of the first KIND matching QUERY, creating it from
# JSON when there is none (so provisioning can run again safely).
ensure() {
	local kind=$1 query=$2 json=$3 id
	id=$(ks GET "/$kind?$query" | jq -r ".${kind}[0].id // empty")
	if [[ -z $id ]]; then
		id=$(ks POST "/$kind" "$json" | jq -r '.[keys[0]].id')
	fi
	printf '%s' "$id"
}

ensure_project() { # NAME DOMAIN_ID
	ensure projects "name=$1&domain_id=$2" "{\"project\":{\"name\":\"$1\",\"domain_id\":\"$2\"}}"
}

ensure_user() { # NAME PASSWORD
	ensure users "name=$1&domain_id=default" \
		"{\"user\":{\"name\":\"$1\",\"domain_id\":\"default\",\"password\":\"$2\"}}"
}

grant() { # USER_ID PROJECT_ID ROLE_ID...
	local u=$1 p=$2 r
	shift 2
	for r in "$@"; do ks PUT "/projects/$p/users/$u/roles/$r" >/dev/null; done
}

provision() {
	if [[ -e $STATE/.provisioned && -s $STATE/ids.env ]]; then
		return 0
	fi
	log "keystone: provisioning domains, projects, users, roles, image endpoints"
	TOKEN=$(token admin "$ADMIN_PASSWORD" admin)
	[[ -n $TOKEN ]] || die "no admin token"
	local admin member reader egi service glance svc ep iface
	admin=$(ensure roles "name=admin" '{"role":{"name":"admin"}}')
	member=$(ensure roles "name=member" '{"role":{"name":"member"}}')
	reader=$(ensure roles "name=reader" '{"role":{"name":"reader"}}')
	egi=$(ensure domains "name=egi" '{"domain":{"name":"egi","description":"second domain, for domain-scoped lookups"}}')

	service=$(ensure_project service default)
	glance=$(ensure_user glance "$GLANCE_PASSWORD")
	grant "$glance" "$service" "$admin"
	svc=$(ensure services "type=image" '{"service":{"type":"image","name":"glance"}}')
	for iface in public internal; do
		ep=$(ks GET "/endpoints?service_id=$svc&interface=$iface" | jq -r '.endpoints[0].id // empty')
		[[ -n $ep ]] || ks POST /endpoints "{\"endpoint\":{\"service_id\":\"$svc\",\"interface\":\"$iface\",\"region_id\":\"$REGION\",\"url\":\"$GL_URL\"}}" >/dev/null
	done

	local p_ck p_alpha p_beta u_ck u_alice u_bob
	p_ck=$(ensure_project ck default)
	p_alpha=$(ensure_project vo-alpha default)
	p_beta=$(ensure_project vo-beta "$egi")
	u_ck=$(ensure_user ck "$CK_PASSWORD")
	u_alice=$(ensure_user alice "$ALICE_PASSWORD")
	u_bob=$(ensure_user bob "$BOB_PASSWORD")
	# ck re-scopes its token to each VO's project, like cloudkeeper-os's user.
	grant "$u_ck" "$p_ck" "$member" "$reader"
	grant "$u_ck" "$p_alpha" "$member" "$reader"
	grant "$u_ck" "$p_beta" "$member" "$reader"
	grant "$u_alice" "$p_alpha" "$member" "$reader"
	grant "$u_bob" "$p_beta" "$member" "$reader"

	cat >"$STATE/ids.env" <<EOF
CK_DEVCLOUD_PROJECT_CK=$p_ck
CK_DEVCLOUD_PROJECT_VO_ALPHA=$p_alpha
CK_DEVCLOUD_PROJECT_VO_BETA=$p_beta
CK_DEVCLOUD_DOMAIN_EGI=$egi
EOF
	touch "$STATE/.provisioned"
}

write_clouds_yaml() {
	local f=$STATE/clouds.yaml
	{
		echo "# Written by contrib/devcloud/devcloud.sh: a throw-away cloud on 127.0.0.1."
		echo "clouds:"
		cloud_entry admin admin "$ADMIN_PASSWORD" admin Default
		cloud_entry ck ck "$CK_PASSWORD" ck Default
		cloud_entry ck-vo-alpha ck "$CK_PASSWORD" vo-alpha Default
		cloud_entry ck-vo-beta ck "$CK_PASSWORD" vo-beta egi
		cloud_entry alice alice "$ALICE_PASSWORD" vo-alpha Default
		cloud_entry bob bob "$BOB_PASSWORD" vo-beta egi
	} >"$f.tmp"
	chmod 600 "$f.tmp"
	mv "$f.tmp" "$f"
}

cloud_entry() { # CLOUD USER PASSWORD PROJECT PROJECT_DOMAIN
	cat <<EOF
  $1:
    auth_type: password
    auth:
      auth_url: $KS_URL/v3
      username: $2
      password: $3
      user_domain_name: Default
      project_name: $4
      project_domain_name: $5
    region_name: $REGION
    interface: public
    identity_api_version: 3
EOF
}

# ---------------------------------------------------------------- readiness

# glance_probe does what a client does — a real token, then an authenticated image list —
# and prints the HTTP status of the list (000 when it got no answer).
glance_probe() {
	local t
	t=$(token ck "$CK_PASSWORD" ck 2>/dev/null) || t=""
	if [[ -z $t ]]; then
		echo 000
		return 0
	fi
	curl -sS -o /dev/null -w '%{http_code}' --max-time 30 -H "X-Auth-Token: $t" \
		"$GL_URL/v2/images?limit=1" 2>/dev/null || true
}

glance_ready() { [[ $(glance_probe) == 200 ]]; }

# start_and_wait_glance fails at once on a 401 (keystonemiddleware's stale-connection flake,
# cured by a restart) and otherwise waits up to two minutes: a cold page cache on a small VM
# makes the first token and the first list take tens of seconds.
start_and_wait_glance() {
	local code i
	start_glance
	wait_http "$GL_URL/healthcheck" 120 glance || return 1
	for ((i = 0; i < 120; i++)); do
		code=$(glance_probe)
		case $code in
		200) return 0 ;;
		401)
			log "GET /v2/images answered 401"
			return 1
			;;
		esac
		running glance || return 1
		sleep 1
	done
	log "GET /v2/images last answered $code"
	return 1
}

cmd_logs() {
	local f
	for f in keystone.log keystone-uwsgi.log glance-api.log glance-api.stdout.log \
		registry-anon.log registry-auth.log registry-anon.access.log registry-auth.access.log; do
		[[ -e $STATE/logs/$f ]] || continue
		printf '==> %s <==\n' "$STATE/logs/$f"
		tail -n "${LOG_LINES:-60}" "$STATE/logs/$f"
	done
}

fail_with_logs() {
	log "$*"
	cmd_logs >&2
	exit 1
}

# ---------------------------------------------------------------- registries

REG_DIR=$STATE/registry
# registry.env holds what `env` exports for the registries (ports, credential, paths);
# written at the first start, so that the ports and the password stay fixed afterwards.
REG_ENV=$STATE/registry.env
REG_MARKER="# Written by contrib/devcloud/devcloud.sh"
REG_USER=cktest
REG_PORT="" REG_AUTH_PORT="" REG_PASSWORD="" REG_SECRET="" ORAS=""

# registry_settings loads registry.env, or makes it: ports from CK_DEVCLOUD_REGISTRY_PORT
# and CK_DEVCLOUD_REGISTRY_AUTH_PORT (5443 and 5444 by default), a random password.
registry_settings() {
	local want=${CK_DEVCLOUD_REGISTRY_PORT:-5443} want_auth=${CK_DEVCLOUD_REGISTRY_AUTH_PORT:-5444}
	if [[ -s $REG_ENV ]]; then
		registry_load
		return 0
	fi
	[[ $want =~ ^[0-9]+$ && $want_auth =~ ^[0-9]+$ && $want != "$want_auth" ]] ||
		die "registry ports must be two different numbers (got '$want' and '$want_auth')"
	REG_PORT=$want
	REG_AUTH_PORT=$want_auth
	REG_PASSWORD=$(openssl rand -hex 16)
	REG_SECRET=$(openssl rand -hex 32)
	registry_save
}

# registry_load reads registry.env (our own file, written by registry_save), and refuses
# CK_DEVCLOUD_REGISTRY_*PORT values that differ from the ports recorded there.
registry_load() {
	local k v
	while IFS='=' read -r k v; do
		case $k in
		CK_TEST_REGISTRY) REG_PORT=${v##*:} ;;
		CK_TEST_REGISTRY_AUTH) REG_AUTH_PORT=${v##*:} ;;
		CK_TEST_REGISTRY_PASSWORD) REG_PASSWORD=$v ;;
		CK_DEVCLOUD_REGISTRY_SECRET) REG_SECRET=$v ;;
		ORAS) ORAS=$(eval "printf '%s' $v") ;; # undo the %q of registry_save
		esac
	done < <(grep -v '^#' "$REG_ENV")
	[[ -n $REG_PORT && -n $REG_AUTH_PORT && -n $REG_PASSWORD && -n $REG_SECRET ]] ||
		die "$REG_ENV is incomplete; run '$0 registry-down', remove it and start again"
	if [[ -n ${CK_DEVCLOUD_REGISTRY_PORT:-} && $CK_DEVCLOUD_REGISTRY_PORT != "$REG_PORT" ]] ||
		[[ -n ${CK_DEVCLOUD_REGISTRY_AUTH_PORT:-} && $CK_DEVCLOUD_REGISTRY_AUTH_PORT != "$REG_AUTH_PORT" ]]; then
		die "registry ports are fixed at $REG_PORT and $REG_AUTH_PORT by $REG_ENV (asked: ${CK_DEVCLOUD_REGISTRY_PORT:-$REG_PORT} and ${CK_DEVCLOUD_REGISTRY_AUTH_PORT:-$REG_AUTH_PORT}); run '$0 registry-down' and remove that file to change them"
	fi
}

# registry_save writes registry.env (0600: it holds the test password). Paths go through
# %q so that a state dir with spaces still evals.
registry_save() {
	{
		echo "$REG_MARKER: the local test registries (a throw-away credential)."
		printf 'CK_TEST_REGISTRY=127.0.0.1:%s\n' "$REG_PORT"
		printf 'CK_TEST_REGISTRY_AUTH=127.0.0.1:%s\n' "$REG_AUTH_PORT"
		printf 'CK_TEST_REGISTRY_CA=%q\n' "$REG_DIR/tls/ca.crt"
		printf 'CK_TEST_REGISTRY_CERT=%q\n' "$REG_DIR/tls/server.crt"
		printf 'CK_TEST_REGISTRY_KEY=%q\n' "$REG_DIR/tls/server.key"
		printf 'CK_TEST_REGISTRY_HTPASSWD=%q\n' "$REG_DIR/htpasswd"
		printf 'CK_TEST_REGISTRY_USER=%s\n' "$REG_USER"
		printf 'CK_TEST_REGISTRY_PASSWORD=%s\n' "$REG_PASSWORD"
		printf 'CK_TEST_REGISTRY_STORAGE=%q\n' "$REG_DIR/anon/storage"
		printf 'CK_TEST_REGISTRY_AUTH_STORAGE=%q\n' "$REG_DIR/auth/storage"
		printf 'CK_TEST_REGISTRY_ACCESS_LOG=%q\n' "$STATE/logs/registry-anon.access.log"
		printf 'CK_TEST_REGISTRY_AUTH_ACCESS_LOG=%q\n' "$STATE/logs/registry-auth.access.log"
		printf 'CK_DEVCLOUD_REGISTRY_SECRET=%s\n' "$REG_SECRET"
		[[ -z $ORAS ]] || printf 'ORAS=%q\n' "$ORAS"
	} >"$REG_ENV.tmp"
	chmod 600 "$REG_ENV.tmp"
	mv "$REG_ENV.tmp" "$REG_ENV"
}

# registry_tls makes the test CA and the server certificate (SAN IP:127.0.0.1 and
# DNS:localhost) once, and again only when the certificate expires within a day.
registry_tls() {
	local d=$REG_DIR/tls
	if [[ -s $d/ca.crt && -s $d/server.key && -s $d/server.crt ]] &&
		openssl x509 -checkend 86400 -noout -in "$d/server.crt" >/dev/null 2>&1; then
		return 0
	fi
	log "registry: test CA and server certificate in $d"
	# Running registries would go on serving the old certificate.
	stop registry-anon
	stop registry-auth
	mkdir -p "$d"
	chmod 700 "$d"
	local ossl=$STATE/logs/openssl.log
	{
		openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
			-subj "/O=ck devcloud/CN=ck devcloud test CA" \
			-addext "basicConstraints=critical,CA:TRUE" \
			-addext "keyUsage=critical,keyCertSign,cRLSign" \
			-keyout "$d/ca.key" -out "$d/ca.crt" &&
			openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
				-subj "/O=ck devcloud/CN=127.0.0.1" -keyout "$d/server.key" -out "$d/server.csr" &&
			printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" \
				"basicConstraints=critical,CA:FALSE" \
				"keyUsage=critical,digitalSignature" \
				"extendedKeyUsage=serverAuth" >"$d/server.ext" &&
			openssl x509 -req -in "$d/server.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" \
				-set_serial "0x$(openssl rand -hex 16)" -days 3650 -extfile "$d/server.ext" \
				-out "$d/server.crt"
	} >>"$ossl" 2>&1 || {
		tail -n 20 "$ossl" >&2
		die "openssl could not make the registry's test certificates (log: $ossl)"
	}
	rm -f "$d/server.csr" "$d/server.ext"
	chmod 600 "$d/ca.key" "$d/server.key"
	chmod 644 "$d/ca.crt" "$d/server.crt"
}

# registry_htpasswd writes the one bcrypt entry the auth instance accepts (cost 4: the
# registry checks it on every request). The password goes through stdin, not argv.
registry_htpasswd() {
	local f=$REG_DIR/htpasswd
	[[ -s $f ]] && grep -q "^$REG_USER:" "$f" && return 0
	printf '%s' "$REG_PASSWORD" | "${SVC_ENV[@]}" "$PY" -c '
import bcrypt, sys
print(sys.argv[1] + ":" + bcrypt.hashpw(sys.stdin.buffer.read(), bcrypt.gensalt(rounds=4)).decode())
' "$REG_USER" >"$f.tmp" || die "could not hash the registry password (python3-bcrypt)"
	chmod 600 "$f.tmp"
	mv "$f.tmp" "$f"
}

# registry_config NAME PORT [auth] writes NAME's config: its own storage, port and TLS,
# the access log on stdout (so in a file of its own), htpasswd auth when asked.
registry_config() {
	local name=$1 port=$2 d=$REG_DIR/${1#registry-}
	mkdir -p "$d/storage"
	{
		cat <<EOF
# Written by contrib/devcloud/devcloud.sh.
version: 0.1
log:
  level: warn
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: $d/storage
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
  secret: $REG_SECRET
  tls:
    certificate: $REG_DIR/tls/server.crt
    key: $REG_DIR/tls/server.key
EOF
		if [[ ${3:-} == auth ]]; then
			cat <<EOF
auth:
  htpasswd:
    realm: ck-devcloud
    path: $REG_DIR/htpasswd
EOF
		fi
	} >"$d/config.yml.tmp"
	chmod 600 "$d/config.yml.tmp"
	mv "$d/config.yml.tmp" "$d/config.yml"
}

start_registry() { # NAME PORT
	local name=$1 port=$2
	running "$name" && return 0
	port_busy "$port" && die "port $port is in use by a process this script did not start (pick others with CK_DEVCLOUD_REGISTRY_PORT and CK_DEVCLOUD_REGISTRY_AUTH_PORT before the first start)"
	# distribution writes its access log (combined format) on stdout, the rest on stderr.
	setsid "${SVC_ENV[@]}" /usr/bin/docker-registry serve "$REG_DIR/${name#registry-}/config.yml" \
		</dev/null >>"$STATE/logs/$name.access.log" 2>>"$STATE/logs/$name.log" 9>&- &
	echo $! >"$(pidfile "$name")"
}

# registry_probe PORT [USER:PASSWORD] prints the HTTP status of GET /v2/ (000: no answer).
# The credential reaches curl through stdin, never its argv.
registry_probe() {
	local port=$1 creds=${2:-}
	printf '%s\n' "${creds:+user = \"$creds\"}" |
		curl -sS -K - -o /dev/null -w '%{http_code}' --max-time 5 --cacert "$REG_DIR/tls/ca.crt" \
			"https://127.0.0.1:$port/v2/" 2>/dev/null || true
}

# registries_answer succeeds when the anonymous instance serves /v2/ and the auth instance
# refuses anonymous requests but accepts the test credential.
registries_answer() {
	[[ $(registry_probe "$REG_PORT") == 200 ]] &&
		[[ $(registry_probe "$REG_AUTH_PORT") == 401 ]] &&
		[[ $(registry_probe "$REG_AUTH_PORT" "$REG_USER:$REG_PASSWORD") == 200 ]]
}

# wait_registries polls both instances for up to 60 s, or until one of them dies.
wait_registries() {
	local i
	for ((i = 0; i < 600; i++)); do
		registries_answer && return 0
		if ! running registry-anon || ! running registry-auth; then
			log "a registry exited during start"
			return 1
		fi
		sleep 0.1
	done
	log "the registries did not answer on ports $REG_PORT and $REG_AUTH_PORT within 60s"
	return 1
}

# go_cmd prints the go binary: make and .ci/run put it on PATH, a bare sudo may not.
go_cmd() {
	command -v go 2>/dev/null && return 0
	[[ -x /usr/local/go/bin/go ]] && echo /usr/local/go/bin/go && return 0
	return 1
}

# oras_ok succeeds when $ORAS is the wanted version (its output is read whole first: with
# pipefail, `oras version | grep -q` fails whenever grep exits before oras has written all).
oras_ok() {
	local v
	[[ -n $ORAS && -x $ORAS ]] && v=$("$ORAS" version 2>/dev/null) && grep -qx "Version: *$ORAS_VERSION" <<<"$v"
}

# ensure_oras installs the oras CLI (EGI's pipeline pushes with it, and so do the tests)
# with go install into $(go env GOBIN) or $(go env GOPATH)/bin, unless that version is
# there already, and records its path in registry.env.
ensure_oras() {
	local go bin
	go=$(go_cmd) || die "go not found on PATH nor in /usr/local/go/bin: it builds the oras CLI"
	bin=$("$go" env GOBIN)
	[[ -n $bin ]] || bin=$("$go" env GOPATH | cut -d: -f1)/bin
	ORAS=$bin/oras
	if ! oras_ok; then
		log "installing oras v$ORAS_VERSION into $bin (go install, about a minute)"
		local olog=$STATE/logs/oras-install.log
		GOBIN=$bin "$go" install "oras.land/oras/cmd/oras@v$ORAS_VERSION" >>"$olog" 2>&1 || {
			tail -n 30 "$olog" >&2
			die "go install oras.land/oras/cmd/oras@v$ORAS_VERSION failed (full log: $olog)"
		}
		oras_ok || die "$ORAS does not report version $ORAS_VERSION"
	fi
	registry_save
}

# registry_ready is the quick check `up` makes before doing anything.
registry_ready() {
	[[ -s $REG_ENV ]] || return 1
	registry_load
	running registry-anon && running registry-auth && oras_ok && registries_answer
}

# registry_start brings both registries and oras up; the caller holds the lock and has
# installed the packages.
registry_start() {
	mkdir -p "$REG_DIR" "$STATE/logs" "$STATE/run"
	chmod 700 "$REG_DIR"
	registry_settings
	registry_tls
	registry_htpasswd
	registry_config registry-anon "$REG_PORT"
	registry_config registry-auth "$REG_AUTH_PORT" auth
	start_registry registry-anon "$REG_PORT"
	start_registry registry-auth "$REG_AUTH_PORT"
	wait_registries || fail_with_logs "the registries did not start"
	ensure_oras
}

# ---------------------------------------------------------------- commands

# lock serialises up/registry-up on one state dir.
lock() {
	mkdir -p "$STATE"
	# fd 9 is closed for the services (9>&-), or they would hold the lock forever.
	exec 9>"$STATE/.lock"
	flock -w 300 9 || die "another devcloud.sh holds $STATE/.lock"
}

cloud_ready() {
	running keystone && running glance && [[ -s $STATE/clouds.yaml && -e $STATE/.provisioned ]] &&
		glance_ready 2>/dev/null
}

cmd_up() {
	local t0 t1 t2 t3 cloud=""
	t0=$(now_ms)
	lock

	# Keystone and Glance are only ever started, never restarted, by a second `up`: one
	# that finds them ready goes straight to the registries.
	cloud_ready && cloud=1
	if [[ -n $cloud ]] && registry_ready; then
		log "already up ($(($(now_ms) - t0)) ms)"
		return 0
	fi

	install_packages "${PACKAGES[@]}" "${REGISTRY_PACKAGES[@]}"
	t1=$(now_ms)
	if [[ -n $cloud ]]; then
		log "keystone and glance already up"
	else
		write_configs
		init_keystone
		init_glance
		start_keystone
		wait_http "$KS_URL/v3" 120 keystone || fail_with_logs "keystone did not start"
		provision
		write_clouds_yaml
		if ! start_and_wait_glance; then
			log "glance not ready; restarting it once"
			stop glance
			start_and_wait_glance || fail_with_logs "glance did not become ready"
		fi
	fi
	t2=$(now_ms)
	registry_start
	t3=$(now_ms)
	log "up: install $(((t1 - t0) / 1000))s, configure+start $(((t2 - t1) / 1000))s, registries+oras $(((t3 - t2) / 1000))s"
	log "keystone $KS_URL/v3, glance $GL_URL; clouds: admin ck ck-vo-alpha ck-vo-beta alice bob"
	log "registries https://127.0.0.1:$REG_PORT (anonymous), https://127.0.0.1:$REG_AUTH_PORT (user $REG_USER)"
	log "eval \"\$($0 env)\""
}

cmd_registry_up() {
	local t0
	t0=$(now_ms)
	lock
	if registry_ready; then
		log "registries already up ($(($(now_ms) - t0)) ms)"
		return 0
	fi
	install_packages "${REGISTRY_PACKAGES[@]}"
	registry_start
	log "registries https://127.0.0.1:$REG_PORT (anonymous), https://127.0.0.1:$REG_AUTH_PORT (user $REG_USER) in $((($(now_ms) - t0) / 1000))s"
	log "eval \"\$($0 env)\""
}

cmd_registry_down() {
	stop registry-auth
	stop registry-anon
}

cmd_down() {
	cmd_registry_down
	stop glance
	stop keystone
}

cmd_status() {
	local rc=0 name
	for name in keystone glance; do
		if running "$name"; then
			printf '%-9s running (pid %s)\n' "$name" "$(<"$(pidfile "$name")")"
		else
			printf '%-9s stopped\n' "$name"
			rc=1
		fi
	done
	if ((rc == 0)) && glance_ready 2>/dev/null; then
		echo "ready     $KS_URL/v3 $GL_URL (clouds.yaml: $STATE/clouds.yaml)"
	else
		echo "not ready"
		rc=1
	fi
	registry_status || rc=1
	return "$rc"
}

# registry_status prints the registries' lines of `status`.
registry_status() {
	local rc=0 name
	if [[ ! -s $REG_ENV ]]; then
		echo "registries never started (run '$0 up' or '$0 registry-up')"
		return 1
	fi
	registry_load
	for name in registry-anon registry-auth; do
		if running "$name"; then
			printf '%-14s running (pid %s)\n' "$name" "$(<"$(pidfile "$name")")"
		else
			printf '%-14s stopped\n' "$name"
			rc=1
		fi
	done
	if ((rc == 0)) && registries_answer; then
		echo "registries ready: https://127.0.0.1:$REG_PORT (anonymous), https://127.0.0.1:$REG_AUTH_PORT (htpasswd)"
	else
		echo "registries not ready"
		rc=1
	fi
	if oras_ok; then
		echo "oras      $ORAS (v$ORAS_VERSION)"
	else
		echo "oras      missing (v$ORAS_VERSION)"
		rc=1
	fi
	return "$rc"
}

# cmd_env prints the cloud's variables when it was set up, the registries' when they were,
# and fails when neither was.
cmd_env() {
	[[ -s $STATE/clouds.yaml || -s $REG_ENV ]] || die "no $STATE/clouds.yaml: run '$0 up' first"
	if [[ -s $STATE/clouds.yaml ]]; then
		printf 'export OS_CLIENT_CONFIG_FILE=%q\n' "$STATE/clouds.yaml"
		printf 'export OS_CLOUD=ck\n'
	fi
	printf 'export CK_DEVCLOUD_DIR=%q\n' "$STATE"
	if [[ -s $STATE/ids.env ]]; then
		sed 's/^/export /' "$STATE/ids.env"
	fi
	if [[ -s $REG_ENV ]]; then
		grep -v -e '^#' -e '^CK_DEVCLOUD_REGISTRY_SECRET=' "$REG_ENV" | sed 's/^/export /'
	fi
}

case "${1:-}" in
up) cmd_up ;;
registry-up) cmd_registry_up ;;
down) cmd_down ;;
registry-down) cmd_registry_down ;;
status) cmd_status ;;
env) cmd_env ;;
logs) cmd_logs ;;
*)
	sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
	;;
esac
