package verdict

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ck-sync/ck/pkg/trust"
)

// The test PKI's certificates are valid 2025-01-01..2045-01-01 and the
// fixtures' lists are dated around 2026; verification time is fixed.
var testNow = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

func repo(parts ...string) string {
	return filepath.Join(append([]string{"..", ".."}, parts...)...)
}

func loadCAs(t *testing.T, dir string) *trust.CAStore {
	t.Helper()
	cas, err := trust.LoadCADir(repo("testdata", "pki", dir))
	if err != nil {
		t.Fatal(err)
	}
	return cas
}

func read(t *testing.T, parts ...string) []byte {
	t.Helper()
	data, err := os.ReadFile(repo(parts...))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestEvaluateFixtures(t *testing.T) {
	cas := loadCAs(t, "cadir")
	tests := []struct {
		file   string
		status Status
		checks []string // any of these; empty for valid
	}{
		{"valid.signed", Valid, nil},
		{"valid-lf.signed", Valid, nil},
		{"valid-opaque.signed", Valid, nil},
		{"valid-pem.signed", Valid, nil},
		{"valid-der.signed", Valid, nil},
		{"valid-second-endorser.signed", Valid, nil},
		{"expired-list.signed", Expired, []string{CheckExpiry}},
		{"future-list.signed", Invalid, []string{CheckFutureDated}},
		{"wrong-dn.signed", Invalid, []string{CheckEndorserDN}},
		{"wrong-ca.signed", Invalid, []string{CheckEndorserCA}},
		{"deep-nesting.signed", Invalid, []string{CheckParse}},
		{"tampered.signed", Invalid, []string{"signature"}},
		{"untrusted-ca.signed", Invalid, []string{"chain"}},
		{"impostor-ca.signed", Invalid, []string{"chain", "signature"}},
		{"two-signers.signed", Invalid, []string{"signers"}},
		{"no-signer-cert.signed", Invalid, []string{"signers", "chain"}},
		{"revoked.signed", Invalid, []string{"revocation"}},
		{"expired-cert.signed", Invalid, []string{"certificate", "chain"}},
		{"garbage.signed", Invalid, []string{"envelope"}},
		{"truncated.signed", Invalid, []string{"envelope"}},
		{"unsigned.json", Invalid, []string{"unsigned"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			v := Evaluate("testdata/signed/"+tt.file, read(t, "testdata", "signed", tt.file), Policy{CAs: cas}, testNow)
			if v.Status != tt.status {
				t.Fatalf("status = %s (%s), want %s", v.Status, v.Error(), tt.status)
			}
			if tt.checks == nil {
				if v.Check != "" || v.List == nil || v.Signature == nil || len(v.List.Images) == 0 {
					t.Fatalf("valid verdict incomplete: %+v", v)
				}
				return
			}
			if !slices.Contains(tt.checks, v.Check) {
				t.Fatalf("check = %q (%s), want one of %v", v.Check, v.Error(), tt.checks)
			}
			if v.Reason == "" || !strings.Contains(v.Error(), tt.file) {
				t.Errorf("error %q does not name the list or lacks a reason", v.Error())
			}
		})
	}
}

func TestEvaluateExplainsEndorserMismatch(t *testing.T) {
	v := Evaluate("x", read(t, "testdata", "signed", "wrong-dn.signed"), Policy{CAs: loadCAs(t, "cadir")}, testNow)
	if v.Observed == "" || v.Expected == "" || v.Observed == v.Expected {
		t.Fatalf("observed %q / expected %q: want both DNs", v.Observed, v.Expected)
	}
	if !strings.HasPrefix(v.Observed, "/") || !strings.HasPrefix(v.Expected, "/") {
		t.Errorf("DNs not in OpenSSL slash form: %q, %q", v.Observed, v.Expected)
	}
}

// The real cloudkeeper fixture: its signature is good (until 2028-02-17),
// but its hv:endorser names someone else than the signer.
func TestCloudkeeperSampleRefusedOnEndorserDN(t *testing.T) {
	dir := t.TempDir()
	ca := read(t, "testdata", "samples", "cloudkeeper-mock-ca-9da13359.0")
	if err := os.WriteFile(filepath.Join(dir, "9da13359.0"), ca, 0o644); err != nil {
		t.Fatal(err)
	}
	cas, err := trust.LoadCADir(dir)
	if err != nil {
		t.Fatal(err)
	}
	v := Evaluate("imagelist01.signed", read(t, "testdata", "samples", "cloudkeeper-mock-imagelist01.signed"), Policy{CAs: cas}, testNow)
	if v.Status != Invalid || v.Check != CheckEndorserDN {
		t.Fatalf("verdict = %s %s (%s), want invalid endorser-dn", v.Status, v.Check, v.Error())
	}
	msg := v.Error()
	for _, dn := range []string{"/C=AU/ST=Some-State/O=Internet Widgits Pty Ltd", "/DC=XXX/DC=YYY/C=ZZZ/O=Hosts/O=AA.net/CN=some.unknown.source"} {
		if !strings.Contains(msg, dn) {
			t.Errorf("message %q lacks DN %q", msg, dn)
		}
	}
	if v.Signature == nil || v.Signature.Format != "multipart" {
		t.Errorf("signature = %+v, want a verified multipart signature", v.Signature)
	}
	// After the signer certificate expired, the same file fails earlier.
	late := Evaluate("imagelist01.signed", read(t, "testdata", "samples", "cloudkeeper-mock-imagelist01.signed"), Policy{CAs: cas}, time.Date(2028, 3, 1, 0, 0, 0, 0, time.UTC))
	if late.Status != Invalid || (late.Check != "certificate" && late.Check != "chain") {
		t.Errorf("in 2028: %s %s, want invalid certificate/chain", late.Status, late.Check)
	}
}

func TestEvaluatePolicies(t *testing.T) {
	valid := read(t, "testdata", "signed", "valid.signed")
	ok := Evaluate("valid", valid, Policy{CAs: loadCAs(t, "cadir")}, testNow)
	if ok.Status != Valid {
		t.Fatalf("valid.signed: %s", ok.Error())
	}
	list := ok.List
	tests := []struct {
		name      string
		data      []byte
		policy    Policy
		status    Status
		check     string
		signature bool
	}{
		{"require-crl with current CRLs", valid, Policy{CAs: loadCAs(t, "cadir"), RequireCRL: true}, Valid, "", true},
		{"require-crl without CRLs", valid, Policy{CAs: loadCAs(t, "cadir-nocrl"), RequireCRL: true}, Invalid, "crl", false},
		{"require-crl with stale CRLs", valid, Policy{CAs: loadCAs(t, "cadir-stalecrl"), RequireCRL: true}, Invalid, "crl", false},
		{"no CRL, not required", valid, Policy{CAs: loadCAs(t, "cadir-nocrl")}, Valid, "", true},
		{"pem-named CA dir", valid, Policy{CAs: loadCAs(t, "cadir-pem")}, Valid, "", true},
		{"unsigned allowed", read(t, "testdata", "signed", "unsigned.json"), Policy{CAs: loadCAs(t, "cadir"), AllowUnsigned: true}, Valid, "", false},
		{"pinned and matching", valid, Policy{CAs: loadCAs(t, "cadir"), Pin: &Pin{EndorserDN: list.Endorser.DN, EndorserCA: list.Endorser.CA, ListID: list.ID}}, Valid, "", true},
		{"pinned list id differs", valid, Policy{CAs: loadCAs(t, "cadir"), Pin: &Pin{ListID: "another-list"}}, Invalid, CheckListID, true},
		{"pinned endorser differs", valid, Policy{CAs: loadCAs(t, "cadir"), Pin: &Pin{EndorserDN: "/DC=EU/DC=EGI/CN=someone-else"}}, Invalid, CheckEndorserDN, true},
		{"pinned CA differs", valid, Policy{CAs: loadCAs(t, "cadir"), Pin: &Pin{EndorserCA: "/CN=other CA"}}, Invalid, CheckEndorserCA, true},
		// A pin names who must have made the list; an unsigned list proves
		// nothing about who did, whatever --insecure-allow-unsigned says.
		{"pinned unsigned refused under allow-unsigned", read(t, "testdata", "signed", "unsigned.json"),
			Policy{CAs: loadCAs(t, "cadir"), AllowUnsigned: true, Pin: &Pin{EndorserDN: list.Endorser.DN}}, Invalid, trust.CheckUnsigned, false},
		{"list-id pin on unsigned refused under allow-unsigned", read(t, "testdata", "signed", "unsigned.json"),
			Policy{CAs: loadCAs(t, "cadir"), AllowUnsigned: true, Pin: &Pin{ListID: list.ID}}, Invalid, trust.CheckUnsigned, false},
		{"pinned and signed under allow-unsigned", valid,
			Policy{CAs: loadCAs(t, "cadir"), AllowUnsigned: true, Pin: &Pin{EndorserDN: list.Endorser.DN}}, Valid, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := Evaluate("x", tt.data, tt.policy, testNow)
			if v.Status != tt.status || v.Check != tt.check {
				t.Fatalf("got %s %q (%s), want %s %q", v.Status, v.Check, v.Error(), tt.status, tt.check)
			}
			if (v.Signature != nil) != tt.signature {
				t.Errorf("signature present = %v, want %v", v.Signature != nil, tt.signature)
			}
		})
	}
}

