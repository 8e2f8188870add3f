#!/usr/bin/env bash
# Regenerates the ck test PKI (testdata/pki) and the signed image-list fixtures
# (testdata/signed). Re-runnable: everything is rebuilt from scratch. Keys,
# serial-dependent bytes and signing times change on every run; names, dates,
# file names and trust outcomes do not (see testdata/signed/README.md).
#
# Needs OpenSSL >= 3.0 (openssl ca -crl_lastupdate/-crl_nextupdate).
set -euo pipefail

pki=$(cd "$(dirname "$0")" && pwd)
signed=$(cd "$pki/../signed" && pwd)
cnf=$pki/openssl.cnf
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export CK_CA_DIR=$work # openssl.cnf needs it set even for openssl req

# Fixed dates, so that tests can pin the verification time (they use 2026-06-01).
valid_from=20250101000000Z
valid_to=20450101000000Z
expired_to=20250601000000Z
crl_this=20260101000000Z
crl_next=20450101000000Z
stale_this=20250101000000Z
stale_next=20250201000000Z

root_dn="/DC=org/DC=ck-test/CN=ck Test Root CA"
issuing_dn="/DC=org/DC=ck-test/CN=ck Test Issuing CA"
untrusted_dn="/DC=org/DC=untrusted-test/CN=Untrusted Test CA"
hosts="/DC=EU/DC=EGI/C=NL/O=Hosts/O=EGI.eu"

rm -rf "$pki/ca" "$pki/endorsers" "$pki"/cadir*
mkdir -p "$pki/ca" "$pki/endorsers"
find "$signed" -maxdepth 1 \( -name '*.signed' -o -name '*.json' \) -delete

# ca_op CA ARGS... runs `openssl ca` on the working database of CA.
ca_op() {
	local ca=$1
	shift
	CK_CA_DIR="$work/$ca" openssl ca -batch -config "$cnf" -notext -preserveDN "$@" 2>/dev/null
}

# new_key_csr DIR NAME SUBJECT writes DIR/NAME.key and $work/NAME.csr.
new_key_csr() {
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1/$2.key" 2>/dev/null
	openssl req -new -config "$cnf" -key "$1/$2.key" -subj "$3" -out "$work/$2.csr"
}

# make_ca NAME SUBJECT ISSUER|self EXTENSIONS creates ca/NAME.{key,pem} and its database.
make_ca() {
	local name=$1 subj=$2 issuer=$3 ext=$4
	new_key_csr "$pki/ca" "$name" "$subj"
	mkdir -p "$work/$name/newcerts"
	: >"$work/$name/index.txt"
	echo 1000 >"$work/$name/serial"
	echo 1000 >"$work/$name/crlnumber"
	if [ "$issuer" = self ]; then
		ca_op "$name" -selfsign -keyfile "$pki/ca/$name.key" -in "$work/$name.csr" \
			-out "$pki/ca/$name.pem" -extensions "$ext" -startdate "$valid_from" -enddate "$valid_to"
	else
		ca_op "$issuer" -in "$work/$name.csr" -out "$pki/ca/$name.pem" \
			-extensions "$ext" -startdate "$valid_from" -enddate "$valid_to"
	fi
	cp "$pki/ca/$name.pem" "$work/$name/cert.pem"
	cp "$pki/ca/$name.key" "$work/$name/key.pem"
}

# make_endorser NAME SUBJECT ISSUER NOT_AFTER CHAIN... creates endorsers/NAME.{key,pem,chain.pem};
# the chain file holds the CA certificates a signed list carries (sign.sh -certfile).
make_endorser() {
	local name=$1 subj=$2 issuer=$3 not_after=$4
	shift 4
	new_key_csr "$pki/endorsers" "$name" "$subj"
	ca_op "$issuer" -in "$work/$name.csr" -out "$pki/endorsers/$name.pem" \
		-extensions v3_endorser -startdate "$valid_from" -enddate "$not_after"
	local c
	: >"$pki/endorsers/$name.chain.pem"
	for c in "$@"; do cat "$pki/ca/$c.pem" >>"$pki/endorsers/$name.chain.pem"; done
}

