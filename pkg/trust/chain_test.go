package trust

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smallstep/pkcs7"
)

// issue makes a certificate for a fresh P-256 key, signed by parent/parentKey
// (self-signed when parent is nil).
func issue(t *testing.T, cn string, ca bool, from, to time.Time, parent *x509.Certificate, parentKey any) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"ck-test"}},
		NotBefore:             from,
		NotAfter:              to,
		BasicConstraintsValid: true,
		IsCA:                  ca,
		KeyUsage:              x509.KeyUsageDigitalSignature,
	}
	if ca {
		tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c, key
}

// signOpaque signs content with an encapsulated copy, carrying extra certificates.
func signOpaque(t *testing.T, content []byte, signer *x509.Certificate, key any, extra ...*x509.Certificate) []byte {
	t.Helper()
	sd, err := pkcs7.NewSignedData(content)
	if err != nil {
		t.Fatal(err)
	}
	sd.SetDigestAlgorithm(pkcs7.OIDDigestAlgorithmSHA256)
	if err := sd.AddSigner(signer, key, pkcs7.SignerInfoConfig{}); err != nil {
		t.Fatal(err)
	}
	for _, c := range extra {
		sd.AddCertificate(c)
	}
	der, err := sd.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestVerifyChainFailures(t *testing.T) {
	t.Parallel()
	root := readCert(t, filepath.Join(pkiDir, "ca/root-ca.pem"))
	rootKey := readKey(t, filepath.Join(pkiDir, "ca/root-ca.key"))
	long := [2]time.Time{time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2045, 1, 1, 0, 0, 0, 0, time.UTC)}
	past := [2]time.Time{time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC)}

	oldCA, oldKey := issue(t, "Expired Issuing CA", true, past[0], past[1], root, rootKey)
	underOld, underOldKey := issue(t, "endorser under expired CA", false, long[0], long[1], oldCA, oldKey)
	goodCA, goodKey := issue(t, "Other Issuing CA", true, long[0], long[1], root, rootKey)
	orphan, orphanKey := issue(t, "endorser without its CA", false, long[0], long[1], goodCA, goodKey)
	selfSigned, selfKey := issue(t, "self-signed endorser", false, long[0], long[1], nil, nil)
	content := []byte(`{"hv:imagelist": {}}`)

	tests := []struct {
		name    string
		data    []byte
		check   string
		mention []string
	}{
		{"expired intermediate in the message", signOpaque(t, content, underOld, underOldKey, oldCA), CheckCertificate,
			[]string{"CN=Expired Issuing CA", "2021-01-01T00:00:00Z", "valid at 2026-06-01"}},
		{"intermediate missing", signOpaque(t, content, orphan, orphanKey), CheckChain,
			[]string{"CN=endorser without its CA", "CN=Other Issuing CA"}},
		{"intermediate present", signOpaque(t, content, orphan, orphanKey, goodCA), "", nil},
		{"self-signed signer not in the directory", signOpaque(t, content, selfSigned, selfKey), CheckChain,
			[]string{"CN=self-signed endorser"}},
	}
	cadir := loadDir(t, "cadir")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Verify(tt.data, cadir, Options{Now: testNow})
			if checkOf(err) != tt.check || (tt.check == "") != (err == nil) {
				t.Fatalf("Verify = %v; want check %q", err, tt.check)
			}
			for _, m := range tt.mention {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not mention %q", err, m)
				}
			}
		})
	}
}
