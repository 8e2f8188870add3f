#!/usr/bin/env bash
# atrope-site.sh — make the local cloud and registry look like a site that EGI's
# central atrope (fedcloud-catchall-operations, atrope 2.x, tag atrope-catchall) has
# been syncing, so that "From atrope" in docs/migrating.md can be followed as written:
#   - $dir/etc/atrope/{atrope.conf,sources.yaml,vo_map.yaml} as the catch-all writes
#     them: a `harbor:` defaults block (prefix "registry.egi.eu ", the registry's robot
#     account, tag_pattern ^[^-]*$), one Harbor source for egi_vm_images shared with
#     every VO of the site (ops included), one for the VO project alpha.vo, and one
#     HEPiX source (an AppDB-style list with a token and an images: whitelist);
#     per-project credentials in [glance_<project_id>] groups;
#   - EGI-shaped artifacts pushed with oras to the local registry with auth
#     ($CK_TEST_REGISTRY_AUTH, registry.egi.eu's stand-in): egi_vm_images/ubuntu:24.04,
#     egi_vm_images/alma:9 and alpha.vo/jupyter:1.2, each with its long tag too;
#   - an https server on 127.0.0.1:$port (the registry's test certificate) that
#     serves the signed list (Basic auth with the token), its images, and the one
#     Harbor API call a Harbor source makes, /api/v2.0/projects/P/repositories
#     (static pages; Harbor itself cannot run here; its pid is in $dir/https.pid);
#   - in Glance, the images atrope left, as it writes them (owner: the clouds.yaml
#     project of cloud ck, atrope's [glance] project_id; visibility shared; each VO
#     project an accepted member; tag atrope-catchall; appdb_id, image_hash, image_list,
#     vmcatcher_event_*, APPLIANCE_ATTRIBUTES as Python's json.dumps writes it, os_*;
#     the bytes really uploaded, so Glance computes its own hash), plus two leftovers
#     of images no longer published: ubuntu:22.04, whose build was deleted from the
#     registry, and an image since dropped from the list.
# The Glance ids are in $dir/glance-ids; running the script again deletes them (and
# any image ck made from these sources) first.
# Usage: contrib/demo/atrope-site.sh [DIR]   (default $CK_DEVCLOUD_DIR/atrope-site)
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
eval "$("$repo/contrib/devcloud/devcloud.sh" env)"
dir=${1:-$CK_DEVCLOUD_DIR/atrope-site}
port=${CK_ATROPE_PORT:-8778}
reg=$CK_TEST_REGISTRY_AUTH
py=/usr/bin/python3
ops=$CK_DEVCLOUD_PROJECT_CK # atrope's [glance] project_id: the clouds.yaml project of cloud ck
alpha=$CK_DEVCLOUD_PROJECT_VO_ALPHA
beta=$CK_DEVCLOUD_PROJECT_VO_BETA
token=appdb-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n') # the list's AppDB-style token
dn=/DC=EU/DC=EGI/C=NL/O=Hosts/O=EGI.eu/CN=appdb.ck-test.example
ca="/DC=org/DC=ck-test/CN=ck Test Issuing CA"
hepix_url=https://127.0.0.1:$port/store/vo/alpha.vo/image.list

# ---------------------------------------------------------------- a previous run
if [ -f "$dir/https.pid" ]; then kill "$(cat "$dir/https.pid")" 2>/dev/null || true; fi
if [ -f "$dir/glance-ids" ]; then
	xargs -r openstack --os-cloud admin image delete <"$dir/glance-ids" 2>/dev/null || true
fi
for src in "harbor://$reg/egi_vm_images" "harbor://$reg/alpha.vo" "$hepix_url"; do
	openstack --os-cloud admin image list --property ck_list_url="$src" -f value -c ID |
		xargs -r openstack --os-cloud admin image delete
done
rm -rf "$dir"
mkdir -p "$dir/etc/atrope" "$dir/www/store/vo/alpha.vo" "$dir/www/images" "$dir/harbor" "$dir/work"
: >"$dir/glance-ids"

