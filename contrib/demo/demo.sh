#!/usr/bin/env bash
# ck's main job on the local cloud, end to end:
#   1. make two small images (qcow2 and raw) and serve them on 127.0.0.1,
#   2. publish a signed HEPiX list for them (the test PKI in testdata/pki plays AppDB),
#      and push an EGI-style OCI artifact to the local registry with oras (registry.egi.eu's role),
#   3. ck verify, ck diff, ck sync, ck diff again (empty), for both sources,
#   4. show what landed in Glance.
# Run through `make demo`, which builds bin/ck and starts the local cloud first.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
ck="$repo/bin/ck"
devcloud="$repo/contrib/devcloud/devcloud.sh"
[ -x "$ck" ] || { echo "demo: $ck missing: run make demo" >&2; exit 1; }
eval "$("$devcloud" env)"

work=${CK_DEMO_DIR:-$CK_DEVCLOUD_DIR/demo}
rm -rf "$work"
mkdir -p "$work/www"
port=${CK_DEMO_PORT:-8765}

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "Images served on http://127.0.0.1:$port/"
qemu-img create -q -f qcow2 "$work/www/demo-tiny.qcow2" 64M
head -c 4194304 /dev/urandom > "$work/www/demo-raw.img"
ls -l "$work/www"

# A python http.server sends Content-Length, as image servers do.
/usr/bin/python3 -m http.server "$port" --bind 127.0.0.1 --directory "$work/www" >"$work/http.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -fsS -o /dev/null 2>/dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done

image() { # id title file os version
	local size sha
	size=$(stat -c %s "$work/www/$3")
	sha=$(sha512sum "$work/www/$3" | cut -d' ' -f1)
	cat <<JSON
         {"hv:image": {
            "dc:identifier": "$1", "dc:title": "$2", "dc:description": "ck demo image",
            "hv:uri": "http://127.0.0.1:$port/$3", "hv:size": "$size", "sl:checksum:sha512": "$sha",
            "hv:version": "1.0", "hv:hypervisor": "KVM", "hv:ram_minimum": "512",
            "sl:arch": "x86_64", "sl:os": "Linux", "sl:osname": "$4", "sl:osversion": "$5",
            "ad:mpuri": "https://appdb.ck-test.example/store/vo/image/$1:1/"}}
JSON
}

step "A signed image list for VO demo.vo (endorser: the test PKI's appdb certificate)"
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
cat > "$work/list.json" <<JSON
{"hv:imagelist": {
   "dc:identifier": "ck-demo-list-0001", "dc:title": "ck demo list",
   "dc:description": "Images for the ck demo", "dc:source": "https://appdb.ck-test.example/",
   "dc:date:created": "$now", "dc:date:expires": "2040-01-01T00:00:00Z",
   "hv:version": "1", "ad:vo": "demo.vo",
   "hv:endorser": {"hv:x509": {
      "dc:creator": "Applications Database",
      "hv:dn": "/DC=EU/DC=EGI/C=NL/O=Hosts/O=EGI.eu/CN=appdb.ck-test.example",
      "hv:ca": "/DC=org/DC=ck-test/CN=ck Test Issuing CA",
      "hv:email": "appdb-support@ck-test.example"}},
   "hv:images": [
$(image ck-demo-image-qcow2 "ck demo: tiny qcow2" demo-tiny.qcow2 Ubuntu 24.04),
$(image ck-demo-image-raw "ck demo: raw disk" demo-raw.img AlmaLinux 9)
   ]}}
JSON
testdata/pki/sign.sh "$work/list.json" "$work/www/image.list"

step "An EGI-style OCI artifact in the local registry (pushed with oras, as EGI's pipeline does)"
reg=$CK_TEST_REGISTRY
repo_path=egi_vm_images/demo-ubuntu
revision=$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n')
long_tag="24.04-$(date -u +%Y-%m-%d)-$revision"
qemu-img create -q -f qcow2 "$work/disk.img" 96M
qemu-img convert -q -c -O qcow2 "$work/disk.img" "$work/Ubuntu.24.04.qcow2"
cat > "$work/annotations.json" <<JSON
{"Ubuntu.24.04.qcow2": {
   "eu.egi.cloud.tag": "$(date -u +%Y-%m-%d)-$revision",
   "eu.egi.cloud.description": "Ubuntu 24.04 (ck demo build)",
   "org.openstack.glance.os_distro": "ubuntu", "org.openstack.glance.os_version": "24.04",
   "org.openstack.glance.os_type": "linux", "org.openstack.glance.os_admin_user": "ubuntu",
   "org.openstack.glance.architecture": "x86_64",
   "org.openstack.glance.disk_format": "qcow2", "org.openstack.glance.container_format": "bare"},
 "\$manifest": {"org.opencontainers.image.revision": "$revision",
   "org.opencontainers.image.source": "https://github.com/EGI-Federation/fedcloud-vmi-templates"}}
JSON
(cd "$work" && HOME="$work" DOCKER_CONFIG="$work/.docker" "$ORAS" push --ca-file "$CK_TEST_REGISTRY_CA" \
	--annotation-file annotations.json "$reg/$repo_path:$long_tag,24.04" \
	Ubuntu.24.04.qcow2:application/x-qemu-disk)

step "Subscriptions: the signed list and the registry repository; VO -> project; per-source settings"
cat > "$work/image-lists.conf" <<CONF
http://127.0.0.1:$port/image.list
oci://$reg/$repo_path
CONF
printf '{"demo.vo": {"project": "vo-alpha", "domain": "Default"}}\n' > "$work/mapping.json"
cat > "$work/config.yaml" <<YAML
lists:
  - url: oci://$reg/$repo_path
    vos: [demo.vo]          # the registry's images go to demo.vo's project
YAML
cat "$work/image-lists.conf" "$work/mapping.json" "$work/config.yaml"

export CK_CONFIG="$work/config.yaml"
export CK_IMAGE_LISTS_FILE="$work/image-lists.conf"
export CK_MAPPING_FILE="$work/mapping.json"
export CK_CA_DIR="$repo/testdata/pki/cadir"
export CK_EXTRA_CA_FILE="$CK_TEST_REGISTRY_CA" # the local registry's test CA
export CK_TAG=ck-demo
export OS_CLOUD=ck

step "ck verify"
"$ck" verify

step "ck diff (what sync would do)"
"$ck" diff || [ $? -eq 2 ]

step "ck sync"
"$ck" sync

step "ck diff again: nothing left to do"
"$ck" diff --exit-code

step "What landed in Glance (project vo-alpha, tag ck-demo)"
token=$(curl -fsS -i -H 'Content-Type: application/json' \
	-d '{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"ck","domain":{"id":"default"},"password":"devcloud-ck"}}},"scope":{"project":{"id":"'"$CK_DEVCLOUD_PROJECT_VO_ALPHA"'"}}}}' \
	http://127.0.0.1:5000/v3/auth/tokens | awk 'tolower($1)=="x-subject-token:" {print $2}' | tr -d '\r')
{
	printf 'NAME\tSTATUS\tFORMAT\tSIZE\tDISTRO\tLIST\tIMAGE\tSHA512\n'
	curl -fsS -H "X-Auth-Token: $token" "http://127.0.0.1:9292/v2/images?tag=ck-demo" |
		jq -r '.images[] | [.name, .status, .disk_format, (.size|tostring), .os_distro, .ck_list_id, .ck_image_id, (.os_hash_value[0:16] + "...")] | @tsv'
} | if command -v column >/dev/null; then column -t -s $'\t'; else cat; fi
