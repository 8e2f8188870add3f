package trust

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestVerifyFixtures runs every file of testdata/signed through Verify; the
// expectations mirror testdata/signed/README.md. Against cadir, whose CRLs
// are current, RequireCRL changes none of them.
func TestVerifyFixtures(t *testing.T) {
	t.Parallel()
	for _, requireCRL := range []bool{false, true} {
		t.Run(map[bool]string{false: "CRL optional", true: "CRL required"}[requireCRL], func(t *testing.T) {
			t.Parallel()
			testVerifyFixtures(t, requireCRL)
		})
	}
}

func testVerifyFixtures(t *testing.T, requireCRL bool) {
	cadir := loadDir(t, "cadir")
	tests := []struct {
		file      string
		payload   string // testdata/signed/<payload>.json, CRLF-canonicalised; "" on failure
		format    string
		signerDN  string
		canonical bool
		check     string // expected CheckError.Check; "" for success
		mention   []string
	}{
		{file: "valid.signed", payload: "valid", format: FormatMultipart, signerDN: appdbDN},
		{file: "valid-second-endorser.signed", payload: "second", format: FormatMultipart, signerDN: secondDN},
		{file: "valid-opaque.signed", payload: "valid", format: FormatOpaque, signerDN: appdbDN},
		{file: "valid-pem.signed", payload: "valid", format: FormatPEM, signerDN: appdbDN},
		{file: "valid-der.signed", payload: "valid", format: FormatDER, signerDN: appdbDN},
		{file: "valid-ber.signed", payload: "valid", format: FormatDER, signerDN: appdbDN},
		{file: "valid-lf.signed", payload: "valid", format: FormatMultipart, signerDN: appdbDN, canonical: true},
		{file: "wrong-dn.signed", payload: "wrong-dn", format: FormatMultipart, signerDN: appdbDN},
		{file: "wrong-ca.signed", payload: "wrong-ca", format: FormatMultipart, signerDN: appdbDN},
		{file: "expired-list.signed", payload: "expired-list", format: FormatMultipart, signerDN: appdbDN},
		{file: "future-list.signed", payload: "future-list", format: FormatMultipart, signerDN: appdbDN},
		{file: "deep-nesting.signed", payload: "deep-nesting", format: FormatMultipart, signerDN: appdbDN},
		{file: "tampered.signed", check: CheckSignature, mention: []string{"digest"}},
		{file: "untrusted-ca.signed", check: CheckChain, mention: []string{"/DC=org/DC=untrusted-test/CN=Untrusted Test CA"}},
		{file: "impostor-ca.signed", check: CheckChain, mention: []string{appdbDN, issuingDN, "authority key id"}},
		{file: "two-signers.signed", check: CheckSigners, mention: []string{"got 2 signers"}},
		{file: "no-signer-cert.signed", check: CheckSigners, mention: []string{"no signer certificate"}},
		{file: "revoked.signed", check: CheckRevocation, mention: []string{revokedDN, "serial"}},
		{file: "expired-cert.signed", check: CheckCertificate, mention: []string{"expired.ck-test.example", "2025-06-01T00:00:00Z", "2026-06-01T00:00:00Z"}},
		{file: "unsigned.json", check: CheckUnsigned},
		{file: "garbage.signed", check: CheckEnvelope},
		{file: "truncated.signed", check: CheckEnvelope, mention: []string{"truncated"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			got, err := Verify(readFile(t, filepath.Join(signedDir, tt.file)), cadir, Options{Now: testNow, RequireCRL: requireCRL})
			if tt.check != "" {
				if got != nil || checkOf(err) != tt.check {
					t.Fatalf("Verify = %v, %v; want CheckError %q", got, err, tt.check)
				}
				if !errors.Is(err, ErrUntrusted) {
					t.Errorf("errors.Is(%v, ErrUntrusted) = false", err)
				}
				if errors.Is(err, ErrUnsigned) != (tt.check == CheckUnsigned) {
					t.Errorf("errors.Is(%v, ErrUnsigned) wrong", err)
				}
				for _, m := range tt.mention {
					if !strings.Contains(err.Error(), m) {
						t.Errorf("error %q does not mention %q", err, m)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			want := crlf(readFile(t, filepath.Join(signedDir, tt.payload+".json")))
			if !bytes.Equal(got.Payload, want) {
				t.Errorf("Payload differs from CRLF form of %s.json (%d vs %d bytes)", tt.payload, len(got.Payload), len(want))
			}
			if got.Format != tt.format || got.SignerDN != tt.signerDN || got.IssuerDN != issuingDN || got.Canonicalised != tt.canonical {
				t.Errorf("got Format=%q SignerDN=%q IssuerDN=%q Canonicalised=%v; want %q %q %q %v",
					got.Format, got.SignerDN, got.IssuerDN, got.Canonicalised, tt.format, tt.signerDN, issuingDN, tt.canonical)
			}
			if len(got.Chain) != 3 || got.Chain[0] != got.Signer || got.Chain[2].Subject.CommonName != "ck Test Root CA" {
				t.Errorf("Chain = %d certificates, want signer → issuing CA → root", len(got.Chain))
			}
		})
	}
}

// TestVerifyCRLModes covers vmcatcher's --require-crl rule against the three
// CA directories.
func TestVerifyCRLModes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		dir        string
		file       string
		requireCRL bool
		check      string
	}{
		{"current CRLs, required", "cadir", "valid.signed", true, ""},
		{"current CRLs, optional", "cadir", "valid.signed", false, ""},
		{"no CRLs, required", "cadir-nocrl", "valid.signed", true, CheckCRL},
		{"no CRLs, optional", "cadir-nocrl", "valid.signed", false, ""},
		{"stale CRLs, required", "cadir-stalecrl", "valid.signed", true, CheckCRL},
		{"stale CRLs, optional", "cadir-stalecrl", "valid.signed", false, ""},
		{"PEM-named CAs, optional", "cadir-pem", "valid.signed", false, ""},
		{"revoked, current CRLs, required", "cadir", "revoked.signed", true, CheckRevocation},
		{"revoked, current CRLs, optional", "cadir", "revoked.signed", false, CheckRevocation},
		{"revoked, stale CRLs still revoke, optional", "cadir-stalecrl", "revoked.signed", false, CheckRevocation},
		{"revoked, stale CRLs, required", "cadir-stalecrl", "revoked.signed", true, CheckRevocation},
		{"revoked, no CRLs, optional: nothing to say it is revoked", "cadir-nocrl", "revoked.signed", false, ""},
		{"revoked, no CRLs, required", "cadir-nocrl", "revoked.signed", true, CheckCRL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Verify(readFile(t, filepath.Join(signedDir, tt.file)), loadDir(t, tt.dir), Options{Now: testNow, RequireCRL: tt.requireCRL})
			if checkOf(err) != tt.check || (tt.check == "") != (err == nil) {
				t.Fatalf("Verify = %v; want check %q", err, tt.check)
			}
			if tt.check == CheckCRL && !strings.Contains(err.Error(), issuingDN) {
				t.Errorf("CRL error %q does not name the issuer", err)
			}
		})
	}
}

