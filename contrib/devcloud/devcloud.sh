#!/usr/bin/env bash
# devcloud.sh — a real Keystone + Glance on 127.0.0.1 for ck's tests, CI and demo.
#
#   devcloud.sh up       install (if missing), configure, start, provision, write clouds.yaml
#   devcloud.sh down     stop the processes this script started (and nothing else)
#   devcloud.sh status   show whether both services run and answer
#   devcloud.sh env      print `export …` lines: eval "$(contrib/devcloud/devcloud.sh env)"
#   devcloud.sh logs     print the tail of the Keystone and Glance logs (for CI failures)
#
# State (configs, SQLite DBs, image store, logs, pids, clouds.yaml, ids.env) lives in
# ${CK_DEVCLOUD_DIR:-<repo>/.devcloud}. `down && rm -rf <state>` starts from scratch.
# Debian 12's OpenStack Zed libraries; see docs/glance-local.md for why each choice is made.
# Passwords below are fixed and for this throw-away loopback cloud only.
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

# missing_packages prints the packages that are not installed (one dpkg-query for all:
# each call costs a second on a busy VM).
missing_packages() {
	local p installed
	installed=$(dpkg-query -W -f='${Package} ${Status}\n' "${PACKAGES[@]}" 2>/dev/null |
		awk '$2 == "install" && $3 == "ok" && $4 == "installed" {print $1}') || true
	for p in "${PACKAGES[@]}"; do
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

install_packages() {
	local missing
	mapfile -t missing < <(missing_packages)
	((${#missing[@]} == 0)) && return 0
	[[ $(id -u) == 0 ]] || die "packages missing (${missing[*]}); run as root or: sudo apt-get install ${missing[*]}"
	log "installing ${missing[*]}"
	# Library packages only: the server packages ask debconf questions and start daemons.
	# A policy-rc.d returning 101 stops any dependency from starting one during the install.
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
	for f in keystone.log keystone-uwsgi.log glance-api.log glance-api.stdout.log; do
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

# ---------------------------------------------------------------- commands

cmd_up() {
	local t0 t1 t2
	t0=$(now_ms)
	mkdir -p "$STATE"
	# fd 9 is closed for the services (9>&-), or they would hold the lock forever.
	exec 9>"$STATE/.lock"
	flock -w 300 9 || die "another devcloud.sh holds $STATE/.lock"

	if running keystone && running glance && [[ -s $STATE/clouds.yaml && -e $STATE/.provisioned ]] &&
		glance_ready 2>/dev/null; then
		log "already up ($(($(now_ms) - t0)) ms)"
		return 0
	fi

	install_packages
	t1=$(now_ms)
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
	t2=$(now_ms)
	log "up: install $(((t1 - t0) / 1000))s, configure+start $(((t2 - t1) / 1000))s"
	log "keystone $KS_URL/v3, glance $GL_URL; clouds: admin ck ck-vo-alpha ck-vo-beta alice bob"
	log "eval \"\$($0 env)\""
}

cmd_down() {
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
	return "$rc"
}

cmd_env() {
	[[ -s $STATE/clouds.yaml ]] || die "no $STATE/clouds.yaml: run '$0 up' first"
	printf 'export OS_CLIENT_CONFIG_FILE=%q\n' "$STATE/clouds.yaml"
	printf 'export OS_CLOUD=ck\n'
	printf 'export CK_DEVCLOUD_DIR=%q\n' "$STATE"
	if [[ -s $STATE/ids.env ]]; then
		sed 's/^/export /' "$STATE/ids.env"
	fi
}

case "${1:-}" in
up) cmd_up ;;
down) cmd_down ;;
status) cmd_status ;;
env) cmd_env ;;
logs) cmd_logs ;;
*)
	sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
	;;
esac
