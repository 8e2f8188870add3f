package verify_test

// ck verify through the real command tree (root.Run), on the signed
// fixtures of testdata/signed (see its README) and lists signed on the fly
// by testdata/pki/sign.sh. HTTP lists come from an httptest server: a
// real list server cannot be made to answer for any host name on port 80,
// which the pin spellings below need, so the test client dials it for
// every host.

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ck-sync/ck/pkg/cli/clitest"
	"github.com/ck-sync/ck/pkg/cli/cmdutil"
	"github.com/ck-sync/ck/pkg/cli/root"
	"github.com/ck-sync/ck/pkg/cli/verify"
	"github.com/ck-sync/ck/pkg/verdict"
)

const (
	token     = "s3cr3tT0kenVerify"
	validID   = "3f1b2c4d-8e9a-4b7c-a1d2-000000000001" // dc:identifier of valid.json
	secondDN  = "/DC=EU/DC=EGI/C=NL/O=Hosts/O=EGI.eu/CN=lists.ck-test.example"
	listPath  = "/store/vo/ck-test/image.list"
	issuingCA = "3354667e" // hash of the issuing CA in testdata/pki/cadir
)

var (
	testdata, _ = filepath.Abs(filepath.Join("..", "..", "..", "testdata"))
	cadir       = filepath.Join(testdata, "pki", "cadir")
)

func signed(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join(testdata, "signed", name))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// listServer serves valid.signed at listPath to any host name.
func listServer(t *testing.T) *httptest.Server {
	t.Helper()
	body, err := os.ReadFile(signed(t, "valid.signed"))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != listPath {
			http.NotFound(w, r)
			return
		}
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// run runs `ck ARGS...` in-process, with --ca-dir testdata/pki/cadir unless
// args set it, the tests' clock, and list requests to any host sent to srv.
func run(t *testing.T, srv *httptest.Server, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	streams, out, errOut := cmdutil.Test()
	f := &cmdutil.Factory{
		IO:       streams,
		Globals:  &cmdutil.Globals{},
		Redactor: &cmdutil.Redactor{},
		Now:      func() time.Time { return clitest.Now },
		Getenv:   func(string) string { return "" },
	}
	if srv != nil {
		addr := srv.Listener.Addr().String()
		f.HTTPClientFunc = func() (*http.Client, error) {
			return &http.Client{Transport: &http.Transport{
				DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
					return (&net.Dialer{}).DialContext(ctx, network, addr)
				},
			}}, nil
		}
	}
	if !hasFlag(args, "--ca-dir") {
		args = append(args, "--ca-dir", cadir)
	}
	code = root.Run(context.Background(), f, args)
	for name, text := range map[string]string{"stdout": out.String(), "stderr": errOut.String()} {
		if strings.Contains(text, token) {
			t.Errorf("%s holds the token:\n%s", name, text)
		}
	}
	return code, out.String(), errOut.String()
}

func hasFlag(args []string, flag string) bool {
	for _, a := range args {
		if a == flag || strings.HasPrefix(a, flag+"=") {
			return true
		}
	}
	return false
}