# ---------------------------------------------------------------- the registry
# oras_ ARGS... runs oras with the registry's CA and robot account (password on stdin).
oras_() {
	(cd "$dir/work" && HOME="$dir/work" DOCKER_CONFIG="$dir/work/.docker" "$ORAS" "$@" \
		--ca-file "$CK_TEST_REGISTRY_CA" --username "$CK_TEST_REGISTRY_USER" --password-stdin \
		<<<"$CK_TEST_REGISTRY_PASSWORD")
}
# push REPO VERSION DISTRO DESCRIPTION: a fresh qcow2 (random bytes, compressed as EGI
# does) pushed as EGI's pipeline pushes it, tags <version>-<date>-<commit> and <version>;
# prints the manifest digest.
push() {
	local repo=$1 version=$2 distro=$3 desc=$4 commit tag file
	commit=$(head -c 20 /dev/urandom | od -An -tx1 | tr -d ' \n')
	tag=$(date -u +%Y-%m-%d)-${commit:0:8}
	file=$(tr . - <<<"${repo##*/}.$version").qcow2
	head -c 262144 /dev/urandom >"$dir/work/disk.raw"
	truncate -s 8M "$dir/work/disk.raw"
	qemu-img convert -c -f raw -O qcow2 "$dir/work/disk.raw" "$dir/work/$file"
	cat >"$dir/work/metadata.json" <<JSON
{"$file": {"eu.egi.cloud.tag": "$tag", "eu.egi.cloud.description": "$desc",
   "org.openstack.glance.os_distro": "$distro", "org.openstack.glance.os_version": "$version",
   "org.openstack.glance.os_type": "linux", "org.openstack.glance.os_admin_user": "$distro",
   "org.openstack.glance.architecture": "x86_64",
   "org.openstack.glance.disk_format": "qcow2", "org.openstack.glance.container_format": "bare"},
 "\$manifest": {"org.opencontainers.image.revision": "$commit",
   "org.opencontainers.image.source": "https://github.com/EGI-Federation/fedcloud-vmi-templates"}}
JSON
	oras_ push --annotation-file metadata.json --format go-template='{{.digest}}' \
		"$reg/$repo:$version-$tag,$version" "$file:application/x-qemu-disk"
}
# manifest REPO DIGEST prints the manifest as the registry serves it.
manifest() { oras_ manifest fetch "$reg/$1@$2"; }
ubuntu=$(push egi_vm_images/ubuntu 24.04 ubuntu "EGI Ubuntu 24.04")
alma=$(push egi_vm_images/alma 9 almalinux "EGI AlmaLinux 9")
jupyter=$(push alpha.vo/jupyter 1.2 ubuntu "alpha.vo Jupyter 1.2")
old=$(push egi_vm_images/ubuntu 22.04 ubuntu "EGI Ubuntu 22.04")
old_manifest=$(manifest egi_vm_images/ubuntu "$old")
old_blob=$(jq -r '.layers[0].digest' <<<"$old_manifest")
oras_ blob fetch --output "$dir/work/ubuntu-22.04.qcow2" "$reg/egi_vm_images/ubuntu@$old_blob"
# EGI's retention policy removed the 22.04 build: its manifest, so both its tags.
oras_ manifest delete --force "$reg/egi_vm_images/ubuntu@$old" >/dev/null

# Harbor's answers to GET /api/v2.0/projects/P/repositories.
echo '[{"id": 1, "project_id": 1, "name": "egi_vm_images/ubuntu", "artifact_count": 2},
 {"id": 2, "project_id": 1, "name": "egi_vm_images/alma", "artifact_count": 1}]' >"$dir/harbor/egi_vm_images.json"
echo '[{"id": 3, "project_id": 2, "name": "alpha.vo/jupyter", "artifact_count": 1}]' >"$dir/harbor/alpha.vo.json"