# gen_crl CA OUT THIS NEXT
gen_crl() {
	ca_op "$1" -gencrl -crlexts crl_ext -crl_lastupdate "$3" -crl_nextupdate "$4" -out "$2"
}

# dn FILE prints a certificate's subject or issuer in OpenSSL's one-line form.
subject() { openssl x509 -noout -subject -nameopt compat -in "$1" | sed 's/^subject=//'; }
issuer() { openssl x509 -noout -issuer -nameopt compat -in "$1" | sed 's/^issuer=//'; }
hash_of() { openssl x509 -noout -hash -in "$1"; }

echo "== CAs"
make_ca root-ca "$root_dn" self v3_root
make_ca issuing-ca "$issuing_dn" root-ca v3_issuing
# Same names as the real CAs, other keys: only the key tells them apart.
make_ca impostor-root-ca "$root_dn" self v3_root
make_ca impostor-issuing-ca "$issuing_dn" impostor-root-ca v3_issuing
make_ca untrusted-ca "$untrusted_dn" self v3_root

echo "== endorsers"
make_endorser appdb "$hosts/CN=appdb.ck-test.example" issuing-ca "$valid_to" issuing-ca
make_endorser second "$hosts/CN=lists.ck-test.example" issuing-ca "$valid_to" issuing-ca
make_endorser expired "$hosts/CN=expired.ck-test.example" issuing-ca "$expired_to" issuing-ca
make_endorser revoked "$hosts/CN=revoked.ck-test.example" issuing-ca "$valid_to" issuing-ca
make_endorser impostor "$hosts/CN=appdb.ck-test.example" impostor-issuing-ca "$valid_to" \
	impostor-issuing-ca impostor-root-ca
make_endorser untrusted "$hosts/CN=untrusted.ck-test.example" untrusted-ca "$valid_to" untrusted-ca

echo "== CRLs"
ca_op issuing-ca -revoke "$pki/endorsers/revoked.pem" -crl_reason keyCompromise
for ca in root-ca issuing-ca; do
	gen_crl "$ca" "$pki/ca/$ca.crl.pem" "$crl_this" "$crl_next"
	gen_crl "$ca" "$pki/ca/$ca-stale.crl.pem" "$stale_this" "$stale_next"
done

echo "== CA directories"
mkdir -p "$pki/cadir" "$pki/cadir-nocrl" "$pki/cadir-stalecrl" "$pki/cadir-pem"
for ca in root-ca issuing-ca; do
	h=$(hash_of "$pki/ca/$ca.pem")
	for d in cadir cadir-nocrl cadir-stalecrl; do cp "$pki/ca/$ca.pem" "$pki/$d/$h.0"; done
	cp "$pki/ca/$ca.crl.pem" "$pki/cadir/$h.r0"
	cp "$pki/ca/$ca-stale.crl.pem" "$pki/cadir-stalecrl/$h.r0"
	cp "$pki/ca/$ca.pem" "$pki/cadir-pem/ck-test-$ca.pem"
done
# The side files of an IGTF distribution, which a loader must ignore.
h=$(hash_of "$pki/ca/root-ca.pem")
printf 'access_id_CA X509 '\''%s'\''\npos_rights globus CA:sign\ncond_subjects globus '\''"/DC=org/DC=ck-test/*" "/DC=EU/DC=EGI/*"'\''\n' \
	"$root_dn" >"$pki/cadir/$h.signing_policy"
printf 'alias = ck-test-root-ca\nversion = 1.0-1\n' >"$pki/cadir/$h.info"
printf 'https://ca.ck-test.example/root.crl\n' >"$pki/cadir/$h.crl_url"