func write(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestVerifyText(t *testing.T) {
	tests := []struct {
		name  string
		lists []string
		code  int
		want  []string // in stdout, in this order
	}{
		{"valid", []string{"valid.signed"}, cmdutil.ExitOK, []string{
			"valid  " + signed(t, "valid.signed"),
			`list ` + validID + ` "ck test list 001", 2 image(s), expires 2044-12-31T00:00:00Z`,
			"signed by " + clitest.EndorserDN,
			"issued by " + clitest.EndorserCA,
			"1 list(s): 1 valid, 0 expired, 0 invalid",
		}},
		{"expired", []string{"expired-list.signed"}, cmdutil.ExitPartial, []string{
			"expired  " + signed(t, "expired-list.signed"),
			"expiry: the list expired (dc:date:expires); its images will be retired, none added or updated",
			"got:  2025-06-01T00:00:00Z",
			"want: after 2026-06-01T12:00:00Z",
			"1 list(s): 0 valid, 1 expired, 0 invalid",
		}},
		{"signed by someone else than its endorser", []string{"wrong-dn.signed"}, cmdutil.ExitPartial, []string{
			"invalid  " + signed(t, "wrong-dn.signed"),
			"endorser-dn: the signer is not the endorser the list names (hv:endorser hv:x509 hv:dn)",
			"got:  " + clitest.EndorserDN,
			"want: " + secondDN,
			"0 valid, 0 expired, 1 invalid",
		}},
		{"tampered", []string{"tampered.signed"}, cmdutil.ExitPartial, []string{"invalid  " + signed(t, "tampered.signed"), "signature: ", "1 invalid"}},
		{"untrusted CA", []string{"untrusted-ca.signed"}, cmdutil.ExitPartial, []string{"invalid", "chain: ", "1 invalid"}},
		{"unsigned", []string{"unsigned.json"}, cmdutil.ExitPartial, []string{"invalid", "unsigned: ", "1 invalid"}},
		{"one of each: every list checked", []string{"valid.signed", "expired-list.signed", "wrong-dn.signed"}, cmdutil.ExitPartial, []string{
			"valid  ", "expired  ", "invalid  ", "3 list(s): 1 valid, 1 expired, 1 invalid",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"verify"}
			for _, l := range tt.lists {
				args = append(args, signed(t, l))
			}
			code, stdout, stderr := run(t, nil, args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, stdout, stderr)
			}
			rest := stdout
			for _, w := range tt.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("stdout lacks %q (in order):\n%s", w, stdout)
				}
				rest = rest[i+len(w):]
			}
		})
	}
}

func TestVerifyJSON(t *testing.T) {
	lists := []string{"valid.signed", "expired-list.signed", "wrong-dn.signed", "missing.signed"}
	args := []string{"verify", "-o", "json"}
	for _, l := range lists {
		args = append(args, signed(t, l))
	}
	code, stdout, stderr := run(t, nil, args...)
	if code != cmdutil.ExitPartial {
		t.Errorf("exit %d, want 3\nstderr:\n%s", code, stderr)
	}
	var doc verify.Document
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatalf("stdout is not the JSON document: %v\n%s", err, stdout)
	}
	if doc.FormatVersion != "1" || len(doc.Lists) != len(lists) {
		t.Fatalf("format_version %q, %d lists; want 1, %d", doc.FormatVersion, len(doc.Lists), len(lists))
	}
	type row struct {
		status             verdict.Status
		check, obs, expect string
	}
	want := []row{
		{verdict.Valid, "", "", ""},
		{verdict.Expired, verdict.CheckExpiry, "2025-06-01T00:00:00Z", "after 2026-06-01T12:00:00Z"},
		{verdict.Invalid, verdict.CheckEndorserDN, clitest.EndorserDN, secondDN},
		{verdict.Invalid, verdict.CheckFetch, "", ""},
	}
	for i, l := range doc.Lists {
		got := row{l.Status, l.Check, l.Observed, l.Expected}
		if l.Source != signed(t, lists[i]) || got != want[i] {
			t.Errorf("lists[%d] = %s %+v, want %s %+v", i, l.Source, got, lists[i], want[i])
		}
	}
	v := doc.Lists[0]
	if v.Signature == nil || v.Signature.Format != "multipart" || v.Signature.SignerDN != clitest.EndorserDN || v.Signature.IssuerDN != clitest.EndorserCA {
		t.Errorf("valid list's signature = %+v", v.Signature)
	}
	if v.List == nil || v.List.ID != validID || v.List.Images != 2 || len(v.Digest) != 64 {
		t.Errorf("valid list = %+v, sha256 %q", v.List, v.Digest)
	}
	if !strings.Contains(doc.Lists[3].Reason, "no such file") {
		t.Errorf("missing list's reason = %q", doc.Lists[3].Reason)
	}
	if doc.Summary != (verify.Counts{Valid: 1, Expired: 1, Invalid: 2}) {
		t.Errorf("summary = %+v", doc.Summary)
	}
	if !strings.Contains(stderr, `msg="list refused"`) || !strings.Contains(stderr, "check=endorser-dn") {
		t.Errorf("stderr lacks the refusal log line:\n%s", stderr)
	}
}

