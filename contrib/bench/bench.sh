#!/usr/bin/env bash
# ck's transfer benchmark (spec §9, issue 14), on the local Keystone + Glance:
#   (a) ck sync of one image with each --upload-method,
#   (b) curl -T of the same file straight into Glance (Glance's own ingest: the limit),
#   (c) download → sha512sum → upload in sequence (what cloudkeeper and atrope do),
#   ck's CPU seconds per GiB (user + sys, from rusage) beside the floor: one Go
#   sha512 pass over the same bytes (contrib/bench/sha512floor), measured the same way,
#   two images at once: ck sync --parallel 2 against two curl -T running together,
# for each size in BENCH_SIZES (MiB), plus a no-op ck sync of 100 up-to-date images.
# Every figure is the median of BENCH_RUNS runs. Prints a markdown report on stdout
# (docs/benchmarks.md is written from it).
# Run through `make bench`, which builds bin/ck and starts the local cloud first.
# BENCH_CK=/path/to/ck measures another build; BENCH_BASE=/path/to/ck measures one more
# in the same runs, turn about (before/after under the same load).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
ck=${BENCH_CK:-$repo/bin/ck}
# BENCH_BASE=/path/to/ck (e.g. built at an older commit) is measured too, in
# the same runs, turn about with ck: before/after figures under the same load.
bins=("$ck") names=("")
if [ -n "${BENCH_BASE:-}" ]; then
	bins+=("$BENCH_BASE") names+=(", base $("$BENCH_BASE" version | head -1 | cut -d' ' -f2)")
	names[0]=", $("$ck" version | head -1 | cut -d' ' -f2)"
fi
eval "$(contrib/devcloud/devcloud.sh env)"
sizes=${BENCH_SIZES:-256 1024}
runs=${BENCH_RUNS:-5}
port=${BENCH_PORT:-8766}
work=${BENCH_DIR:-$CK_DEVCLOUD_DIR/bench}
rm -rf "$work"
mkdir -p "$work/www" "$work/tmp" "$work/dl"
export TMPDIR="$work/tmp"
go build -o "$work/sha512floor" ./contrib/bench/sha512floor

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
put_file() { api -X PUT -H 'Content-Type: application/octet-stream' -T "$2" "$glance/images/$1/file"; }
delete_tagged() {
	for id in $(api "$glance/images?tag=$1&limit=1000" | jq -r '.images[].id'); do api -X DELETE "$glance/images/$id"; done
	for id in $(api "$glance/images?tag=$1&os_hidden=true&limit=1000" | jq -r '.images[].id'); do api -X DELETE "$glance/images/$id"; done
}
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
# per_gib SECONDS MIB: seconds per GiB.
per_gib() { awk -v s="$1" -v m="$2" 'BEGIN { printf "%.2f", s * 1024 / m }'; }
median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END { if (NR%2) print a[(NR+1)/2]; else printf "%.2f\n", (a[NR/2]+a[NR/2+1])/2 }'; }

# sign_list ID OUT FILE... : a signed list of the given files (served from www/) for VO bench.vo.
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
# A seal key file, as the units use (derived keys cost a PBKDF2 per run).
(umask 077 && head -c 32 /dev/urandom > "$work/seal.key")
export CK_MAPPING_FILE="$work/mapping.json" CK_CA_DIR="$repo/testdata/pki/cadir" OS_CLOUD=ck CK_PROGRESS=never CK_LOG_LEVEL=warn CK_SEAL_KEY_FILE="$work/seal.key"

# timed OUT CMD...: runs CMD under /usr/bin/time; sets OUT to
# "wall_seconds cpu_seconds maxrss_kib", CPU being user + sys from the rusage.
timed() {
	local -n out=$1; shift
	local t0 t1 u s m
	t0=$(now)
	/usr/bin/time -f '%U %S %M' -o "$work/time.out" "$@" >/dev/null
	t1=$(now)
	read -r u s m < "$work/time.out"
	out="$(secs "$t0" "$t1") $(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.2f", u + s }') $m"
}

load() { awk '{print $1 ", " $2 ", " $3}' /proc/loadavg; }