echo "== payloads"
# payload NAME N DN CA CREATED EXPIRES [EXTRA_JSON_MEMBER] writes signed/NAME.json,
# a small AppDB-like list; N (3 digits) keeps identifiers unique per list.
payload() {
	local name=$1 n=$2 dn=$3 ca=$4 created=$5 expires=$6 extra=${7:-}
	local sum1 sum2
	sum1=$(printf 'ck-test image %s-1' "$n" | sha512sum | cut -d' ' -f1)
	sum2=$(printf 'ck-test image %s-2' "$n" | sha512sum | cut -d' ' -f1)
	cat >"$signed/$name.json" <<EOF
{
   "hv:imagelist": {
      "dc:date:created": "$created",
      "dc:date:expires": "$expires",
      "dc:description": "ck test list ($name).",
      "dc:identifier": "3f1b2c4d-8e9a-4b7c-a1d2-000000000$n",
      "dc:source": "https://appdb.ck-test.example/",
      "dc:title": "ck test list $n",
      "ad:vo": "vo.ck-test.example",
      "hv:endorser": {
         "hv:x509": {
            "dc:creator": "Applications Database",
            "hv:ca": "$ca",
            "hv:dn": "$dn",
            "hv:email": "appdb-support@ck-test.example"
         }
      },${extra}
      "hv:images": [
         {
            "hv:image": {
               "dc:description": "Small test image one.",
               "dc:identifier": "7c0e8f1e-5a3b-4c2d-9e10-0000000${n}01",
               "ad:mpuri": "https://appdb.ck-test.example/store/vo/image/7c0e8f1e-5a3b-4c2d-9e10-0000000${n}01:1/",
               "dc:title": "Image for ck test [Ubuntu/24.04/KVM]",
               "ad:group": "General group",
               "hv:hypervisor": "KVM",
               "hv:format": "QCOW2",
               "hv:ram_minimum": "1024",
               "hv:core_minimum": "1",
               "hv:size": "121243136",
               "hv:uri": "https://images.ck-test.example/ck-test-$n-1.qcow2",
               "hv:version": "1.0-1",
               "sl:arch": "x86_64",
               "sl:checksum:sha512": "$sum1",
               "sl:os": "Linux",
               "sl:osname": "Ubuntu",
               "sl:osversion": "24.04"
            }
         },
         {
            "hv:image": {
               "dc:identifier": "7c0e8f1e-5a3b-4c2d-9e10-0000000${n}02",
               "dc:title": "Image for ck test [AlmaLinux/9/KVM]",
               "hv:format": "OVA",
               "hv:size": "581816320",
               "hv:uri": "https://images.ck-test.example/ck-test-$n-2.ova",
               "hv:version": "2.0-1",
               "sl:checksum:sha512": "$sum2"
            }
         }
      ],
      "hv:uri": "https://appdb.ck-test.example/store/vo/vo.ck-test.example/image.list",
      "hv:version": "20260101000000"
   }
}
EOF
}

e=$pki/endorsers
appdb_dn=$(subject "$e/appdb.pem")
issuing=$(issuer "$e/appdb.pem")
created=2026-01-01T00:00:00Z
expires=2044-12-31T00:00:00Z
payload valid 001 "$appdb_dn" "$issuing" "$created" "$expires"
payload second 002 "$(subject "$e/second.pem")" "$issuing" "$created" "$expires"
payload expired-list 003 "$appdb_dn" "$issuing" 2025-01-02T00:00:00Z 2025-06-01T00:00:00Z
payload future-list 004 "$appdb_dn" "$issuing" 2040-01-01T00:00:00Z "$expires"
payload wrong-dn 005 "$(subject "$e/second.pem")" "$issuing" "$created" "$expires"
payload wrong-ca 006 "$appdb_dn" "$(issuer "$pki/ca/issuing-ca.pem")" "$created" "$expires"
payload revoked 007 "$(subject "$e/revoked.pem")" "$issuing" "$created" "$expires"
payload expired-cert 008 "$(subject "$e/expired.pem")" "$issuing" "$created" "$expires"
payload untrusted 009 "$(subject "$e/untrusted.pem")" "$(issuer "$e/untrusted.pem")" "$created" "$expires"
payload unsigned 010 "$appdb_dn" "$issuing" "$created" "$expires"
# 40 nested objects inside the list (depth 42 in all): over the parser's limit of 32.
deep='"x:deep": '
for _ in $(seq 40); do deep+='{"x:nest": '; done
deep+='"bottom"'
for _ in $(seq 40); do deep+='}'; done
payload deep-nesting 011 "$appdb_dn" "$issuing" "$created" "$expires" "
      $deep,"

