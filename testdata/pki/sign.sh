#!/bin/sh
# sign.sh PAYLOAD OUT [ENDORSER] [openssl smime options...]
#
# Signs PAYLOAD the way EGI AppDB / vmcaster do: S/MIME multipart/signed with a
# detached PKCS#7 signature (SHA-256), the signer certificate and its issuing CA
# embedded. ENDORSER names a key pair in testdata/pki/endorsers (default appdb:
# /DC=EU/DC=EGI/C=NL/O=Hosts/O=EGI.eu/CN=appdb.ck-test.example). Extra options
# go to openssl, e.g. -nodetach for an opaque message, -outform PEM|DER.
set -eu
if [ $# -lt 2 ]; then
	echo "usage: $0 PAYLOAD OUT [ENDORSER] [openssl smime options...]" >&2
	exit 2
fi
dir=$(cd "$(dirname "$0")/endorsers" && pwd)
payload=$1
out=$2
shift 2
endorser=appdb
if [ $# -gt 0 ]; then
	endorser=$1
	shift
fi
exec openssl smime -sign -md sha256 \
	-signer "$dir/$endorser.pem" -inkey "$dir/$endorser.key" \
	-certfile "$dir/$endorser.chain.pem" \
	-in "$payload" -out "$out" "$@"