# ---------------------------------------------------------------- the HEPiX list
uuid() { cat /proc/sys/kernel/random/uuid; }
alma_id=$(uuid) cernvm_id=$(uuid) debian_id=$(uuid) centos_id=$(uuid)
head -c 1048576 /dev/urandom >"$dir/www/images/alma.img"
head -c 1048576 /dev/urandom >"$dir/www/images/cernvm.img"
head -c 524288 /dev/urandom >"$dir/www/images/debian.img"
head -c 524288 /dev/urandom >"$dir/work/centos.img" # no longer listed, no longer served
entry() { # id title file osname osversion
	printf '{"hv:image": {"dc:identifier": "%s", "dc:title": "%s", "dc:description": "%s for alpha.vo",
	  "hv:uri": "https://127.0.0.1:%s/images/%s", "hv:size": "%s", "sl:checksum:sha512": "%s",
	  "hv:version": "1.0", "hv:hypervisor": "KVM", "hv:ram_minimum": "1024", "hv:format": "RAW",
	  "sl:arch": "x86_64", "sl:os": "Linux", "sl:osname": "%s", "sl:osversion": "%s", "sl:comments": "",
	  "dc:date:expires": "2040-01-01T00:00:00Z",
	  "ad:mpuri": "https://appdb.ck-test.example/store/vo/image/%s:1/", "ad:group": "General group"}}' \
		"$1" "$2" "$2" "$port" "$3" "$(stat -c %s "$dir/www/images/$3")" \
		"$(sha512sum "$dir/www/images/$3" | cut -d' ' -f1)" "$4" "$5" "$1"
}
cat >"$dir/work/alpha.vo.json" <<JSON
{"hv:imagelist": {"dc:identifier": "$(uuid)", "dc:title": "alpha.vo image list",
 "dc:description": "", "dc:source": "https://appdb.ck-test.example/",
 "dc:date:created": "2026-01-01T00:00:00Z", "dc:date:expires": "2040-01-01T00:00:00Z",
 "hv:version": "$(date -u +%Y%m%d%H%M%S)", "hv:uri": "$hepix_url", "ad:vo": "alpha.vo",
 "hv:endorser": {"hv:x509": {"dc:creator": "Applications Database", "hv:dn": "$dn", "hv:ca": "$ca",
   "hv:email": "appdb-support@ck-test.example"}},
 "hv:images": [$(entry "$alma_id" "AlmaLinux 9" alma.img AlmaLinux 9),
  $(entry "$cernvm_id" "CernVM 4" cernvm.img CernVM 4),
  $(entry "$debian_id" "Debian 12" debian.img Debian 12)]}}
JSON
"$repo/testdata/pki/sign.sh" "$dir/work/alpha.vo.json" "$dir/www/store/vo/alpha.vo/image.list"

# ---------------------------------------------------------------- the https server
cat >"$dir/server.py" <<'PY'
# The site's list server (AppDB's role: lists need the token as Basic user) and
# Harbor's API (only GET /api/v2.0/projects/P/repositories, with the robot account).
import base64, functools, http.server, json, os, ssl, sys
root, port, cert, key = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
token, robot = os.environ.pop("LIST_TOKEN"), os.environ.pop("ROBOT")

class Handler(http.server.SimpleHTTPRequestHandler):
    def basic(self):
        h = self.headers.get("Authorization", "")
        return base64.b64decode(h[6:]).decode() if h.startswith("Basic ") else None

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path.startswith("/api/v2.0/projects/") and path.endswith("/repositories"):
            if self.basic() != robot:
                return self.send_error(401)
            project = path[len("/api/v2.0/projects/"):-len("/repositories")]
            name = os.path.join(root, "harbor", project + ".json")
            if "/" in project or not os.path.exists(name):
                return self.send_error(404)
            with open(name, "rb") as f:
                body = f.read()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("X-Total-Count", str(len(json.loads(body))))
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if path.startswith("/store/") and self.basic() != token + ":x-oauth-basic":
            return self.send_error(401)
        super().do_GET()

ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), functools.partial(Handler, directory=os.path.join(root, "www")))
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.serve_forever()
PY
LIST_TOKEN=$token ROBOT="$CK_TEST_REGISTRY_USER:$CK_TEST_REGISTRY_PASSWORD" \
	$py "$dir/server.py" "$dir" "$port" "$CK_TEST_REGISTRY_CERT" "$CK_TEST_REGISTRY_KEY" >"$dir/https.log" 2>&1 &
echo $! >"$dir/https.pid"
for _ in $(seq 50); do
	# Any answer will do (here a 404): the image downloads in https.log must be ck's.
	[ "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$CK_TEST_REGISTRY_CA" "https://127.0.0.1:$port/ready")" != 000 ] && break
	if ! kill -0 "$(cat "$dir/https.pid")" 2>/dev/null; then
		cat "$dir/https.log" >&2
		echo "atrope-site: the https server did not start on port $port (set CK_ATROPE_PORT to a free one)" >&2
		exit 1
	fi
	sleep 0.1
done

# ---------------------------------------------------------------- atrope's configuration
cat >"$dir/etc/atrope/atrope.conf" <<CONF
[DEFAULT]
state_path = /atrope-state/

[glance]
project_id = $ops
formats =
vo_map = $dir/etc/atrope/vo_map.yaml
tag = atrope-catchall

[glance_$ops]
auth_type = password
auth_url = http://127.0.0.1:5000/v3
username = ck
password = devcloud-ck
user_domain_name = Default
project_id = $ops

[glance_$alpha]
auth_type = password
auth_url = http://127.0.0.1:5000/v3
username = ck
password = devcloud-ck
user_domain_name = Default
project_id = $alpha

