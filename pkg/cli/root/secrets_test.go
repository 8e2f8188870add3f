package root

import (
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const token = "s3cr3tT0kenABC123"

// listServer serves the valid signed fixture at /store/vo/test/image.list to
// clients that present AppDB-style Basic auth (token as user name), and 404
// elsewhere. It returns the server and a CA file for --extra-ca-file.
func listServer(t *testing.T) (*httptest.Server, string) {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("..", "..", "..", "testdata", "signed", "valid.signed"))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		if !ok || user != token || pass != "x-oauth-basic" {
			http.Error(w, "unauthorised", http.StatusUnauthorized)
			return
		}
		if r.URL.Path != "/store/vo/test/image.list" {
			http.NotFound(w, r)
			return
		}
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	caFile := filepath.Join(t.TempDir(), "server-ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(caFile, pemBytes, 0o644); err != nil {
		t.Fatal(err)
	}
	return srv, caFile
}

// TestTokenNeverPrinted runs every command with token-bearing list URLs, on
// success and failure paths, text and JSON, at debug level, and checks the
// token appears in no output, log line, error or saved file name.
func TestTokenNeverPrinted(t *testing.T) {
	srv, caFile := listServer(t)
	host := strings.TrimPrefix(srv.URL, "https://")
	good := "https://" + token + ":x-oauth-basic@" + host + "/store/vo/test/image.list"
	missing := "https://" + token + ":x-oauth-basic@" + host + "/store/vo/other/image.list"
	refused := "https://" + token + ":x-oauth-basic@127.0.0.1:1/image.list"
	badURL := "https://" + token + ":x-oauth-basic@[::1/image.list"
	saveDir := t.TempDir()
	subs := filepath.Join(t.TempDir(), "image-lists.conf")
	os.WriteFile(subs, []byte("# subscriptions\n"+good+"\n"+missing+"\n"), 0o644)

	common := []string{"--ca-dir", filepath.Join("..", "..", "..", "testdata", "pki", "cadir"), "--extra-ca-file", caFile, "--log-level", "debug"}
	tests := []struct {
		name     string
		args     []string
		wantCode int
	}{
		{"fetch good", []string{"fetch", good}, 0},
		{"fetch save", []string{"fetch", "--save", saveDir, good}, 0},
		{"fetch json", []string{"fetch", "-o", "json", "--log-format", "json", good, missing}, 3},
		{"fetch refused", []string{"fetch", refused}, 3},
		{"verify good", []string{"verify", good}, 0},
		{"verify json", []string{"verify", "-o", "json", "--log-format", "json", good, missing, refused}, 3},
		{"verify subscriptions", []string{"verify", "--image-lists-file", subs}, 3},
		{"verify bad url", []string{"verify", badURL}, 1},
		{"fetch bad url", []string{"fetch", badURL}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := run(t, nil, append(append([]string{}, tt.args...), common...)...)
			if code != tt.wantCode {
				t.Errorf("exit code = %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.wantCode, stdout, stderr)
			}
			for name, text := range map[string]string{"stdout": stdout, "stderr": stderr} {
				if strings.Contains(text, token) {
					t.Errorf("%s contains the token:\n%s", name, text)
				}
			}
			if stdout == "" && tt.wantCode != 1 {
				t.Errorf("no output on stdout")
			}
		})
	}
	entries, _ := os.ReadDir(saveDir)
	if len(entries) != 1 {
		t.Fatalf("--save wrote %d files, want 1", len(entries))
	}
	for _, e := range entries {
		if strings.Contains(e.Name(), token) {
			t.Errorf("saved file name %q contains the token", e.Name())
		}
	}
}