func TestVerifyUsageErrors(t *testing.T) {
	dir := t.TempDir()
	empty := write(t, dir, "empty.conf", "# nothing\n")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"CA directory missing", []string{"verify", "--ca-dir", filepath.Join(dir, "absent"), signed(t, "valid.signed")}, "--ca-dir: read CA directory"},
		{"no list subscribed", []string{"verify", "--image-lists-file", empty}, "no list subscribed"},
		{"bad output", []string{"verify", "-o", "yaml", signed(t, "valid.signed")}, "--output"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := run(t, nil, tt.args...)
			if code != cmdutil.ExitError || stdout != "" || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stdout %q, stderr %q; want 1, nothing, %q", code, stdout, stderr, tt.want)
			}
		})
	}
}

// TestVerifyPinsEveryForm is issue 11 item 3: a lists: entry pins its list
// whichever way the entry and the subscription are written. The pin asks
// for another list id, so a pin that applies makes the list invalid
// (list-id); one silently ignored would leave it valid. Each case runs with
// the list as a LIST argument and in the subscriptions file.
func TestVerifyPinsEveryForm(t *testing.T) {
	srv := listServer(t)
	dir := t.TempDir()
	valid := signed(t, "valid.signed")
	fileDir := filepath.Dir(valid)
	t.Chdir(fileDir) // relative sources below are relative to testdata/signed
	tests := []struct {
		name, entry, source string
	}{
		{"same URL", "http://lists.example.org" + listPath, "http://lists.example.org" + listPath},
		{"source with the token", "http://lists.example.org" + listPath, "http://" + token + ":x-oauth-basic@lists.example.org" + listPath},
		{"entry with the token", "http://" + token + ":x-oauth-basic@lists.example.org" + listPath, "http://lists.example.org" + listPath},
		{"host and scheme case", "http://lists.example.org" + listPath, "HTTP://LISTS.Example.ORG" + listPath},
		{"default port in the source", "http://lists.example.org" + listPath, "http://lists.example.org:80" + listPath},
		{"default port in the entry", "http://lists.example.org:80" + listPath, "http://Lists.Example.org" + listPath},
		{"all at once", "http://lists.example.org" + listPath, "http://" + token + ":x-oauth-basic@LISTS.example.org:80" + listPath + "#frag"},
		{"file URL entry, path source", "file://" + valid, valid},
		{"path entry, file URL source", valid, "file://" + valid},
		{"path entry, localhost file URL source", valid, "file://localhost" + valid},
		{"path entry, relative source", valid, "valid.signed"},
		{"path entry, dotted relative source", valid, "./../signed/valid.signed"},
	}
	for _, tt := range tests {
		for _, mode := range []string{"argument", "subscription"} {
			t.Run(tt.name+"/"+mode, func(t *testing.T) {
				cfg := write(t, dir, "ck.yaml", "lists:\n  - url: "+tt.entry+"\n    list_id: the-pinned-id\n")
				args := []string{"verify", "--config", cfg, "-o", "json"}
				if mode == "argument" {
					args = append(args, tt.source)
				} else {
					args = append(args, "--image-lists-file", write(t, dir, "image-lists.conf", tt.source+"\n"))
				}
				code, stdout, stderr := run(t, srv, args...)
				var doc verify.Document
				if err := json.Unmarshal([]byte(stdout), &doc); err != nil || len(doc.Lists) != 1 {
					t.Fatalf("exit %d, %v:\n%s\nstderr:\n%s", code, err, stdout, stderr)
				}
				l := doc.Lists[0]
				if code != cmdutil.ExitPartial || l.Status != verdict.Invalid || l.Check != verdict.CheckListID ||
					l.Observed != validID || l.Expected != "the-pinned-id" {
					t.Errorf("exit %d, %s %s (got %q, want %q); want exit 3, invalid list-id: the pin was not applied\nstderr:\n%s",
						code, l.Status, l.Check, l.Observed, l.Expected, stderr)
				}
			})
		}
	}
}