[glance_$beta]
auth_type = password
auth_url = http://127.0.0.1:5000/v3
username = bob
password = devcloud-bob
user_domain_name = Default
project_id = $beta

[dispatchers]
dispatcher = glance

[cache]
formats =

[sources]
image_sources = $dir/etc/atrope/sources.yaml
CONF
# Written as the catch-all's yaml.dump writes it (keys sorted), plus a HEPiX source.
cat >"$dir/etc/atrope/sources.yaml" <<YAML
alpha.vo:
  project: alpha.vo
  type: harbor
  vos:
  - alpha.vo
appdb-alpha.vo:
  enabled: true
  endorser:
    ca: $ca
    dn: $dn
  images:
  - $alma_id
  - $cernvm_id
  prefix: 'APPDB '
  token: $token
  url: $hepix_url
  vos:
  - alpha.vo
egi_vm_images:
  project: egi_vm_images
  type: harbor
  vos:
  - alpha.vo
  - beta.vo
  - ops
harbor:
  api_url: https://127.0.0.1:$port/api/v2.0
  auth_password: $CK_TEST_REGISTRY_PASSWORD
  auth_user: $CK_TEST_REGISTRY_USER
  enabled: true
  prefix: 'registry.egi.eu '
  registry_host: $reg
  tag_pattern: ^[^-]*$
YAML
cat >"$dir/etc/atrope/vo_map.yaml" <<YAML
alpha.vo:
  project_id: $alpha
beta.vo:
  project_id: $beta
ops:
  project_id: $ops
YAML
chmod 600 "$dir/etc/atrope/atrope.conf" "$dir/etc/atrope/sources.yaml"

# ---------------------------------------------------------------- what atrope left in Glance
# atrope_image FILE NAME DISK_FORMAT JSON-PROPERTIES MEMBER... creates the image as
# atrope's Glance dispatcher does (one create with tag and properties, then the upload;
# openstacksdk adds owner_specified.openstack.{md5,sha256,object}, the sums empty as in a
# create without a file), shares it and accepts each membership
# with that project's [glance_<id>] credentials (bob for vo-beta). Prints the id.
atrope_image() {
	local file=$1 name=$2 format=$3 props=$4 id member cloud
	shift 4
	local args=()
	while IFS= read -r -d '' kv; do args+=(--property "$kv"); done < <(jq -j 'to_entries[] | "\(.key)=\(.value)\u0000"' <<<"$props")
	id=$(openstack --os-cloud ck image create --disk-format "$format" --container-format bare --shared \
		--tag atrope-catchall --file "$file" "${args[@]}" -f value -c id "$name")
	echo "$id" >>"$dir/glance-ids"
	for member in "$@"; do
		openstack --os-cloud ck image add project "$id" "$member" >/dev/null
		cloud=ck-vo-alpha
		[ "$member" = "$beta" ] && cloud=bob
		openstack --os-cloud "$cloud" image set --accept "$id"
	done
	echo "$id"
}
# registry_props REPO TAG MANIFEST-DIGEST MANIFEST SOURCE: atrope's properties of a
# Harbor image (HarborImage + the dispatcher); APPLIANCE_ATTRIBUTES = the layer's
# annotations plus eu.egi.cloud.image_ref, dumped by Python's json.dumps.
registry_props() {
	local ref=$1:$2 digest=$3 manifest=$4 source=$5
	$py -c '
import json, sys
ref, digest, host, source, manifest = sys.argv[1:6]
layer = json.loads(manifest)["layers"][0]
ann = dict(layer["annotations"], **{"eu.egi.cloud.image_ref": ref})
ident = host + "/" + ref + "-" + digest
print(json.dumps({"vmcatcher_event_dc_description": ann["eu.egi.cloud.description"],
    "vmcatcher_event_ad_mpuri": ident, "appdb_id": ident, "image_hash": layer["digest"],
    "os_version": ann["org.openstack.glance.os_version"], "os_distro": ann["org.openstack.glance.os_distro"],
    "architecture": ann["org.openstack.glance.architecture"], "APPLIANCE_ATTRIBUTES": json.dumps(ann),
    "image_list": source, "project": ref.split("/")[0]}))' "$ref" "$digest" "$reg" "$source" "$manifest"
}
# hepix_props ID [JSON]: atrope's properties of a HEPiX image (HepixImage + the dispatcher),
# APPLIANCE_ATTRIBUTES = the hv:image object dumped by Python's json.dumps.
hepix_props() {
	$py -c '
import json, sys
lst, ident, drop = sys.argv[1:4]
images = [i["hv:image"] for i in json.load(open(lst))["hv:imagelist"]["hv:images"]]
img = next((i for i in images if i["dc:identifier"] == ident), None)
if img is None:  # the image since dropped from the list (JSON): as the list had it then
    img = dict(images[0], **json.loads(drop))
print(json.dumps({"vmcatcher_event_dc_description": img["dc:description"],
    "vmcatcher_event_ad_mpuri": img["ad:mpuri"], "appdb_id": img["dc:identifier"],
    "image_hash": "sha512:" + img["sl:checksum:sha512"], "os_version": img["sl:osversion"],
    "os_distro": img["sl:osname"], "architecture": img["sl:arch"], "APPLIANCE_ATTRIBUTES": json.dumps(img),
    "image_list": "appdb-alpha.vo", "project": ""}))' "$dir/work/alpha.vo.json" "$1" "${2:-null}"
}
# Blobs as the registry serves them (what atrope's oras pull downloaded).
oras_ blob fetch --output "$dir/work/ubuntu-24.04.qcow2" "$reg/egi_vm_images/ubuntu@$(manifest egi_vm_images/ubuntu "$ubuntu" | jq -r '.layers[0].digest')"
oras_ blob fetch --output "$dir/work/alma-9.qcow2" "$reg/egi_vm_images/alma@$(manifest egi_vm_images/alma "$alma" | jq -r '.layers[0].digest')"
oras_ blob fetch --output "$dir/work/jupyter-1.2.qcow2" "$reg/alpha.vo/jupyter@$(manifest alpha.vo/jupyter "$jupyter" | jq -r '.layers[0].digest')"

