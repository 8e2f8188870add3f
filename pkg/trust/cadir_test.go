package trust

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// caDir writes files (name → content) into a fresh directory.
func caDir(t *testing.T, files map[string][]byte) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestLoadCADir(t *testing.T) {
	t.Parallel()
	root := readFile(t, filepath.Join(pkiDir, "ca/root-ca.pem"))
	issuing := readFile(t, filepath.Join(pkiDir, "ca/issuing-ca.pem"))
	endorser := readFile(t, filepath.Join(pkiDir, "endorsers/appdb.pem"))
	issuingCRL := readFile(t, filepath.Join(pkiDir, "ca/issuing-ca.crl.pem"))
	block, _ := pem.Decode(issuingCRL)
	derCRL := block.Bytes
	appdbSerial := readCert(t, filepath.Join(pkiDir, "endorsers/appdb.pem")).SerialNumber
	realCRL := makeCRL(t, "issuing-ca", appdbSerial)
	impostorCRL := makeCRL(t, "impostor-issuing-ca", appdbSerial)
	rootCRL := makeCRL(t, "root-ca", big.NewInt(424242))
	untrusted := readFile(t, filepath.Join(pkiDir, "ca/untrusted-ca.pem"))

	tests := []struct {
		name    string
		files   map[string][]byte
		setup   func(t *testing.T, dir string)
		wantErr string // substring; "" for success
		cas     int
		crls    int
		skipped []string // names of the files reported by Skipped
		file    string   // to verify, default revoked.signed
		verify  string   // check Verify(file) must give, "-" to skip
	}{
		{name: "empty dir", wantErr: "no CA certificate", verify: "-"},
		{name: "only side files", files: map[string][]byte{"a.signing_policy": []byte("x"), "a.namespaces": []byte("x"), "a.info": []byte("x"), "a.crl_url": []byte("x")},
			wantErr: "no CA certificate", verify: "-"},
		{name: "only a non-CA certificate", files: map[string][]byte{"e.0": endorser}, wantErr: "no CA certificate", verify: "-"},
		{name: "non-CA certificate ignored", files: map[string][]byte{"r.0": root, "i.1": issuing, "e.0": endorser}, cas: 2, verify: ""},
		{name: "several certificates in one .pem", files: map[string][]byte{"bundle.pem": append(append([]byte{}, root...), issuing...)}, cas: 2, verify: ""},
		{name: "DER CRL", files: map[string][]byte{"r.0": root, "i.0": issuing, "i.r0": derCRL}, cas: 2, crls: 1, verify: CheckRevocation},
		{name: "PEM CRL", files: map[string][]byte{"r.0": root, "i.0": issuing, "i.r1": issuingCRL}, cas: 2, crls: 1, verify: CheckRevocation},
		{name: "CRL listing the signer, signed by the issuer", files: map[string][]byte{"r.0": root, "i.0": issuing, "i.r0": realCRL},
			cas: 2, crls: 1, file: "valid.signed", verify: CheckRevocation},
		{name: "same CRL signed by an impostor of the issuer does not count", files: map[string][]byte{"r.0": root, "i.0": issuing, "i.r0": impostorCRL},
			cas: 2, crls: 1, file: "valid.signed", verify: ""},
		{name: "intermediate alone is no anchor", files: map[string][]byte{"i.0": issuing}, cas: 1, verify: CheckChain},
		{name: "other extensions ignored", files: map[string][]byte{"r.0": root, "i.0": issuing, "i.10": []byte("junk"), "i.crt": []byte("junk"), "i.r": []byte("junk")}, cas: 2, verify: ""},
		// One damaged file is skipped (and reported); the rest still load.
		{name: "corrupt certificate file skipped", files: map[string][]byte{"r.0": root, "i.0": issuing, "bad.0": []byte("not a certificate")},
			cas: 2, skipped: []string{"bad.0"}, verify: ""},
		{name: "corrupt PEM certificate skipped", files: map[string][]byte{"r.0": root, "i.0": issuing, "bad.pem": []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")},
			cas: 2, skipped: []string{"bad.pem"}, verify: ""},
		{name: "only corrupt certificate files", files: map[string][]byte{"bad.pem": []byte("junk")}, wantErr: "bad.pem: no PEM certificate in file"},
		// The anchor's certificate was the damaged file: its lists fail on the
		// chain (the message carries the issuing CA, never the anchor).
		{name: "damaged anchor certificate fails the chain", files: map[string][]byte{"r.0": []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), "i.0": issuing},
			cas: 1, skipped: []string{"r.0"}, file: "valid.signed", verify: CheckChain},
		// A damaged CRL must not quietly drop revocations: chains through the
		// CA of its hash fail, even one whose signer the CRL would not list.
		{name: "damaged CRL of the issuer fails the crl check", files: map[string][]byte{"r.0": root, "i.0": issuing, "i.r0": []byte("not a CRL")},
			cas: 2, skipped: []string{"i.r0"}, file: "valid.signed", verify: CheckCRL},
		{name: "damaged second CRL of the issuer fails although the first is readable", files: map[string][]byte{"r.0": root, "i.0": issuing, "i.r0": issuingCRL, "i.r1": []byte("junk")},
			cas: 2, crls: 1, skipped: []string{"i.r1"}, file: "valid.signed", verify: CheckCRL},
		{name: "damaged CRL of the root fails chains through it", files: map[string][]byte{"r.0": root, "i.0": issuing, "i.r0": issuingCRL, "r.r0": []byte("junk")},
			cas: 2, crls: 1, skipped: []string{"r.r0"}, file: "valid.signed", verify: CheckCRL},
		{name: "damaged CRL of another CA leaves this chain alone", files: map[string][]byte{"r.0": root, "i.0": issuing, "i.r0": issuingCRL, "u.0": untrusted, "u.r0": []byte("junk")},
			cas: 3, crls: 1, skipped: []string{"u.r0"}, file: "valid.signed", verify: ""},
		{name: "damaged CRL of no known CA fails issuers without a CRL", files: map[string][]byte{"root.pem": root, "issuing.pem": issuing, "x.r0": []byte("junk")},
			cas: 2, skipped: []string{"x.r0"}, file: "valid.signed", verify: CheckCRL},
		{name: "damaged CRL of no known CA leaves issuers with a CRL alone", files: map[string][]byte{"root.pem": root, "issuing.pem": issuing, "issuing.r0": issuingCRL, "rootcrl.r0": rootCRL, "x.r0": []byte("junk")},
			cas: 2, crls: 2, skipped: []string{"x.r0"}, file: "valid.signed", verify: ""},
		{name: "hash symlinks deduplicated, dangling ones and directories skipped and reported",
			files: map[string][]byte{"root.pem": root, "issuing.pem": issuing},
			setup: func(t *testing.T, dir string) {
				for _, l := range [][2]string{{"root.pem", "aaaa.0"}, {"issuing.pem", "bbbb.0"}, {"missing.pem", "cccc.0"}} {
					if err := os.Symlink(l[0], filepath.Join(dir, l[1])); err != nil {
						t.Fatal(err)
					}
				}
				if err := os.Mkdir(filepath.Join(dir, "dddd.0"), 0o755); err != nil {
					t.Fatal(err)
				}
			}, cas: 2, skipped: []string{"cccc.0", "dddd.0"}, verify: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := caDir(t, tt.files)
			if tt.setup != nil {
				tt.setup(t, dir)
			}
			store, err := LoadCADir(dir)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("LoadCADir = %v; want error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("LoadCADir: %v", err)
			}
			if len(store.Certificates()) != tt.cas || len(store.CRLs()) != tt.crls {
				t.Errorf("got %d CAs, %d CRLs; want %d, %d", len(store.Certificates()), len(store.CRLs()), tt.cas, tt.crls)
			}
			var skipped []string
			for _, f := range store.Skipped() {
				if filepath.Dir(f.Path) != dir || f.Err == nil || !strings.Contains(f.Error(), f.Path+": ") {
					t.Errorf("skipped file %+v: want its path in %s and its error", f, dir)
				}
				skipped = append(skipped, filepath.Base(f.Path))
			}
			if strings.Join(skipped, " ") != strings.Join(tt.skipped, " ") {
				t.Errorf("skipped %v, want %v", skipped, tt.skipped)
			}
			if tt.verify == "-" {
				return
			}
			file := tt.file
			if file == "" {
				file = "revoked.signed"
			}
			if _, err := Verify(readFile(t, filepath.Join(signedDir, file)), store, Options{Now: testNow}); checkOf(err) != tt.verify {
				t.Errorf("Verify(%s) = %v; want check %q", file, err, tt.verify)
			}
		})
	}
}