// TestVerifyAtTime moves the clock around the fixtures' fixed dates.
func TestVerifyAtTime(t *testing.T) {
	t.Parallel()
	data := readFile(t, filepath.Join(signedDir, "valid.signed"))
	cadir := loadDir(t, "cadir")
	tests := []struct {
		name       string
		now        time.Time
		requireCRL bool
		check      string
	}{
		{"before the certificates", time.Date(2024, 12, 31, 0, 0, 0, 0, time.UTC), false, CheckCertificate},
		{"after the certificates", time.Date(2045, 1, 2, 0, 0, 0, 0, time.UTC), false, CheckCertificate},
		{"before the CRLs were issued, required", time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC), true, CheckCRL},
		{"before the CRLs were issued, optional", time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC), false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Verify(data, cadir, Options{Now: tt.now, RequireCRL: tt.requireCRL})
			if checkOf(err) != tt.check || (tt.check == "") != (err == nil) {
				t.Fatalf("Verify = %v; want check %q", err, tt.check)
			}
		})
	}
}

// TestVerifyCloudkeeperSample checks a list signed by real tooling in 2018.
func TestVerifyCloudkeeperSample(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ca := readFile(t, filepath.Join(samplesDir, "cloudkeeper-mock-ca-9da13359.0"))
	if err := os.WriteFile(filepath.Join(dir, "cloudkeeper-mock-ca-9da13359.0"), ca, 0o644); err != nil {
		t.Fatal(err)
	}
	store, err := LoadCADir(dir)
	if err != nil {
		t.Fatal(err)
	}
	data := readFile(t, filepath.Join(samplesDir, "cloudkeeper-mock-imagelist01.signed"))
	const dn = "/C=AU/ST=Some-State/O=Internet Widgits Pty Ltd"

	t.Run("valid in 2026", func(t *testing.T) {
		got, err := Verify(data, store, Options{Now: testNow})
		if err != nil {
			t.Fatalf("Verify: %v", err)
		}
		if got.SignerDN != dn || got.IssuerDN != dn || got.Format != FormatMultipart || got.Canonicalised {
			t.Errorf("got %q %q %q canonicalised=%v", got.SignerDN, got.IssuerDN, got.Format, got.Canonicalised)
		}
		if !bytes.HasPrefix(got.Payload, []byte("{\r\n   \"hv:imagelist\"")) || !bytes.HasSuffix(got.Payload, []byte("}\r\n")) {
			t.Errorf("Payload is not the CRLF JSON part: %q … %q", got.Payload[:20], got.Payload[len(got.Payload)-5:])
		}
		if len(got.Chain) != 1 {
			t.Errorf("Chain has %d certificates, want the self-signed signer alone", len(got.Chain))
		}
	})
	t.Run("certificate expired in 2028", func(t *testing.T) {
		_, err := Verify(data, store, Options{Now: time.Date(2028, 3, 1, 0, 0, 0, 0, time.UTC)})
		if c := checkOf(err); c != CheckCertificate && c != CheckChain {
			t.Fatalf("Verify = %v; want a certificate or chain error", err)
		}
		if !strings.Contains(err.Error(), "2028-02-17") {
			t.Errorf("error %q does not show the validity window", err)
		}
	})
	t.Run("LF copy verifies after canonicalisation", func(t *testing.T) {
		got, err := Verify(bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n")), store, Options{Now: testNow})
		if err != nil || !got.Canonicalised {
			t.Fatalf("Verify = %v, %v; want canonicalised success", got, err)
		}
	})
	t.Run("unrelated CA", func(t *testing.T) {
		_, err := Verify(data, loadDir(t, "cadir"), Options{Now: testNow})
		if checkOf(err) != CheckChain {
			t.Fatalf("Verify = %v; want chain error", err)
		}
	})
}

func TestCheckError(t *testing.T) {
	t.Parallel()
	cause := errors.New("boom")
	tests := []struct {
		err  *CheckError
		want string
	}{
		{&CheckError{Check: CheckSigners, Reason: "one signer", Observed: "2", Expected: "1"}, "signers: one signer: got 2, want 1"},
		{&CheckError{Check: CheckEnvelope, Reason: "empty"}, "envelope: empty"},
		{&CheckError{Check: CheckCRL, Reason: "stale", Expected: "current"}, "crl: stale: want current"},
		{&CheckError{Check: CheckChain, Reason: "r", Observed: "o", Err: cause}, "chain: r: got o"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
		if !errors.Is(tt.err, ErrUntrusted) || errors.Is(tt.err, ErrUnsigned) {
			t.Errorf("%q: Is(ErrUntrusted) must hold, Is(ErrUnsigned) must not", tt.want)
		}
	}
	if !errors.Is(tests[3].err, cause) {
		t.Error("Unwrap does not reach the cause")
	}
	if !errors.Is(&CheckError{Check: CheckUnsigned}, ErrUnsigned) {
		t.Error("unsigned check does not match ErrUnsigned")
	}
}

func TestVerifyNilStore(t *testing.T) {
	t.Parallel()
	if _, err := Verify(readFile(t, filepath.Join(signedDir, "valid.signed")), nil, Options{}); checkOf(err) != CheckChain {
		t.Fatalf("Verify(nil store) = %v", err)
	}
}