func TestVerifyPinHolds(t *testing.T) {
	dir := t.TempDir()
	valid := signed(t, "valid.signed")
	tests := []struct {
		name, pin string
		code      int
		check     string
	}{
		{"every pin holds", "    endorser_dn: " + clitest.EndorserDN + "\n    endorser_ca: " + clitest.EndorserCA + "\n    list_id: " + validID + "\n", cmdutil.ExitOK, ""},
		{"convert_to only: not a pin", "    convert_to: raw\n", cmdutil.ExitOK, ""},
		{"other endorser pinned", "    endorser_dn: " + secondDN + "\n", cmdutil.ExitPartial, verdict.CheckEndorserDN},
		{"other CA pinned", "    endorser_ca: /DC=org/DC=ck-test/CN=ck Test Root CA\n", cmdutil.ExitPartial, verdict.CheckEndorserCA},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := write(t, dir, "ck.yaml", "lists:\n  - url: file://"+valid+"\n"+tt.pin)
			code, stdout, stderr := run(t, nil, "verify", "--config", cfg, "-o", "json", valid)
			var doc verify.Document
			if err := json.Unmarshal([]byte(stdout), &doc); err != nil || len(doc.Lists) != 1 {
				t.Fatalf("exit %d, %v:\n%s\nstderr:\n%s", code, err, stdout, stderr)
			}
			if code != tt.code || doc.Lists[0].Check != tt.check {
				t.Errorf("exit %d, check %q (%s); want %d, %q", code, doc.Lists[0].Check, doc.Lists[0].Reason, tt.code, tt.check)
			}
		})
	}
}

// TestVerifyEntryMatchesNoSubscription: with the subscriptions file, a
// lists: entry for a list not subscribed is a usage error naming it.
func TestVerifyEntryMatchesNoSubscription(t *testing.T) {
	dir := t.TempDir()
	subs := write(t, dir, "image-lists.conf", signed(t, "valid.signed")+"\n")
	cfg := write(t, dir, "ck.yaml", "lists:\n  - url: file://"+signed(t, "valid.signed")+"\n  - url: https://"+token+":x-oauth-basic@Lists.example.org/old/image.list\n    list_id: x\n")
	code, stdout, stderr := run(t, nil, "verify", "--config", cfg, "--image-lists-file", subs)
	want := "ck: --config: " + cfg + ": lists[1] (https://lists.example.org/old/image.list) matches no subscription in " + subs
	if code != cmdutil.ExitError || stdout != "" || !strings.Contains(stderr, want) {
		t.Errorf("exit %d, stdout %q, stderr:\n%s\nwant exit 1 and %q", code, stdout, stderr, want)
	}
	// The same entries with a LIST argument: the other entry is no error.
	code, _, stderr = run(t, nil, "verify", "--config", cfg, signed(t, "valid.signed"))
	if code != cmdutil.ExitOK {
		t.Errorf("with a LIST argument: exit %d, want 0\n%s", code, stderr)
	}
}

