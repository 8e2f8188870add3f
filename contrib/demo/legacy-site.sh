#!/usr/bin/env bash
# legacy-site.sh — make the local cloud look like a site that ran cloudkeeper
# (+ cloudkeeper-os) and atrope, so that docs/migrating.md can be followed as
# written:
#   - $dir/etc/cloudkeeper/image-lists.conf, $dir/etc/cloudkeeper-os/mapping.json
#     and cloudkeeper-os.conf, $dir/etc/atrope/{sources,vo_map}.yaml;
#   - two signed lists (one of VO alpha.vo, one without ad:vo) whose images are
#     served on http://127.0.0.1:$port/ (the server keeps running; its pid is in
#     $dir/http.pid);
#   - in project vo-alpha, the images cloudkeeper-os would have left: one with the
#     listed bytes, one converted (other bytes), one EOL;
#   - in project ck, an image atrope would have left for the list without ad:vo.
# Usage: contrib/demo/legacy-site.sh [DIR]   (default $CK_DEVCLOUD_DIR/legacy-site)
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
eval "$("$repo/contrib/devcloud/devcloud.sh" env)"
dir=${1:-$CK_DEVCLOUD_DIR/legacy-site}
port=${CK_LEGACY_PORT:-8766}
suffix=$(date +%s)
rm -rf "$dir"
mkdir -p "$dir/www" "$dir/etc/cloudkeeper" "$dir/etc/cloudkeeper-os" "$dir/etc/atrope"

head -c 1048576 /dev/urandom >"$dir/www/cernvm.img"
head -c 2097152 /dev/urandom >"$dir/www/centos.img"
head -c 1048576 /dev/urandom >"$dir/www/ubuntu.img"
head -c 524288 /dev/urandom >"$dir/converted.img" # what cloudkeeper made of centos.img

if [ -f "$dir/http.pid" ]; then kill "$(cat "$dir/http.pid")" 2>/dev/null || true; fi
/usr/bin/python3 -m http.server "$port" --bind 127.0.0.1 --directory "$dir/www" >"$dir/http.log" 2>&1 &
echo $! >"$dir/http.pid"

entry() { # id title file
	printf '{"hv:image": {"dc:identifier": "%s", "dc:title": "%s", "dc:description": "legacy demo image",
	  "hv:uri": "http://127.0.0.1:%s/%s", "hv:size": "%s", "sl:checksum:sha512": "%s",
	  "hv:version": "1.0", "hv:hypervisor": "KVM", "hv:ram_minimum": "512", "hv:format": "RAW",
	  "sl:arch": "x86_64", "sl:os": "Linux", "sl:osname": "Ubuntu", "sl:osversion": "22.04",
	  "ad:mpuri": "https://appdb.ck-test.example/store/vo/image/%s:1/"}}' \
		"$1" "$2" "$port" "$3" "$(stat -c %s "$dir/www/$3")" "$(sha512sum "$dir/www/$3" | cut -d' ' -f1)" "$1"
}
list() { # id vo-json-fragment out entries...
	local id=$1 vo=$2 out=$3 images
	shift 3
	images=$(printf '%s,' "$@")
	images=${images%,}
	cat >"$dir/$out.json" <<JSON
{"hv:imagelist": {"dc:identifier": "$id", "dc:title": "legacy demo $out",
 "dc:description": "", "dc:source": "https://appdb.ck-test.example/",
 "dc:date:created": "2026-01-01T00:00:00Z", "dc:date:expires": "2040-01-01T00:00:00Z",
 "hv:version": "1", $vo
 "hv:endorser": {"hv:x509": {"dc:creator": "Applications Database",
   "hv:dn": "/DC=EU/DC=EGI/C=NL/O=Hosts/O=EGI.eu/CN=appdb.ck-test.example",
   "hv:ca": "/DC=org/DC=ck-test/CN=ck Test Issuing CA", "hv:email": "appdb-support@ck-test.example"}},
 "hv:images": [$images]}}
JSON
	"$repo/testdata/pki/sign.sh" "$dir/$out.json" "$dir/www/$out.list"
}
vo_list=legacy-vo-$suffix
atrope_list=legacy-atrope-$suffix
list "$vo_list" '"ad:vo": "alpha.vo",' vo "$(entry "$vo_list-cernvm" "CernVM 4" cernvm.img)" "$(entry "$vo_list-centos" "CentOS 7" centos.img)"
list "$atrope_list" '' atrope "$(entry "$atrope_list-ubuntu" "Ubuntu 22.04" ubuntu.img)"

# cloudkeeper's configuration, as a site has it.
echo "http://127.0.0.1:$port/vo.list" >"$dir/etc/cloudkeeper/image-lists.conf"
echo '{"alpha.vo": {"tenant": "vo-alpha"}}' >"$dir/etc/cloudkeeper-os/mapping.json"
cat >"$dir/etc/cloudkeeper-os/cloudkeeper-os.conf" <<CONF
[DEFAULT]
mapping_file = $dir/etc/cloudkeeper-os/mapping.json
image_visibility = private

[keystone_authtoken]
auth_url = http://127.0.0.1:5000/v3
username = ck
password = devcloud-ck
user_domain_name = default
project_domain_name = default
CONF
# atrope's, for the list without a VO (images private in atrope's project, ck).
cat >"$dir/etc/atrope/sources.yaml" <<YAML
legacy-demo:
  url: http://127.0.0.1:$port/atrope.list
  enabled: true
  endorser:
    dn: /DC=EU/DC=EGI/C=NL/O=Hosts/O=EGI.eu/CN=appdb.ck-test.example
    ca: /DC=org/DC=ck-test/CN=ck Test Issuing CA
YAML
echo "{}" >"$dir/etc/atrope/vo_map.yaml"

sha() { sha512sum "$1" | cut -d' ' -f1; }
# What cloudkeeper-os 1.x wrote (create, upload, then properties; no tag).
ckos() { # file list-id image-id title status
	openstack --os-cloud ck-vo-alpha image create --disk-format raw --container-format bare --private \
		--min-ram 1 --file "$1" -f value -c id \
		--property APPLIANCE_IMAGE_LIST_ID="$2" --property APPLIANCE_ID="$3" \
		--property APPLIANCE_TITLE="$4" --property APPLIANCE_STATUS="$5" --property APPLIANCE_VO=alpha.vo \
		--property APPLIANCE_VERSION=1.0 --property vmcatcher_event_ad_mpuri="https://appdb.ck-test.example/store/vo/image/$3:1/" \
		"$4"
}
echo "cloudkeeper-os image, same bytes:  $(ckos "$dir/www/cernvm.img" "$vo_list" "$vo_list-cernvm" "CernVM 4" ACTIVE)"
echo "cloudkeeper-os image, converted:   $(ckos "$dir/converted.img" "$vo_list" "$vo_list-centos" "CentOS 7" ACTIVE)"
echo "cloudkeeper-os image, EOL:         $(ckos "$dir/www/cernvm.img" "$vo_list" "$vo_list-cernvm" "CernVM 4 (old)" EOL)"
# What atrope wrote (one create with tag and properties, then upload).
echo "atrope image, same bytes:          $(openstack --os-cloud ck image create --disk-format raw --container-format bare --private \
	--file "$dir/www/ubuntu.img" --tag atrope -f value -c id \
	--property appdb_id="$atrope_list-ubuntu" --property image_list=legacy-demo \
	--property image_hash="sha512:$(sha "$dir/www/ubuntu.img")" --property vmcatcher_event_dc_description="legacy demo image" \
	"Ubuntu 22.04")"
echo "site in $dir; image server pid $(cat "$dir/http.pid") on port $port"
