package root

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ck-sync/ck/pkg/cli/cmdutil"
)

// run executes ck in-process with test streams and a fixed clock.
func run(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	io, out, errOut := cmdutil.Test()
	f := &cmdutil.Factory{
		IO:       io,
		Globals:  &cmdutil.Globals{},
		Redactor: &cmdutil.Redactor{},
		Now:      func() time.Time { return time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC) },
		Getenv:   func(k string) string { return env[k] },
	}
	code = Run(context.Background(), f, args)
	return code, out.String(), errOut.String()
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string // in stderr
	}{
		{"unknown flag", []string{"verify", "--no-such-flag"}, "--no-such-flag"},
		{"bad output", []string{"verify", "-o", "yaml"}, "--output: must be text or json"},
		{"bad log level", []string{"version", "--log-level", "chatty"}, "--log-level"},
		{"bad parallel", []string{"fetch", "--parallel", "0"}, "--parallel"},
		{"missing subscriptions file", []string{"verify", "--image-lists-file", "/nonexistent/image-lists.conf"}, "--image-lists-file"},
		{"unknown command", []string{"frobnicate"}, "unknown command"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := run(t, nil, tt.args...)
			if code != cmdutil.ExitError {
				t.Errorf("exit code = %d, want 1", code)
			}
			if !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr = %q, want it to contain %q", stderr, tt.want)
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want nothing on a usage error", stdout)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	code, stdout, _ := run(t, nil, "version", "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	var v map[string]string
	if err := json.Unmarshal([]byte(stdout), &v); err != nil {
		t.Fatalf("version -o json: %v: %q", err, stdout)
	}
	for _, k := range []string{"version", "go", "platform"} {
		if v[k] == "" {
			t.Errorf("version JSON lacks %q: %v", k, v)
		}
	}
	code, stdout, _ = run(t, nil, "version")
	if code != 0 || !strings.HasPrefix(stdout, "ck ") || !strings.Contains(stdout, "go: go1.") {
		t.Errorf("version text = %q (exit %d)", stdout, code)
	}
}

func TestEnvironmentSetsOutput(t *testing.T) {
	code, stdout, _ := run(t, map[string]string{"CK_OUTPUT": "json"}, "version")
	if code != 0 || !strings.HasPrefix(strings.TrimSpace(stdout), "{") {
		t.Fatalf("CK_OUTPUT=json: exit %d, stdout %q", code, stdout)
	}
}

func TestLockFileHeld(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ck.lock")
	release, err := cmdutil.Lock(path)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	code, _, stderr := run(t, nil, "version", "--lock-file", path)
	if code != cmdutil.ExitLocked || !strings.Contains(stderr, "another ck run holds the lock") {
		t.Fatalf("exit %d, stderr %q; want 75 and a clear message", code, stderr)
	}
}

// TestCompletionsUpToDate fails when completions/ no longer match the
// command tree: run `make completions`.
func TestCompletionsUpToDate(t *testing.T) {
	for shell, file := range map[string]string{"bash": "ck.bash", "zsh": "ck.zsh", "fish": "ck.fish", "powershell": "ck.ps1"} {
		t.Run(shell, func(t *testing.T) {
			code, stdout, stderr := run(t, nil, "completion", shell)
			if code != 0 {
				t.Fatalf("completion %s: exit %d: %s", shell, code, stderr)
			}
			want, err := os.ReadFile(filepath.Join("..", "..", "..", "completions", file))
			if err != nil {
				t.Fatalf("%v (run `make completions`)", err)
			}
			if !bytes.Equal([]byte(stdout), want) {
				t.Errorf("completions/%s is out of date: run `make completions`", file)
			}
		})
	}
}

// A command's own settings (--share-mode, --visibility, --convert-to, …)
// come from CK_<NAME> and the config file too, so that one site file holds
// a site's whole configuration; per-invocation flags (--dry-run, --plan,
// --out, …) do not.
func TestCommandSettingsFromEnvAndConfig(t *testing.T) {
	dir := t.TempDir()
	write := func(body string) string {
		p := filepath.Join(dir, "site.yaml")
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name string
		env  map[string]string
		cfg  string
		want string
	}{
		{"config sets a command setting (and accepts one of another command)", nil, "convert-to: raw\nshare-mode: sideways\n", `--share-mode: must be copies or members, not "sideways"`},
		{"environment sets a command setting", map[string]string{"CK_VISIBILITY": "everyone"}, "", `--visibility: must be private, shared, community or public, not "everyone"`},
		{"per-invocation flags are not settings", nil, "dry-run: true\n", `unknown key "dry-run"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"diff"}
			if tt.cfg != "" {
				args = append(args, "--config", write(tt.cfg))
			}
			code, _, stderr := run(t, tt.env, args...)
			if code != cmdutil.ExitError || !strings.Contains(stderr, tt.want) {
				t.Fatalf("exit %d, stderr %q, want %q", code, stderr, tt.want)
			}
		})
	}
}

// A key left empty in the config file is an error, not the text "<nil>".
func TestConfigKeyWithoutValue(t *testing.T) {
	p := filepath.Join(t.TempDir(), "ck.yaml")
	if err := os.WriteFile(p, []byte("name-prefix:\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := run(t, nil, "diff", "--config", p)
	if code != cmdutil.ExitError || !strings.Contains(stderr, "key name-prefix has no value") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}
