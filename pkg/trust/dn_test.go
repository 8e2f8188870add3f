package trust

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

func oid(s string) asn1.ObjectIdentifier {
	var o asn1.ObjectIdentifier
	for _, p := range strings.Split(s, ".") {
		n := 0
		for _, c := range p {
			n = n*10 + int(c-'0')
		}
		o = append(o, n)
	}
	return o
}

// rdns builds a name of single-valued RDNs from "OID=value" pairs.
func rdns(pairs ...string) pkix.RDNSequence {
	var seq pkix.RDNSequence
	for _, p := range pairs {
		k, v, _ := strings.Cut(p, "=")
		seq = append(seq, pkix.RelativeDistinguishedNameSET{{Type: oid(k), Value: v}})
	}
	return seq
}

const (
	oDC     = "0.9.2342.19200300.100.1.25"
	oUID    = "0.9.2342.19200300.100.1.1"
	oEmail  = "1.2.840.113549.1.9.1"
	oCN     = "2.5.4.3"
	oSerial = "2.5.4.5"
	oC      = "2.5.4.6"
	oL      = "2.5.4.7"
	oST     = "2.5.4.8"
	oO      = "2.5.4.10"
	oOU     = "2.5.4.11"
)

func TestOneLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		seq  pkix.RDNSequence
		want string
	}{
		{"AppDB host", rdns(oDC+"=EU", oDC+"=EGI", oC+"=NL", oO+"=Hosts", oO+"=EGI.eu", oCN+"=appdb.egi.eu"),
			"/DC=EU/DC=EGI/C=NL/O=Hosts/O=EGI.eu/CN=appdb.egi.eu"},
		{"ASN.1 order kept, not reversed", rdns(oCN+"=last", oC+"=first"), "/CN=last/C=first"},
		{"ST, L, OU, emailAddress", rdns(oC+"=DE", oST+"=Baden-Wuerttemberg", oL+"=Karlsruhe", oO+"=KIT", oOU+"=SCC", oCN+"=Jane Doe", oEmail+"=jane@example.org"),
			"/C=DE/ST=Baden-Wuerttemberg/L=Karlsruhe/O=KIT/OU=SCC/CN=Jane Doe/emailAddress=jane@example.org"},
		{"UID and serialNumber", rdns(oDC+"=ch", oDC+"=cern", oOU+"=Users", oUID+"=jdoe", oCN+"=John Doe", oSerial+"=12345"),
			"/DC=ch/DC=cern/OU=Users/UID=jdoe/CN=John Doe/serialNumber=12345"},
		{"other short names", rdns("2.5.4.12=Dr", "2.5.4.42=Ada", "2.5.4.4=Lovelace", "2.5.4.43=AL", "2.5.4.65=countess", "2.5.4.46=q1",
			"2.5.4.44=III", "2.5.4.9=1 Main St", "2.5.4.17=1000", "2.5.4.41=nm", "2.5.4.15=Research"),
			"/title=Dr/GN=Ada/SN=Lovelace/initials=AL/pseudonym=countess/dnQualifier=q1/generationQualifier=III/street=1 Main St/postalCode=1000/name=nm/businessCategory=Research"},
		{"multi-valued RDN", pkix.RDNSequence{
			{{Type: oid(oDC), Value: "org"}},
			{{Type: oid(oCN), Value: "x"}, {Type: oid(oUID), Value: "jdoe"}},
			{{Type: oid(oO), Value: "o"}},
		}, "/DC=org/CN=x+UID=jdoe/O=o"},
		{"non-ASCII and control bytes", rdns(oO+"=Universität Zürich", oCN+"=tab\there\x7f"),
			`/O=Universit\xC3\xA4t Z\xC3\xBCrich/CN=tab\x09here\x7F`},
		{"slash and plus escaped, others not", rdns(oCN + `=a/b+c=d, "e"\`), `/CN=a\/b\+c=d, "e"\`},
		{"unknown OID", rdns("1.2.3.4=zz", "2.5.4.101=v"), "/1.2.3.4=zz/2.5.4.101=v"},
		{"empty value", rdns(oCN + "="), "/CN="},
		{"empty name", pkix.RDNSequence{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := OneLineRDN(tt.seq); got != tt.want {
				t.Errorf("OneLineRDN = %q, want %q", got, tt.want)
			}
			raw, err := asn1.Marshal(tt.seq)
			if err != nil {
				t.Fatal(err)
			}
			got, err := OneLine(raw)
			if err != nil || got != tt.want {
				t.Errorf("OneLine = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// rawName builds a DER Name with one attribute whose value has an explicit tag.
func rawName(t *testing.T, tag int, value []byte) []byte {
	t.Helper()
	atv := struct {
		Type  asn1.ObjectIdentifier
		Value asn1.RawValue
	}{oid(oCN), asn1.RawValue{Tag: tag, Bytes: value}}
	set := []any{atv}
	raw, err := asn1.Marshal([]asn1.RawValue{mustSet(t, set)})
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func mustSet(t *testing.T, members []any) asn1.RawValue {
	t.Helper()
	var body []byte
	for _, m := range members {
		b, err := asn1.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		body = append(body, b...)
	}
	return asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true, Bytes: body}
}

// TestOneLineRaw covers string types only the raw form preserves, and names that must not parse.
func TestOneLineRaw(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		raw     []byte
		want    string
		wantErr bool
	}{
		{"BMPString printed byte by byte", rawName(t, 30, []byte{0, 'A', 0, 'B'}), `/CN=\x00A\x00B`, false},
		{"UniversalString printed byte by byte", rawName(t, 28, []byte{0, 0, 0, 'A'}), `/CN=\x00\x00\x00A`, false},
		{"GeneralString UCS-4 heuristic", rawName(t, 27, []byte{0, 0, 0, 'A', 0, 0, 0, 'B'}), "/CN=AB", false},
		{"GeneralString otherwise verbatim", rawName(t, 27, []byte("ABCD")), "/CN=ABCD", false},
		{"IA5String", rawName(t, 22, []byte("a@b")), "/CN=a@b", false},
		{"not a SEQUENCE", []byte{0x31, 0x00}, "", true},
		{"RDN not a SET", []byte{0x30, 0x02, 0x30, 0x00}, "", true},
		{"empty RDN", []byte{0x30, 0x02, 0x31, 0x00}, "", true},
		{"trailing data", append(rawName(t, 12, []byte("x")), 0), "", true},
		{"truncated", rawName(t, 12, []byte("xyz"))[:8], "", true},
		{"nil", nil, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := OneLine(tt.raw)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("OneLine = %q, %v; want %q (error %v)", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

// opensslNames runs `openssl x509 -noout -subject -issuer -nameopt compat`.
func opensslNames(t *testing.T, path string) (subject, issuer string) {
	t.Helper()
	out, err := exec.Command("openssl", "x509", "-noout", "-subject", "-issuer", "-nameopt", "compat", "-in", path).Output()
	if err != nil {
		t.Fatalf("openssl x509 %s: %v", path, err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if v, ok := strings.CutPrefix(line, "subject="); ok {
			subject = v
		} else if v, ok := strings.CutPrefix(line, "issuer="); ok {
			issuer = v
		}
	}
	return subject, issuer
}

// TestOneLineMatchesOpenSSL compares OneLine with openssl itself, on the test
// PKI and on a certificate carrying every attribute type of the short-name
// table plus the awkward cases.
func TestOneLineMatchesOpenSSL(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed")
	}
	t.Parallel()
	paths, _ := filepath.Glob(filepath.Join(pkiDir, "ca", "*-ca.pem"))
	more, _ := filepath.Glob(filepath.Join(pkiDir, "endorsers", "*[a-z].pem"))
	paths = append(paths, more...)
	paths = append(paths, filepath.Join(samplesDir, "cloudkeeper-mock-ca-9da13359.0"), writeAllNamesCert(t))
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			cert := readCert(t, path)
			wantSubject, wantIssuer := opensslNames(t, path)
			if got, err := OneLine(cert.RawSubject); err != nil || got != wantSubject {
				t.Errorf("subject: OneLine = %q, %v; openssl says %q", got, err, wantSubject)
			}
			if got, err := OneLine(cert.RawIssuer); err != nil || got != wantIssuer {
				t.Errorf("issuer: OneLine = %q, %v; openssl says %q", got, err, wantIssuer)
			}
		})
	}
}

func writeAllNamesCert(t *testing.T) string {
	t.Helper()
	var oids []string
	for o := range shortNames {
		oids = append(oids, o)
	}
	sort.Strings(oids)
	seq := pkix.RDNSequence{
		{{Type: oid(oCN), Value: "x"}, {Type: oid(oUID), Value: "jdoe"}},
		{{Type: oid(oO), Value: "Universität/Zürich+\x01"}},
		{{Type: oid("1.2.3.4"), Value: "zz"}},
	}
	for _, o := range oids {
		seq = append(seq, pkix.RelativeDistinguishedNameSET{{Type: oid(o), Value: "v"}})
	}
	subject, err := asn1.Marshal(seq)
	if err != nil {
		t.Fatal(err)
	}
	// Append a BMPString attribute, which asn1.Marshal would never choose.
	bmp := rawName(t, 30, []byte{0, 'A', 0, 0xe9})
	subject = spliceNames(t, subject, bmp)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), RawSubject: subject, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "all-names.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// spliceNames concatenates the RDNs of two DER Names.
func spliceNames(t *testing.T, a, b []byte) []byte {
	t.Helper()
	var ra, rb []asn1.RawValue
	if _, err := asn1.Unmarshal(a, &ra); err != nil {
		t.Fatal(err)
	}
	if _, err := asn1.Unmarshal(b, &rb); err != nil {
		t.Fatal(err)
	}
	out, err := asn1.Marshal(append(ra, rb...))
	if err != nil {
		t.Fatal(err)
	}
	return out
}