echo "# ck transfer benchmark"
echo
echo "$(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $("$ck" version | head -1)${BENCH_BASE:+ and base $("$BENCH_BASE" version | head -1)}, Glance $(/usr/bin/python3 -c 'import glance.version as v; print(v.version_info.version_string())' 2>/dev/null || echo '?') with the local file store, image server: python3 http.server on 127.0.0.1. Median of $runs runs. Load average at the start: $(load)."
table1="| size | (b) curl -T into Glance | (c) download, sha512sum, upload | (a) ck upload | (a) ck glance-direct | (a) ck web-download | (a)/(b) upload | (a)/(c) upload | ck peak RSS | ck temp files |
|---|---|---|---|---|---|---|---|---|---|"
table2="| size | ck CPU per GiB (upload, user + sys) | sha512 floor per GiB (one Go pass) | ck / floor |
|---|---|---|---|"
table3="| size (each) | (b) two curl -T at once | (a) ck --parallel 2 | (a)/(b) | ck CPU per GiB | ck peak RSS | ck temp files |
|---|---|---|---|---|---|---|"
table4="| size | (b) curl -T into Glance | (a) ck sync of a registry artifact (blob → Glance) | (a)/(b) | ck CPU per GiB (sha256 + sha512) | ck peak RSS | ck temp files |
|---|---|---|---|---|---|---|"
declare -A bmed=()
for mib in $sizes; do
	f="img-$mib.raw" g="img-$mib-2.raw"
	head -c $((mib * 1048576)) /dev/urandom > "$work/www/$f"
	head -c $((mib * 1048576)) /dev/urandom > "$work/www/$g"
	sign_list "bench-$mib" "$work/www/bench-$mib.list" "$f"
	sign_list "bench2-$mib" "$work/www/bench2-$mib.list" "$f" "$g"
	list="http://127.0.0.1:$port/bench-$mib.list"
	list2="http://127.0.0.1:$port/bench2-$mib.list"
	"$work/sha512floor" "$work/www/$f" >/dev/null # into the page cache, like the served files
	declare -A t=() rss=() rss2=()
	for r in $(seq "$runs"); do
		# (b) Glance's own ingest.
		id=$(new_image "curl-$mib-$r")
		t0=$(now); put_file "$id" "$work/www/$f"; t1=$(now)
		t[b]+="$(secs "$t0" "$t1") "
		delete_tagged ck-bench
		# (c) the old tools' sequence.
		id=$(new_image "seq-$mib-$r")
		t0=$(now)
		curl -fsS -o "$work/dl/$f" "http://127.0.0.1:$port/$f"
		sha512sum "$work/dl/$f" >/dev/null
		put_file "$id" "$work/dl/$f"
		t1=$(now)
		t[c]+="$(secs "$t0" "$t1") "
		rm -f "$work/dl/$f"
		delete_tagged ck-bench
		# (a) ck, each method; CPU per GiB of the upload method. With
		# BENCH_BASE, each build in turn within the run.
		for i in "${!bins[@]}"; do
			for m in upload glance-direct web-download; do
				timed res "${bins[$i]}" sync --tag "ck-bench-$m" --upload-method "$m" "$list"
				read -r s cpu kib <<<"$res"
				t[$i,$m]+="$s "
				[ "$m" = upload ] && t[$i,cpu]+="$(per_gib "$cpu" "$mib") "
				[ "$kib" -gt "${rss[$i]:-0}" ] && rss[$i]=$kib
				delete_tagged "ck-bench-$m"
			done
		done
		# The floor: one sha512 pass over the same bytes, measured the same way.
		timed res "$work/sha512floor" "$work/www/$f"
		read -r _ cpu _ <<<"$res"
		t[floor]+="$(per_gib "$cpu" "$mib") "
		# Two images at once: curl (the limit), then ck --parallel 2.
		id=$(new_image "curl2a-$mib-$r") id2=$(new_image "curl2b-$mib-$r")
		t0=$(now)
		put_file "$id" "$work/www/$f" & p1=$!
		put_file "$id2" "$work/www/$g" & p2=$!
		wait "$p1" "$p2"
		t1=$(now)
		t[b2]+="$(secs "$t0" "$t1") "
		delete_tagged ck-bench
		for i in "${!bins[@]}"; do
			timed res "${bins[$i]}" sync --tag ck-bench-2 --parallel 2 "$list2"
			read -r s cpu kib <<<"$res"
			t[$i,a2]+="$s "
			t[$i,cpu2]+="$(per_gib "$cpu" $((2 * mib))) "
			[ "$kib" -gt "${rss2[$i]:-0}" ] && rss2[$i]=$kib
			delete_tagged ck-bench-2
		done
	done
	b=$(median <<<"${t[b]}") c=$(median <<<"${t[c]}") floor=$(median <<<"${t[floor]}") b2=$(median <<<"${t[b2]}")
	bmed[$mib]=$b
	tmpfiles=$(find "$work/tmp" -type f | wc -l)
	for i in "${!bins[@]}"; do
		label="$mib MiB${names[$i]}"
		up=$(median <<<"${t[$i,upload]}") gd=$(median <<<"${t[$i,glance-direct]}") wd=$(median <<<"${t[$i,web-download]}")
		cpu=$(median <<<"${t[$i,cpu]}") a2=$(median <<<"${t[$i,a2]}") cpu2=$(median <<<"${t[$i,cpu2]}")
		table1+=$'\n'"$(printf '| %s | %s s | %s s | %s s | %s s | %s s | **%s** | **%s** | %s MiB | %s |' "$label" "$b" "$c" "$up" "$gd" "$wd" \
			"$(ratio "$up" "$b")" "$(ratio "$up" "$c")" "$(awk -v k="${rss[$i]}" 'BEGIN { printf "%.1f", k / 1024 }')" "$tmpfiles")"
		table2+=$'\n'"$(printf '| %s | %s s (runs: %s) | %s s (runs: %s) | **%s** |' "$label" "$cpu" "${t[$i,cpu]% }" "$floor" "${t[floor]% }" "$(ratio "$cpu" "$floor")")"
		table3+=$'\n'"$(printf '| %s | %s s (runs: %s) | %s s (runs: %s) | **%s** | %s s | %s MiB | %s |' "$label" "$b2" "${t[b2]% }" "$a2" "${t[$i,a2]% }" \
			"$(ratio "$a2" "$b2")" "$cpu2" "$(awk -v k="${rss2[$i]}" 'BEGIN { printf "%.1f", k / 1024 }')" "$tmpfiles")"
	done
	rm -f "$work/www/$f" "$work/www/$g"
