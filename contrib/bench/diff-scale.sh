#!/usr/bin/env bash
# Spec §9: `ck diff` with 2 000 listed images and 5 000 Glance images.
# Creates 5 000 metadata-only images in vo-alpha on the local Glance (3 000
# foreign, 2 000 carrying ck's tag and properties for the listed images),
# signs a list of 2 000 images, times `ck diff` (5 runs), then deletes the
# images. Run after `make build cloud-up`. Prints one markdown line.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
eval "$(contrib/devcloud/devcloud.sh env)"
work=${BENCH_DIR:-$CK_DEVCLOUD_DIR/diff-scale}
rm -rf "$work" && mkdir -p "$work"
project=$CK_DEVCLOUD_PROJECT_VO_ALPHA
token=$(curl -fsS -i -H 'Content-Type: application/json' \
	-d '{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"ck","domain":{"id":"default"},"password":"devcloud-ck"}}},"scope":{"project":{"id":"'"$project"'"}}}}' \
	http://127.0.0.1:5000/v3/auth/tokens | awk 'tolower($1)=="x-subject-token:" {print $2}' | tr -d '\r')
glance=http://127.0.0.1:9292/v2
tag=ck-scale
sha() { printf '%s' "$1" | sha512sum | cut -d' ' -f1; }

# The list: 2 000 images.
{
	printf '{"hv:imagelist":{"dc:identifier":"scale","dc:title":"scale","dc:date:expires":"2040-01-01T00:00:00Z","ad:vo":"bench.vo",'
	printf '"hv:endorser":{"hv:x509":{"hv:dn":"/DC=EU/DC=EGI/C=NL/O=Hosts/O=EGI.eu/CN=appdb.ck-test.example","hv:ca":"/DC=org/DC=ck-test/CN=ck Test Issuing CA"}},"hv:images":['
	for i in $(seq 1 2000); do
		[ "$i" -gt 1 ] && printf ','
		printf '{"hv:image":{"dc:identifier":"img-%d","dc:title":"Image %d","hv:uri":"http://127.0.0.1:9/img-%d","hv:size":"1024","sl:checksum:sha512":"%s","hv:version":"1"}}' "$i" "$i" "$i" "$(sha "$i")"
	done
	printf ']}}'
} > "$work/list.json"
testdata/pki/sign.sh "$work/list.json" "$work/list.signed"
printf '{"bench.vo": {"project": "%s"}}\n' "$project" > "$work/mapping.json"

# 5 000 images: 2 000 of ck's (queued, metadata only) and 3 000 others.
create() {
	local i=$1 body
	if [ "$i" -le 2000 ]; then
		body='{"name":"Image '"$i"'","disk_format":"raw","container_format":"bare","tags":["'$tag'"],"ck_list_id":"scale","ck_image_id":"img-'"$i"'","ck_sha512":"'"$(sha "$i")"'","ck_size":"1024"}'
	else
		body='{"name":"user image '"$i"'","disk_format":"raw","container_format":"bare","tags":["'$tag-other'"]}'
	fi
	curl -fsS -o /dev/null -H "X-Auth-Token: $token" -H 'Content-Type: application/json' -d "$body" "$glance/images"
}
export -f create sha
export token glance tag
t0=$(date +%s)
seq 1 5000 | xargs -P 8 -I{} bash -c 'create {}'
echo "created 5000 images in $(( $(date +%s) - t0 )) s" >&2

runs=""
for r in 1 2 3 4 5; do
	s=$(date +%s.%N)
	bin/ck diff -o json --tag "$tag" --mapping-file "$work/mapping.json" --ca-dir testdata/pki/cadir "$work/list.signed" > "$work/plan.json" || true
	e=$(date +%s.%N)
	runs+="$(awk -v a="$s" -v b="$e" 'BEGIN { printf "%.2f", b - a }') "
done
changes=$(jq '.changes | length' "$work/plan.json")
echo "| ck diff, 2 000 listed images, 5 000 Glance images (2 000 ck's) | runs: $runs s | $changes changes planned |"

for t in "$tag" "$tag-other"; do
	while :; do
		ids=$(curl -fsS -H "X-Auth-Token: $token" "$glance/images?tag=$t&limit=1000" | jq -r '.images[].id')
		[ -n "$ids" ] || break
		echo "$ids" | xargs -P 8 -I{} curl -fsS -o /dev/null -X DELETE -H "X-Auth-Token: $token" "$glance/images/{}"
	done
done
