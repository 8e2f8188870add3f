#!/usr/bin/env bash
# ck's transfer benchmark (spec §9), on the local Keystone + Glance:
#   (a) ck sync of one image with each --upload-method,
#   (b) curl -T of the same file straight into Glance (Glance's own ingest: the limit),
#   (c) download → sha512sum → upload in sequence (what cloudkeeper and atrope do),
# for each size in BENCH_SIZES (MiB), plus a no-op ck sync of 100 up-to-date images.
# Prints a markdown report on stdout (docs/benchmarks.md is written from it).
# Run through `make bench`, which builds bin/ck and starts the local cloud first.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
ck="$repo/bin/ck"
eval "$(contrib/devcloud/devcloud.sh env)"
sizes=${BENCH_SIZES:-256 1024}
runs=${BENCH_RUNS:-2}
port=${BENCH_PORT:-8766}
work=${BENCH_DIR:-$CK_DEVCLOUD_DIR/bench}
rm -rf "$work"
mkdir -p "$work/www" "$work/tmp" "$work/dl"
export TMPDIR="$work/tmp"

/usr/bin/python3 -m http.server "$port" --bind 127.0.0.1 --directory "$work/www" >"$work/http.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -fsS -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null && break; sleep 0.1; done

project=$CK_DEVCLOUD_PROJECT_VO_ALPHA
token=$(curl -fsS -i -H 'Content-Type: application/json' \
	-d '{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"ck","domain":{"id":"default"},"password":"devcloud-ck"}}},"scope":{"project":{"id":"'"$project"'"}}}}' \
	http://127.0.0.1:5000/v3/auth/tokens | awk 'tolower($1)=="x-subject-token:" {print $2}' | tr -d '\r')
glance=http://127.0.0.1:9292/v2
api() { curl -fsS -H "X-Auth-Token: $token" "$@"; }
new_image() { api -H 'Content-Type: application/json' -d "{\"name\":\"$1\",\"disk_format\":\"raw\",\"container_format\":\"bare\",\"tags\":[\"ck-bench\"]}" "$glance/images" | jq -r .id; }
delete_tagged() {
	for id in $(api "$glance/images?tag=$1&limit=1000" | jq -r '.images[].id'); do api -X DELETE "$glance/images/$id"; done
	for id in $(api "$glance/images?tag=$1&os_hidden=true&limit=1000" | jq -r '.images[].id'); do api -X DELETE "$glance/images/$id"; done
}
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

# sign_list FILE... : a signed list of the given files (served from www/) for VO bench.vo.
sign_list() {
	local id=$1 out=$2; shift 2
	local entries="" sep=""
	for f in "$@"; do
		local size sha
		size=$(stat -c %s "$work/www/$f"); sha=$(sha512sum "$work/www/$f" | cut -d' ' -f1)
		entries+="$sep{\"hv:image\":{\"dc:identifier\":\"$f\",\"dc:title\":\"bench $f\",\"hv:uri\":\"http://127.0.0.1:$port/$f\",\"hv:size\":\"$size\",\"sl:checksum:sha512\":\"$sha\",\"hv:version\":\"1\"}}"
		sep=","
	done
	cat > "$work/$id.json" <<JSON
{"hv:imagelist":{"dc:identifier":"$id","dc:title":"bench","dc:date:created":"$(date -u +%Y-%m-%dT%H:%M:%SZ)","dc:date:expires":"2040-01-01T00:00:00Z","ad:vo":"bench.vo",
 "hv:endorser":{"hv:x509":{"dc:creator":"bench","hv:dn":"/DC=EU/DC=EGI/C=NL/O=Hosts/O=EGI.eu/CN=appdb.ck-test.example","hv:ca":"/DC=org/DC=ck-test/CN=ck Test Issuing CA","hv:email":"x@example.org"}},
 "hv:images":[$entries]}}
JSON
	testdata/pki/sign.sh "$work/$id.json" "$out"
}
printf '{"bench.vo": {"project": "%s"}}\n' "$project" > "$work/mapping.json"
export CK_MAPPING_FILE="$work/mapping.json" CK_CA_DIR="$repo/testdata/pki/cadir" OS_CLOUD=ck CK_PROGRESS=never CK_LOG_LEVEL=warn

# ck_sync TAG LIST METHOD: runs one sync under /usr/bin/time; prints "seconds maxrss_kib".
ck_sync() {
	local t0 t1
	t0=$(now)
	/usr/bin/time -f '%M' -o "$work/time.out" "$ck" sync --tag "$1" --upload-method "$3" "$2" >/dev/null
	t1=$(now)
	echo "$(secs "$t0" "$t1") $(cat "$work/time.out")"
}

echo "# ck transfer benchmark"
echo
echo "$(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $("$ck" version | head -1), Glance $(/usr/bin/python3 -c 'import glance.version as v; print(v.version_info.version_string())' 2>/dev/null || echo '?') with the local file store, image server: python3 http.server on 127.0.0.1. Median of $runs runs."
echo
echo "| size | (b) curl -T into Glance | (c) download, sha512sum, upload | (a) ck upload | (a) ck glance-direct | (a) ck web-download | (a)/(b) upload | (a)/(c) upload | ck peak RSS | ck temp files |"
echo "|---|---|---|---|---|---|---|---|---|---|"
median() { sort -n | awk '{a[NR]=$1} END { if (NR%2) print a[(NR+1)/2]; else printf "%.2f\n", (a[NR/2]+a[NR/2+1])/2 }'; }
for mib in $sizes; do
	f="img-$mib.raw"
	head -c $((mib * 1048576)) /dev/urandom > "$work/www/$f"
	sign_list "bench-$mib" "$work/www/bench-$mib.list" "$f"
	list="http://127.0.0.1:$port/bench-$mib.list"
	declare -A t=() ; rss=0
	for r in $(seq "$runs"); do
		# (b) Glance's own ingest.
		id=$(new_image "curl-$mib-$r")
		t0=$(now); api -X PUT -H 'Content-Type: application/octet-stream' -T "$work/www/$f" "$glance/images/$id/file"; t1=$(now)
		t[b]+="$(secs "$t0" "$t1") "
		delete_tagged ck-bench
		# (c) the old tools' sequence.
		id=$(new_image "seq-$mib-$r")
		t0=$(now)
		curl -fsS -o "$work/dl/$f" "http://127.0.0.1:$port/$f"
		sha512sum "$work/dl/$f" >/dev/null
		api -X PUT -H 'Content-Type: application/octet-stream' -T "$work/dl/$f" "$glance/images/$id/file"
		t1=$(now)
		t[c]+="$(secs "$t0" "$t1") "
		rm -f "$work/dl/$f"
		delete_tagged ck-bench
		# (a) ck, each method.
		for m in upload glance-direct web-download; do
			read -r s kib < <(ck_sync "ck-bench-$m" "$list" "$m")
			t[$m]+="$s "
			[ "$kib" -gt "$rss" ] && rss=$kib
			delete_tagged "ck-bench-$m"
		done
	done
	b=$(echo "${t[b]}" | tr ' ' '\n' | grep . | median)
	c=$(echo "${t[c]}" | tr ' ' '\n' | grep . | median)
	up=$(echo "${t[upload]}" | tr ' ' '\n' | grep . | median)
	gd=$(echo "${t[glance-direct]}" | tr ' ' '\n' | grep . | median)
	wd=$(echo "${t[web-download]}" | tr ' ' '\n' | grep . | median)
	tmpfiles=$(find "$work/tmp" -type f | wc -l)
	printf '| %s MiB | %s s | %s s | %s s | %s s | %s s | %s | %s | %s MiB | %s |\n' "$mib" "$b" "$c" "$up" "$gd" "$wd" \
		"$(awk -v a="$up" -v b="$b" 'BEGIN { printf "%.2f", a / b }')" "$(awk -v a="$up" -v b="$c" 'BEGIN { printf "%.2f", a / b }')" \
		"$(awk -v k="$rss" 'BEGIN { printf "%.1f", k / 1024 }')" "$tmpfiles"
	rm -f "$work/www/$f"
done

# No-op sync of 100 up-to-date images.
files=()
for i in $(seq -w 1 100); do head -c 4096 /dev/urandom > "$work/www/small-$i.raw"; files+=("small-$i.raw"); done
sign_list bench-noop "$work/www/bench-noop.list" "${files[@]}"
"$ck" sync --tag ck-bench-noop --parallel 4 "http://127.0.0.1:$port/bench-noop.list" >/dev/null
noop=""
for r in 1 2 3 4 5; do
	t0=$(now); "$ck" sync --tag ck-bench-noop "http://127.0.0.1:$port/bench-noop.list" >/dev/null; t1=$(now)
	noop+="$(secs "$t0" "$t1") "
done
hits_before=$(grep -c 'GET /small-' "$work/http.log" || true)
"$ck" sync --tag ck-bench-noop "http://127.0.0.1:$port/bench-noop.list" >/dev/null
hits_after=$(grep -c 'GET /small-' "$work/http.log" || true)
echo
echo "No-op \`ck sync\` of 100 up-to-date images (5 runs): median $(echo "$noop" | tr ' ' '\n' | grep . | median) s (runs: $noop); image downloads during a no-op sync: $((hits_after - hits_before))."
delete_tagged ck-bench-noop
