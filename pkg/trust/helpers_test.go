package trust

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/smallstep/pkcs7"
)

const (
	pkiDir     = "../../testdata/pki"
	signedDir  = "../../testdata/signed"
	samplesDir = "../../testdata/samples"

	appdbDN   = "/DC=EU/DC=EGI/C=NL/O=Hosts/O=EGI.eu/CN=appdb.ck-test.example"
	secondDN  = "/DC=EU/DC=EGI/C=NL/O=Hosts/O=EGI.eu/CN=lists.ck-test.example"
	revokedDN = "/DC=EU/DC=EGI/C=NL/O=Hosts/O=EGI.eu/CN=revoked.ck-test.example"
	issuingDN = "/DC=org/DC=ck-test/CN=ck Test Issuing CA"
	rootDN    = "/DC=org/DC=ck-test/CN=ck Test Root CA"
)

// testNow is the verification time the fixtures are built around: every
// current certificate and CRL is valid then, the expired ones are not.
var testNow = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

func loadDir(t testing.TB, name string) *CAStore {
	t.Helper()
	s, err := LoadCADir(filepath.Join(pkiDir, name))
	if err != nil {
		t.Fatalf("LoadCADir(%s): %v", name, err)
	}
	return s
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// crlf is what openssl smime -sign makes of an LF text file before signing it.
func crlf(b []byte) []byte {
	return bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n"))
}

func readCert(t testing.TB, path string) *x509.Certificate {
	t.Helper()
	block, _ := pem.Decode(readFile(t, path))
	if block == nil {
		t.Fatalf("%s: no PEM", path)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func readKey(t testing.TB, path string) crypto.Signer {
	t.Helper()
	block, _ := pem.Decode(readFile(t, path))
	if block == nil {
		t.Fatalf("%s: no PEM", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k.(crypto.Signer)
}

// signDetached signs content as the appdb test endorser and returns the
// detached PKCS#7 DER, for envelopes openssl would not produce.
func signDetached(t testing.TB, content []byte) []byte {
	t.Helper()
	sd, err := pkcs7.NewSignedData(content)
	if err != nil {
		t.Fatal(err)
	}
	sd.SetDigestAlgorithm(pkcs7.OIDDigestAlgorithmSHA256)
	cert := readCert(t, filepath.Join(pkiDir, "endorsers/appdb.pem"))
	key := readKey(t, filepath.Join(pkiDir, "endorsers/appdb.key"))
	if err := sd.AddSigner(cert, key, pkcs7.SignerInfoConfig{}); err != nil {
		t.Fatal(err)
	}
	sd.AddCertificate(readCert(t, filepath.Join(pkiDir, "ca/issuing-ca.pem")))
	sd.Detach()
	der, err := sd.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func checkOf(err error) string {
	if ce, ok := err.(*CheckError); ok {
		return ce.Check
	}
	return ""
}