echo "== signed lists"
sign=$pki/sign.sh
s=$signed
"$sign" "$s/valid.json" "$s/valid.signed" appdb
"$sign" "$s/second.json" "$s/valid-second-endorser.signed" second
"$sign" "$s/valid.json" "$s/valid-opaque.signed" appdb -nodetach
"$sign" "$s/valid.json" "$s/valid-pem.signed" appdb -nodetach -outform PEM
"$sign" "$s/valid.json" "$s/valid-der.signed" appdb -nodetach -outform DER
# -stream makes openssl write BER with indefinite lengths, as streaming signers do.
"$sign" "$s/valid.json" "$s/valid-ber.signed" appdb -nodetach -outform DER -stream
sed 's/\r$//' "$s/valid.signed" >"$s/valid-lf.signed"
# One digit of the first image's size changes; the signature part stays as signed.
sed 's/"hv:size": "121243136"/"hv:size": "121243137"/' "$s/valid.signed" >"$s/tampered.signed"
"$sign" "$s/wrong-dn.json" "$s/wrong-dn.signed" appdb
"$sign" "$s/wrong-ca.json" "$s/wrong-ca.signed" appdb
"$sign" "$s/untrusted.json" "$s/untrusted-ca.signed" untrusted
"$sign" "$s/valid.json" "$s/impostor-ca.signed" impostor
openssl smime -sign -md sha256 -in "$s/valid.json" -out "$s/two-signers.signed" \
	-signer "$e/appdb.pem" -inkey "$e/appdb.key" -signer "$e/second.pem" -inkey "$e/second.key" \
	-certfile "$e/appdb.chain.pem"
"$sign" "$s/valid.json" "$s/no-signer-cert.signed" appdb -nocerts
"$sign" "$s/revoked.json" "$s/revoked.signed" revoked
"$sign" "$s/expired-cert.json" "$s/expired-cert.signed" expired
"$sign" "$s/expired-list.json" "$s/expired-list.signed" appdb
"$sign" "$s/future-list.json" "$s/future-list.signed" appdb
"$sign" "$s/deep-nesting.json" "$s/deep-nesting.signed" appdb
printf 'HTTP/1.1 502 Bad Gateway\r\n\r\n<html><body>\x00\x01\xfe\xff not an image list</body></html>\n' >"$s/garbage.signed"
# Cut 400 bytes before the end: inside the base64 signature, closing delimiter gone.
size=$(wc -c <"$s/valid.signed")
head -c $((size - 400)) "$s/valid.signed" >"$s/truncated.signed"

echo "== cross-check with openssl smime -verify"
check() { # FILE CADIR WANT(ok|fail) [extra]
	local f=$1 dir=$2 want=$3
	shift 3
	local inform=()
	case $f in *-pem.signed) inform=(-inform PEM) ;; *-der.signed | *-ber.signed) inform=(-inform DER) ;; esac
	if openssl smime -verify -purpose any -CApath "$pki/$dir" "${inform[@]}" -in "$s/$f" \
		-attime "$(date -d 2026-06-01 +%s)" "$@" -out /dev/null 2>/dev/null; then got=ok; else got=fail; fi
	if [ "$got" != "$want" ]; then
		echo "openssl smime -verify $f with $dir: got $got, want $want" >&2
		exit 1
	fi
}
for f in valid valid-second-endorser valid-opaque valid-pem valid-der valid-ber valid-lf wrong-dn wrong-ca \
	expired-list future-list deep-nesting; do
	check "$f.signed" cadir ok -crl_check_all
done
for f in tampered untrusted-ca impostor-ca no-signer-cert expired-cert garbage truncated; do
	check "$f.signed" cadir fail
done
check revoked.signed cadir-nocrl ok
check revoked.signed cadir fail -crl_check
echo "done"
