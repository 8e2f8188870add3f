package metrics

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var t0 = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

func TestGolden(t *testing.T) {
	tests := []struct {
		name   string
		golden string
		site   string // the site label every sample must carry ("": none)
		record func() *Run
	}{
		{"verify with an invalid list", "verify.prom", "", func() *Run {
			r := New("verify", t0)
			r.SetLists(2, 0, 1)
			r.Finish(t0.Add(1500*time.Millisecond), false)
			return r
		}},
		{"sync that applied changes", "sync.prom", "", func() *Run {
			r := New("sync", t0)
			r.SetLists(3, 1, 0)
			r.AddImage("create", "done")
			r.AddImage("create", "done")
			r.AddImage("replace", "failed")
			r.AddImage("retire", "done")
			r.AddImage("update-metadata", "skipped")
			r.SetTransferred(3 << 30)
			r.Finish(t0.Add(42*time.Minute+250*time.Millisecond), true)
			return r
		}},
		{"sync with an empty plan", "sync-empty.prom", "", func() *Run {
			r := New("sync", t0)
			r.SetLists(1, 0, 0)
			r.SetTransferred(0)
			r.Finish(t0.Add(2*time.Second), true)
			return r
		}},
		{"prune with its own action", "prune.prom", "", func() *Run {
			r := New("prune", t0)
			r.AddImage("delete", "done")
			r.SetTransferred(0)
			r.Finish(t0.Add(time.Second), true)
			return r
		}},
		{"run that failed before verifying", "diff-failed.prom", "", func() *Run {
			r := New("diff", t0)
			r.Finish(t0.Add(300*time.Millisecond), false)
			return r
		}},
		{"sync of one site of many", "sync-site.prom", "site-a", func() *Run {
			r := New("sync", t0)
			r.SetSite("site-a")
			r.SetLists(2, 0, 0)
			r.AddImage("create", "done")
			r.SetTransferred(1 << 20)
			r.Finish(t0.Add(90*time.Second), true)
			return r
		}},
		{"prune of one site of many", "prune-site.prom", "site-b", func() *Run {
			r := New("prune", t0)
			r.SetSite("site-b")
			r.AddImage("delete", "failed")
			r.SetTransferred(0)
			r.Finish(t0.Add(time.Second), false)
			return r
		}},
		{"site set to empty: no label", "diff-failed.prom", "", func() *Run {
			r := New("diff", t0)
			r.SetSite("")
			r.Finish(t0.Add(300*time.Millisecond), false)
			return r
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got bytes.Buffer
			if _, err := tt.record().WriteTo(&got); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", tt.golden)
			if *update {
				if err := os.WriteFile(path, got.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if got.String() != string(want) {
				t.Errorf("output differs from %s (go test -update to refresh):\n%s", path, got.String())
			}
			checkFormat(t, got.String(), tt.site)
		})
	}
}

// checkFormat is a small lint of the exposition format: every sample
// follows its HELP and TYPE lines, and carries the command label, and the
// site label first when site is set (and no site label when it is not).
func checkFormat(t *testing.T, text, site string) {
	t.Helper()
	typed := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		if rest, ok := strings.CutPrefix(line, "# TYPE "); ok {
			name, kind, _ := strings.Cut(rest, " ")
			if kind != "gauge" {
				t.Errorf("%s: type %q, want gauge", name, kind)
			}
			typed[name] = true
			continue
		}
		if strings.HasPrefix(line, "#") {
			continue
		}
		name, _, _ := strings.Cut(line, "{")
		if !typed[name] {
			t.Errorf("sample before its TYPE line: %q", line)
		}
		if !strings.Contains(line, `command="`) {
			t.Errorf("sample without a command label: %q", line)
		}
		if site != "" && !strings.HasPrefix(line, name+`{site="`+site+`",command="`) {
			t.Errorf("sample without the site label %q first: %q", site, line)
		}
		if site == "" && strings.Contains(line, `site="`) {
			t.Errorf("sample with a site label, none set: %q", line)
		}
		if strings.Count(line, " ") != 1 {
			t.Errorf("sample is not `name{labels} value`: %q", line)
		}
	}
}

func TestNilRunRecordsNothing(t *testing.T) {
	var r *Run
	r.SetSite("a")
	r.SetLists(1, 2, 3)
	r.AddImage("create", "done")
	r.SetTransferred(1)
	r.Finish(t0, true)
}

func TestLabelEscaping(t *testing.T) {
	if got, want := label("command", "a\"b\\c\nd"), `command="a\"b\\c\nd"`; got != want {
		t.Errorf("label = %s, want %s", got, want)
	}
	// A site name reaches the file through the same escaping.
	r := New("verify", t0)
	r.SetSite(`x"y`)
	var b bytes.Buffer
	if _, err := r.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	if want := `ck_last_run_success{site="x\"y",command="verify"} 0`; !strings.Contains(b.String(), want) {
		t.Errorf("output lacks %s:\n%s", want, b.String())
	}
}

func TestWriteFileReplacesAtomically(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ck-sync.prom")
	if err := os.WriteFile(path, []byte("previous run\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := New("sync", t0)
	r.Finish(t0.Add(time.Second), true)
	if err := r.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(got), `ck_last_run_success{command="sync"} 1`) {
		t.Errorf("file not replaced by this run:\n%s", got)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644 so node_exporter can read it", fi.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("directory holds %v, want only the metrics file (no temporary left behind)", names)
	}
}

func TestWriteFileFailureKeepsPreviousFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ck.prom")
	if err := os.WriteFile(path, []byte("previous run\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Renaming over a directory fails after the temporary file was written.
	blocker := filepath.Join(dir, "blocked.prom")
	if err := os.Mkdir(blocker, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(blocker, "x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	r := New("sync", t0)
	if err := r.WriteFile(blocker); err == nil {
		t.Fatal("WriteFile over a non-empty directory succeeded")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("a temporary file was left behind: %d entries", len(entries))
	}
	if err := r.WriteFile(filepath.Join(dir, "missing", "ck.prom")); err == nil {
		t.Error("WriteFile into a missing directory succeeded")
	}
	got, _ := os.ReadFile(path)
	if string(got) != "previous run\n" {
		t.Errorf("previous file changed: %q", got)
	}
}
