package imagelist

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// token is distinctive so that any leak is easy to spot.
const token = "s3cr3tT0ken"

func TestParseSource(t *testing.T) {
	tests := []struct {
		name    string
		arg     string
		display string
		isFile  bool
		errText string // non-empty: ParseSource must fail with this in the text
	}{
		{name: "AppDB URL with token", arg: "https://" + token + ":x-oauth-basic@vmcaster.appdb.egi.eu/store/vo/x/image.list",
			display: "https://vmcaster.appdb.egi.eu/store/vo/x/image.list"},
		{name: "token without password", arg: "https://" + token + "@vmcaster.appdb.egi.eu/store/vo/x/image.list",
			display: "https://vmcaster.appdb.egi.eu/store/vo/x/image.list"},
		{name: "plain http", arg: "http://example.org/list?vo=x", display: "http://example.org/list?vo=x"},
		{name: "upper-case scheme", arg: "HTTPS://example.org/list", display: "https://example.org/list"},
		{name: "surrounding spaces", arg: "  https://example.org/list \n", display: "https://example.org/list"},
		{name: "file URL", arg: "file:///var/lib/ck/x.list", display: "/var/lib/ck/x.list", isFile: true},
		{name: "file URL on localhost", arg: "file://localhost/var/x.list", display: "/var/x.list", isFile: true},
		{name: "absolute path", arg: "/etc/ck/x.list", display: "/etc/ck/x.list", isFile: true},
		{name: "relative path", arg: "lists/x.list", display: "lists/x.list", isFile: true},
		{name: "path containing ://", arg: "./odd://name.json", display: "./odd://name.json", isFile: true},
		{name: "empty", arg: "", errText: "list source: empty"},
		{name: "blank", arg: "   ", errText: "list source: empty"},
		{name: "ftp refused", arg: "ftp://" + token + ":pw@example.org/x.list", errText: `unsupported scheme "ftp"`},
		{name: "no host", arg: "https:///x.list", errText: "URL has no host"},
		{name: "bad URL with credentials", arg: "https://" + token + ":x-oauth-basic@exa mple.org/x", errText: "invalid URL"},
		{name: "bad port with credentials", arg: "https://" + token + ":pa/ss@example.org:x/", errText: "invalid URL"},
		{name: "bad escape in password", arg: "https://user:" + token + "%zz@example.org/", errText: "invalid URL"},
		{name: "bad URL without credentials", arg: "https://exa mple.org/x", errText: "invalid character"},
		{name: "file URL with remote host", arg: "file://server/x.list", errText: `names host "server"`},
		{name: "file URL with credentials", arg: "file://" + token + "@/x.list", errText: "credentials are not allowed"},
		{name: "file URL without path", arg: "file://", errText: "no path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseSource(tt.arg)
			if tt.errText != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errText) {
					t.Fatalf("ParseSource(%q) error = %v, want one containing %q", tt.arg, err, tt.errText)
				}
				if strings.Contains(err.Error(), token) {
					t.Errorf("error leaks the token: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseSource(%q): %v", tt.arg, err)
			}
			if s.String() != tt.display || s.IsFile() != tt.isFile {
				t.Errorf("got %q file=%v, want %q file=%v", s.String(), s.IsFile(), tt.display, tt.isFile)
			}
		})
	}
}

func TestSourceNeverPrintsCredentials(t *testing.T) {
	s, err := ParseSource("https://" + token + ":x-oauth-basic@vmcaster.appdb.egi.eu/store/vo/x/image.list")
	if err != nil {
		t.Fatal(err)
	}
	holder := struct {
		Exported   Source
		unexported Source
		Ptr        *Source
	}{s, s, &s}
	js, _ := json.Marshal(holder)
	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, nil)).Info("fetching", "source", s)
	for _, text := range []string{
		s.String(),
		fmt.Sprint(s), fmt.Sprintf("%v %+v %#v %s", s, s, s, s),
		fmt.Sprintf("%v %+v %#v", holder, holder, holder),
		string(js),
		logged.String(),
	} {
		if strings.Contains(text, token) {
			t.Errorf("credentials printed: %s", text)
		}
	}
}

func TestSourceRedact(t *testing.T) {
	s, err := ParseSource("https://" + token + ":x-oauth-basic@example.org/x")
	if err != nil {
		t.Fatal(err)
	}
	basic := base64.StdEncoding.EncodeToString([]byte(token + ":x-oauth-basic"))
	in := "Get https://" + token + ":x-oauth-basic@example.org/x: Basic " + basic + " " + token
	out := s.Redact(in)
	if strings.Contains(out, token) || strings.Contains(out, basic) {
		t.Errorf("Redact left a secret: %s", out)
	}
	if !strings.Contains(out, "REDACTED") || !strings.Contains(out, "example.org/x") {
		t.Errorf("Redact = %s", out)
	}
	plain, _ := ParseSource("https://example.org/x")
	if got := plain.Redact("nothing to hide"); got != "nothing to hide" {
		t.Errorf("Redact without credentials changed the text: %s", got)
	}
}

func TestSourceRedactsEscapedToken(t *testing.T) {
	// A token with characters that URLs escape must be hidden in every spelling.
	s, err := ParseSource("https://tok%2Fen%40" + token + ":p%40ss@example.org/x")
	if err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{"tok/en@" + token, "tok%2Fen%40" + token, "p@ss", "p%40ss"} {
		if out := s.Redact("x " + text + " y"); strings.Contains(out, token) || strings.Contains(out, "ss") {
			t.Errorf("Redact(%q) = %q", text, out)
		}
	}
}

// A registry source with credentials is refused by ParseSource and Key
// alike, and no part of the user or password is in either error, even when
// the password holds "/" (which once made the start of it read as a port).
func TestRegistrySourceCredentialsRefused(t *testing.T) {
	tests := []struct {
		name, arg string
		secrets   []string
	}{
		{"oci, slash in password", "oci://robot:" + token + "/et@registry.egi.eu/p/r", []string{"robot", token}},
		{"oci, slash and digest", "oci://robot:" + token + "/et@registry.egi.eu/p/r@sha256:" + strings.Repeat("ab", 32), []string{"robot", token}},
		{"harbor, slash in password", "harbor://robot:" + token + "/et@registry.egi.eu/p", []string{"robot", token}},
		{"harbor, at in password", "harbor://robot:" + token + "@x/y@registry.egi.eu/p", []string{"robot", token, "@x/y"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, perr := ParseSource(tt.arg)
			_, kerr := Key(tt.arg)
			for what, err := range map[string]error{"ParseSource": perr, "Key": kerr} {
				if err == nil || !strings.Contains(err.Error(), "credentials are not allowed") {
					t.Fatalf("%s(%q) = %v, want credentials refused", what, tt.arg, err)
				}
				for _, sec := range tt.secrets {
					if strings.Contains(err.Error(), sec) {
						t.Errorf("%s error shows %q: %v", what, sec, err)
					}
				}
			}
		})
	}
}