func TestLoadCADirUnreadable(t *testing.T) {
	t.Parallel()
	if _, err := LoadCADir(filepath.Join(t.TempDir(), "absent")); err == nil {
		t.Fatal("LoadCADir(absent) succeeded")
	}
}

func TestLoadCADirFixtures(t *testing.T) {
	t.Parallel()
	for _, d := range []struct {
		name      string
		cas, crls int
	}{{"cadir", 2, 2}, {"cadir-nocrl", 2, 0}, {"cadir-stalecrl", 2, 2}, {"cadir-pem", 2, 0}} {
		s := loadDir(t, d.name)
		if len(s.Certificates()) != d.cas || len(s.CRLs()) != d.crls {
			t.Errorf("%s: %d CAs, %d CRLs; want %d, %d", d.name, len(s.Certificates()), len(s.CRLs()), d.cas, d.crls)
		}
	}
}

// makeCRL issues a current PEM CRL revoking serial, signed by testdata/pki/ca/<ca>.
func makeCRL(t *testing.T, ca string, serial *big.Int) []byte {
	t.Helper()
	issuer := readCert(t, filepath.Join(pkiDir, "ca", ca+".pem"))
	key := readKey(t, filepath.Join(pkiDir, "ca", ca+".key"))
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number:                    big.NewInt(1),
		ThisUpdate:                testNow.AddDate(0, -1, 0),
		NextUpdate:                testNow.AddDate(0, 1, 0),
		RevokedCertificateEntries: []x509.RevocationListEntry{{SerialNumber: serial, RevocationTime: testNow.AddDate(0, -2, 0)}},
	}, issuer, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der})
}
