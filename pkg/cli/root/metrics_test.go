package root

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ck-sync/ck/pkg/cli/cmdutil"
)

func signed(name string) string { return filepath.Join("..", "..", "..", "testdata", "signed", name) }

var cadir = filepath.Join("..", "..", "..", "testdata", "pki", "cadir")

func TestVerifyWritesMetricsFile(t *testing.T) {
	tests := []struct {
		name     string
		lists    []string
		wantCode int
		want     []string // lines of the metrics file
	}{
		{
			name:     "every list valid",
			lists:    []string{signed("valid.signed"), signed("valid-pem.signed")},
			wantCode: cmdutil.ExitOK,
			want: []string{
				`ck_last_run_start_timestamp_seconds{command="verify"} 1780315200.000`,
				`ck_last_run_end_timestamp_seconds{command="verify"} 1780315200.000`,
				`ck_last_run_success{command="verify"} 1`,
				`ck_last_run_duration_seconds{command="verify"} 0.000`,
				`ck_lists{command="verify",verdict="valid"} 2`,
				`ck_lists{command="verify",verdict="expired"} 0`,
				`ck_lists{command="verify",verdict="invalid"} 0`,
			},
		},
		{
			name:     "one list of each verdict",
			lists:    []string{signed("valid.signed"), signed("expired-list.signed"), signed("wrong-dn.signed")},
			wantCode: cmdutil.ExitPartial,
			want: []string{
				`ck_last_run_success{command="verify"} 0`,
				`ck_lists{command="verify",verdict="valid"} 1`,
				`ck_lists{command="verify",verdict="expired"} 1`,
				`ck_lists{command="verify",verdict="invalid"} 1`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "ck-verify.prom")
			args := append([]string{"verify", "--ca-dir", cadir, "--metrics-file", path}, tt.lists...)
			code, _, stderr := run(t, nil, args...)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, tt.wantCode, stderr)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("metrics file: %v", err)
			}
			lines := map[string]bool{}
			for _, l := range strings.Split(string(data), "\n") {
				lines[l] = true
			}
			for _, w := range tt.want {
				if !lines[w] {
					t.Errorf("metrics file lacks %q:\n%s", w, data)
				}
			}
			if strings.Contains(string(data), "ck_images") {
				t.Errorf("verify wrote image metrics:\n%s", data)
			}
		})
	}
}

func TestMetricsFileFromEnvironment(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ck.prom")
	code, _, stderr := run(t, map[string]string{"CK_METRICS_FILE": path}, "verify", "--ca-dir", cadir, signed("valid.signed"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("CK_METRICS_FILE not honoured: %v", err)
	}
}

func TestMetricsFileNotWritten(t *testing.T) {
	t.Run("command without metrics", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "ck.prom")
		if code, _, _ := run(t, nil, "version", "--metrics-file", path); code != 0 {
			t.Fatalf("exit %d", code)
		}
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Errorf("ck version wrote %s (err %v)", path, err)
		}
	})
	t.Run("lock held by another run", func(t *testing.T) {
		dir := t.TempDir()
		lock, path := filepath.Join(dir, "ck.lock"), filepath.Join(dir, "ck.prom")
		release, err := cmdutil.Lock(lock)
		if err != nil {
			t.Fatal(err)
		}
		defer release()
		code, _, _ := run(t, nil, "verify", "--ca-dir", cadir, "--lock-file", lock, "--metrics-file", path, signed("valid.signed"))
		if code != cmdutil.ExitLocked {
			t.Fatalf("exit %d, want 75", code)
		}
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Errorf("a run turned away by the lock wrote %s (err %v)", path, err)
		}
	})
}

func TestMetricsFileUnwritable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing", "ck.prom")
	code, _, stderr := run(t, nil, "verify", "--ca-dir", cadir, "--metrics-file", path, signed("valid.signed"))
	if code != cmdutil.ExitError || !strings.Contains(stderr, "--metrics-file: cannot write the metrics") {
		t.Fatalf("exit %d, stderr %q; want 1 and a message naming --metrics-file", code, stderr)
	}
}

// TestSiteLabelsMetricsAndLogs: --site (as the template units pass it)
// labels every series of the metrics file and every log record; CK_SITE
// does the same; a bad name is a usage error before anything runs.
func TestSiteLabelsMetricsAndLogs(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
	}{
		{"flag", []string{"--site", "site-a"}, nil},
		{"environment", nil, map[string]string{"CK_SITE": "site-a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "ck-verify-site-a.prom")
			args := append([]string{"verify", "--ca-dir", cadir, "--metrics-file", path, "--log-format", "json", "--log-level", "debug"}, tt.args...)
			code, _, stderr := run(t, tt.env, append(args, signed("valid.signed"), signed("wrong-dn.signed"))...)
			if code != cmdutil.ExitPartial {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, cmdutil.ExitPartial, stderr)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			samples := 0
			for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
				if strings.HasPrefix(l, "#") {
					continue
				}
				samples++
				if !strings.Contains(l, `{site="site-a",command="verify"`) {
					t.Errorf("series without the site label: %q", l)
				}
			}
			if samples == 0 {
				t.Fatalf("no samples in:\n%s", data)
			}
			records := strings.Split(strings.TrimSpace(stderr), "\n")
			if len(records) < 2 {
				t.Fatalf("want a record per list, got:\n%s", stderr)
			}
			for _, r := range records {
				if !strings.Contains(r, `"site":"site-a"`) {
					t.Errorf("log record without the site: %s", r)
				}
			}
		})
	}
	t.Run("bad name", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "ck.prom")
		code, _, stderr := run(t, nil, "verify", "--ca-dir", cadir, "--metrics-file", path, "--site", "site a", signed("valid.signed"))
		if code != cmdutil.ExitError || !strings.Contains(stderr, `--site: "site a"`) {
			t.Fatalf("exit %d, stderr %q; want a usage error naming --site and the value", code, stderr)
		}
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Errorf("a refused run wrote %s (err %v)", path, err)
		}
	})
}