echo "atrope image, egi_vm_images/ubuntu:24.04:  $(atrope_image "$dir/work/ubuntu-24.04.qcow2" "registry.egi.eu egi_vm_images/ubuntu:24.04" qcow2 \
	"$(registry_props egi_vm_images/ubuntu 24.04 "$ubuntu" "$(manifest egi_vm_images/ubuntu "$ubuntu")" egi_vm_images)" "$alpha" "$beta")"
echo "atrope image, egi_vm_images/alma:9:        $(atrope_image "$dir/work/alma-9.qcow2" "registry.egi.eu egi_vm_images/alma:9" qcow2 \
	"$(registry_props egi_vm_images/alma 9 "$alma" "$(manifest egi_vm_images/alma "$alma")" egi_vm_images)" "$alpha" "$beta")"
echo "atrope image, alpha.vo/jupyter:1.2:        $(atrope_image "$dir/work/jupyter-1.2.qcow2" "registry.egi.eu alpha.vo/jupyter:1.2" qcow2 \
	"$(registry_props alpha.vo/jupyter 1.2 "$jupyter" "$(manifest alpha.vo/jupyter "$jupyter")" alpha.vo)" "$alpha")"
echo "atrope image, AlmaLinux 9 (list):          $(atrope_image "$dir/www/images/alma.img" "APPDB AlmaLinux 9" raw "$(hepix_props "$alma_id")" "$alpha")"
echo "atrope image, CernVM 4 (list):             $(atrope_image "$dir/www/images/cernvm.img" "APPDB CernVM 4" raw "$(hepix_props "$cernvm_id")" "$alpha")"
echo "leftover, egi_vm_images/ubuntu:22.04:      $(atrope_image "$dir/work/ubuntu-22.04.qcow2" "registry.egi.eu egi_vm_images/ubuntu:22.04" qcow2 \
	"$(registry_props egi_vm_images/ubuntu 22.04 "$old" "$old_manifest" egi_vm_images)" "$alpha" "$beta")"
echo "leftover, CentOS 7 (dropped from the list): $(atrope_image "$dir/work/centos.img" "APPDB CentOS 7" raw \
	"$(hepix_props "$centos_id" "$(jq -cn --arg id "$centos_id" --arg sha "$(sha512sum "$dir/work/centos.img" | cut -d' ' -f1)" \
		'{"dc:identifier": $id, "dc:title": "CentOS 7", "dc:description": "CentOS 7 for alpha.vo", "sl:checksum:sha512": $sha,
		  "hv:size": "524288", "hv:uri": "https://127.0.0.1:'"$port"'/images/centos.img", "sl:osname": "CentOS", "sl:osversion": "7", "ad:mpuri": ("https://appdb.ck-test.example/store/vo/image/" + $id + ":1/")}')")" "$alpha")"
rm -f "$dir/work/"*.raw
echo "site in $dir (atrope's files in $dir/etc/atrope); https server pid $(cat "$dir/https.pid") on port $port"