func TestEvaluateClockSkewAndExpiry(t *testing.T) {
	data := read(t, "testdata", "signed", "valid.signed")
	cas := loadCAs(t, "cadir")
	v := Evaluate("x", data, Policy{CAs: cas}, testNow)
	if v.Status != Valid {
		t.Fatal(v.Error())
	}
	created, expires := v.List.Created, v.List.Expires
	if created.IsZero() {
		t.Skip("fixture has no dc:date:created")
	}
	tests := []struct {
		name   string
		now    time.Time
		status Status
		check  string
	}{
		{"created 4 minutes ahead of our clock", created.Add(-4 * time.Minute), Valid, ""},
		{"created 6 minutes ahead of our clock", created.Add(-6 * time.Minute), Invalid, CheckFutureDated},
		{"one second before expiry", expires.Add(-time.Second), Valid, ""},
		{"at expiry", expires, Expired, CheckExpiry},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.now.Before(time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC)) || tt.now.After(time.Date(2044, 12, 31, 0, 0, 0, 0, time.UTC)) {
				t.Skip("outside the test PKI's validity")
			}
			got := Evaluate("x", data, Policy{CAs: cas}, tt.now)
			if got.Status != tt.status || got.Check != tt.check {
				t.Fatalf("got %s %q (%s), want %s %q", got.Status, got.Check, got.Error(), tt.status, tt.check)
			}
		})
	}
}

func TestFetchFailed(t *testing.T) {
	v := FetchFailed("https://example.org/image.list", errors.New("fetch https://example.org/image.list: HTTP 404 Not Found"))
	if v.Status != Invalid || v.Check != CheckFetch || v.List != nil || v.Digest != "" {
		t.Fatalf("FetchFailed = %+v", v)
	}
}
