package cmdutil

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/ck-sync/ck/pkg/imagelist"
)

const testToken = "s3cr3tT0kenXYZ"

// loadConfig applies a config file holding body and returns the globals.
func loadConfig(t *testing.T, body string) (*Globals, error) {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "ck.yaml")
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	fs := pflag.NewFlagSet("ck", pflag.ContinueOnError)
	g := &Globals{}
	BindGlobals(fs, g)
	if err := fs.Parse([]string{"--config", cfg}); err != nil {
		t.Fatal(err)
	}
	return g, ApplyEnvAndConfig(fs, nil, nil, g, func(string) string { return "" })
}

func TestListEntriesConfigErrors(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"misspelt pin key", "lists:\n  - url: https://h.example/a.list\n    endorser-dn: /CN=a\n", "field endorser-dn not found"},
		{"unknown setting", "lists:\n  - url: https://h.example/a.list\n    listid: x\n", "field listid not found"},
		{"relative path", "lists:\n  - url: lists/a.list\n    list_id: x\n", "a path must be absolute"},
		{"same list twice, with and without token", "lists:\n  - url: https://h.example/a.list\n  - url: https://" + testToken + ":x-oauth-basic@H.example:443/a.list\n",
			"lists[1] (https://h.example/a.list): names the same list as lists[0]"},
		{"same file twice", "lists:\n  - url: /srv/a.list\n  - url: file:///srv/./a.list\n", "names the same list as lists[0]"},
		{"bad URL with token", "lists:\n  - url: https://" + testToken + ":x@exa mple.org/a.list\n", "lists[0]: url: list source https://REDACTED@exa mple.org/a.list: invalid URL"},
		{"no url", "lists:\n  - list_id: x\n", "lists[0]: url is required"},
		{"bad convert_to names the list, not the token", "lists:\n  - url: https://" + testToken + "@h.example/a.list\n    convert_to: vmdk\n",
			"lists[0] (https://h.example/a.list): convert_to must be raw, qcow2 or none"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadConfig(t, tt.body)
			var ue *UsageError
			if !errors.As(err, &ue) || ue.Flag != "--config" || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want a --config usage error containing %q", err, tt.want)
			}
			if strings.Contains(err.Error(), testToken) {
				t.Errorf("error leaks the token: %v", err)
			}
		})
	}
}

// TestListEntryMatchesEverySpelling is issue 11 item 3: an entry applies to
// its list whichever way the entry and the subscription are written.
func TestListEntryMatchesEverySpelling(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "a.list")
	t.Chdir(dir)
	tests := []struct {
		name, entry, source string
	}{
		{"same text", "https://h.example/store/a.list", "https://h.example/store/a.list"},
		{"source carries the token", "https://h.example/store/a.list", "https://" + testToken + ":x-oauth-basic@h.example/store/a.list"},
		{"entry carries the token", "https://" + testToken + ":x-oauth-basic@h.example/store/a.list", "https://h.example/store/a.list"},
		{"host and scheme case", "https://h.example/store/a.list", "HTTPS://H.Example/store/a.list"},
		{"default https port in the source", "https://h.example/store/a.list", "https://h.example:443/store/a.list"},
		{"default https port in the entry", "https://h.example:443/store/a.list", "https://h.example/store/a.list"},
		{"default http port", "http://h.example:80/a.list", "http://H.EXAMPLE/a.list"},
		{"file URL entry, path source", "file://" + file, file},
		{"path entry, file URL source", file, "file://localhost" + file},
		{"path entry, relative source", file, "a.list"},
		{"path entry, dotted source", file, "./x/../a.list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := loadConfig(t, "lists:\n  - url: "+tt.entry+"\n    list_id: pinned\n    convert_to: raw\n")
			if err != nil {
				t.Fatal(err)
			}
			key, err := imagelist.Key(tt.source)
			if err != nil {
				t.Fatal(err)
			}
			e, ok := g.ListEntry(key)
			if !ok {
				t.Fatalf("entry %q does not apply to source %q (key %q, entry key %q)", tt.entry, tt.source, key, g.ListEntries[0].Key())
			}
			if p := e.Pin(); p == nil || p.ListID != "pinned" || e.ConvertTo != "raw" {
				t.Errorf("entry = %+v, pin %+v", e, p)
			}
			if strings.Contains(e.Key(), testToken) {
				t.Errorf("entry key %q holds the token", e.Key())
			}
		})
	}
}

func TestListEntryPin(t *testing.T) {
	if p := (ListEntry{URL: "https://h/x", ConvertTo: "raw"}).Pin(); p != nil {
		t.Errorf("an entry with only convert_to pins %+v, want nothing", p)
	}
	if p := (ListEntry{URL: "https://h/x", EndorserCA: "/CN=ca"}).Pin(); p == nil || p.EndorserCA != "/CN=ca" {
		t.Errorf("pin = %+v", p)
	}
}

// TestSourcesEntryMatchesNoSubscription: with the subscriptions file, an
// entry that matches no subscription is a usage error naming it (without
// its token); with LIST arguments it is not.
func TestSourcesEntryMatchesNoSubscription(t *testing.T) {
	dir := t.TempDir()
	subs := filepath.Join(dir, "image-lists.conf")
	if err := os.WriteFile(subs, []byte("https://"+testToken+":x-oauth-basic@h.example/a.list\nhttp://h.example/b.list\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		entries string
		args    []string
		want    string // "" = no error
	}{
		{"every entry matches, in other spellings", "  - url: https://H.example:443/a.list\n  - url: http://h.example:80/b.list\n", nil, ""},
		{"typo in the path", "  - url: https://h.example/a.list\n  - url: https://" + testToken + "@h.example/c.list\n", nil,
			"lists[1] (https://h.example/c.list) matches no subscription in " + subs},
		{"other scheme", "  - url: https://h.example/b.list\n", nil, "lists[0] (https://h.example/b.list) matches no subscription"},
		{"LIST arguments: entries for other lists are no error", "  - url: https://h.example/a.list\n  - url: https://h.example/c.list\n",
			[]string{"https://h.example/b.list"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := loadConfig(t, "lists:\n"+tt.entries)
			if err != nil {
				t.Fatal(err)
			}
			g.ImageListsFile = subs
			f := &Factory{Globals: g, Redactor: &Redactor{}, Logger: slog.New(slog.DiscardHandler)}
			_, _, err = f.Sources(tt.args)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Sources: %v", err)
				}
				return
			}
			var ue *UsageError
			if !errors.As(err, &ue) || ExitCode(err) != ExitError || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want a usage error (exit 1) containing %q", err, tt.want)
			}
			if strings.Contains(err.Error(), testToken) {
				t.Errorf("error leaks the token: %v", err)
			}
		})
	}
}

func TestSourcesWarnCredentialsOverHTTP(t *testing.T) {
	var logged bytes.Buffer
	f := &Factory{Globals: &Globals{}, Redactor: &Redactor{}, Logger: slog.New(slog.NewTextHandler(&logged, nil))}
	_, _, err := f.Sources([]string{
		"http://" + testToken + ":x-oauth-basic@h.example/clear.list",
		"https://" + testToken + ":x-oauth-basic@h.example/tls.list",
		"http://h.example/public.list",
	})
	if err != nil {
		t.Fatal(err)
	}
	out := logged.String()
	if n := strings.Count(out, "credentials sent in clear"); n != 1 || !strings.Contains(out, "list=http://h.example/clear.list") {
		t.Errorf("want one warning naming http://h.example/clear.list, got %d:\n%s", n, out)
	}
	if strings.Contains(out, testToken) {
		t.Errorf("log leaks the token:\n%s", out)
	}
}