// TestVerifyPinnedListMustBeSigned: --insecure-allow-unsigned accepts an
// unsigned list, except one the configuration pins.
func TestVerifyPinnedListMustBeSigned(t *testing.T) {
	dir := t.TempDir()
	unsigned := signed(t, "unsigned.json")
	code, stdout, stderr := run(t, nil, "verify", "--insecure-allow-unsigned", unsigned)
	if code != cmdutil.ExitOK || !strings.Contains(stdout, "valid  "+unsigned) || !strings.Contains(stderr, "INSECURE") {
		t.Fatalf("unpinned: exit %d\n%s\n%s", code, stdout, stderr)
	}
	cfg := write(t, dir, "ck.yaml", "lists:\n  - url: "+unsigned+"\n    endorser_dn: "+clitest.EndorserDN+"\n")
	code, stdout, _ = run(t, nil, "verify", "--insecure-allow-unsigned", "--config", cfg, unsigned)
	for _, want := range []string{"invalid  " + unsigned, "unsigned: the list is pinned in the configuration (lists:), so it must be signed even with --insecure-allow-unsigned",
		"got:  unsigned", "want: a signature by " + clitest.EndorserDN} {
		if !strings.Contains(stdout, want) {
			t.Errorf("pinned: stdout lacks %q:\n%s", want, stdout)
		}
	}
	if code != cmdutil.ExitPartial {
		t.Errorf("pinned: exit %d, want 3", code)
	}
}

// copyDir copies the regular files of src into a new directory.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		in, err := os.Open(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out, err := os.Create(filepath.Join(dst, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(out, in); err != nil {
			t.Fatal(err)
		}
		in.Close()
		out.Close()
	}
	return dst
}

// TestVerifyDamagedCADirFile is issue 11 item 6: one damaged file in the CA
// directory is logged (file and error) and skipped; the rest still load. A
// list that needs it is refused.
func TestVerifyDamagedCADirFile(t *testing.T) {
	tests := []struct {
		name, file string
		code       int
		check      string
	}{
		{"unrelated certificate file", "0badf00d.0", cmdutil.ExitOK, ""},
		{"the issuer's CRL", issuingCA + ".r0", cmdutil.ExitPartial, "crl"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := copyDir(t, cadir)
			damaged := write(t, dir, tt.file, "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n")
			code, stdout, stderr := run(t, nil, "verify", "--ca-dir", dir, "-o", "json", signed(t, "valid.signed"))
			if !strings.Contains(stderr, "CA directory file skipped") || !strings.Contains(stderr, "file="+damaged) || !strings.Contains(stderr, "error=") {
				t.Errorf("stderr does not name the skipped file and its error:\n%s", stderr)
			}
			var doc verify.Document
			if err := json.Unmarshal([]byte(stdout), &doc); err != nil || len(doc.Lists) != 1 {
				t.Fatalf("exit %d, %v:\n%s\nstderr:\n%s", code, err, stdout, stderr)
			}
			if code != tt.code || doc.Lists[0].Check != tt.check {
				t.Errorf("exit %d, check %q (%s); want %d, %q", code, doc.Lists[0].Check, doc.Lists[0].Reason, tt.code, tt.check)
			}
		})
	}
}

// TestVerifyWarnsCredentialsOverHTTP is issue 11 item 6: a list URL, or an
// image's hv:uri, that carries credentials over plain http:// is fetched,
// with a warning that names the list (and image), never the credentials.
func TestVerifyWarnsCredentialsOverHTTP(t *testing.T) {
	srv := listServer(t)
	dir := t.TempDir()
	l := clitest.WriteList(t, dir, "cleartext", "alpha.vo",
		clitest.ImageSpec{ID: "img-clear", URI: "http://robot:" + token + "@images.example.org/clear.img"},
		clitest.ImageSpec{ID: "img-tls", URI: "https://robot:" + token + "@images.example.org/tls.img"})
	code, _, stderr := run(t, srv, "verify",
		"http://"+token+":x-oauth-basic@lists.example.org"+listPath,
		"http://lists.example.org/missing.list", // 404; no credentials, no warning
		l.Path)
	if code != cmdutil.ExitPartial {
		t.Errorf("exit %d, want 3 (one list unreachable)\n%s", code, stderr)
	}
	for _, want := range []string{
		`msg="credentials sent in clear: the list URL carries credentials (a token) over plain http://; anyone on the path can read them, use https://" list=http://lists.example.org` + listPath,
		`list=` + l.Path + ` image=img-clear`,
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if n := strings.Count(stderr, "credentials sent in clear"); n != 2 {
		t.Errorf("%d warnings, want 2 (the http list, the http image):\n%s", n, stderr)
	}
}