done

# Registry sources (spec §11): an EGI-shaped artifact in the local registry
# (pushed with oras), synced blob → Glance; against (b), Glance's ingest of
# the same number of bytes.
reg=$CK_TEST_REGISTRY
printf 'lists:\n' > "$work/registry.yaml"
for mib in $sizes; do
	f="layer-$mib.raw"
	head -c $((mib * 1048576)) /dev/urandom > "$work/$f"
	printf '{"%s": {"eu.egi.cloud.tag": "bench-%s"}}\n' "$f" "$mib" > "$work/ann-$mib.json"
	(cd "$work" && HOME="$work" DOCKER_CONFIG="$work/.docker" "$ORAS" push --ca-file "$CK_TEST_REGISTRY_CA" \
		--annotation-file "ann-$mib.json" "$reg/ckbench/img-$mib:1" "$f:application/x-qemu-disk" >/dev/null)
	printf '  - url: oci://%s/ckbench/img-%s:1\n    vos: [bench.vo]\n' "$reg" "$mib" >> "$work/registry.yaml"
	rm -f "$work/$f"
done
for mib in $sizes; do
	declare -A rt=() rrss=()
	src="oci://$reg/ckbench/img-$mib:1"
	for r in $(seq "$runs"); do
		timed res "$ck" sync --tag ck-bench-reg --config "$work/registry.yaml" --extra-ca-file "$CK_TEST_REGISTRY_CA" "$src"
		read -r s cpu kib <<<"$res"
		rt[a]+="$s "
		rt[cpu]+="$(per_gib "$cpu" "$mib") "
		[ "$kib" -gt "${rrss[max]:-0}" ] && rrss[max]=$kib
		delete_tagged ck-bench-reg
	done
	a=$(median <<<"${rt[a]}") b=${bmed[$mib]}
	table4+=$'\n'"$(printf '| %s MiB | %s s | %s s (runs: %s) | **%s** | %s s | %s MiB | %s |' "$mib" "$b" "$a" "${rt[a]% }" "$(ratio "$a" "$b")" \
		"$(median <<<"${rt[cpu]}")" "$(awk -v k="${rrss[max]}" 'BEGIN { printf "%.1f", k / 1024 }')" "$(find "$work/tmp" -type f | wc -l)")"
done

echo
echo "$table1"
echo
echo "$table2"
echo
echo "$table3"
echo
echo "$table4"

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
echo "No-op \`ck sync\` of 100 up-to-date images (5 runs): median $(median <<<"$noop") s (runs: $noop); image downloads during a no-op sync: $((hits_after - hits_before))."
echo
echo "Load average at the end: $(load)."
delete_tagged ck-bench-noop
