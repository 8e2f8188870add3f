package fetch_test

// ck fetch through the real command tree (root.Run), on the signed fixtures
// of testdata/signed (see its README).

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ck-sync/ck/pkg/cli/clitest"
	"github.com/ck-sync/ck/pkg/cli/cmdutil"
	"github.com/ck-sync/ck/pkg/cli/fetch"
	"github.com/ck-sync/ck/pkg/cli/root"
	"github.com/ck-sync/ck/pkg/imagelist"
)

const validID = "3f1b2c4d-8e9a-4b7c-a1d2-000000000001" // dc:identifier of valid.json

var signedDir, _ = filepath.Abs(filepath.Join("..", "..", "..", "testdata", "signed"))

func signed(name string) string { return filepath.Join(signedDir, name) }

// run runs `ck ARGS...` in-process with test streams and the tests' clock.
func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	streams, out, errOut := cmdutil.Test()
	f := &cmdutil.Factory{
		IO:       streams,
		Globals:  &cmdutil.Globals{},
		Redactor: &cmdutil.Redactor{},
		Now:      func() time.Time { return clitest.Now },
		Getenv:   func(string) string { return "" },
	}
	code = root.Run(context.Background(), f, args)
	return code, out.String(), errOut.String()
}

// document is `ck fetch -o json`.
type document struct {
	FormatVersion string `json:"format_version"`
	Lists         []struct {
		Source     string    `json:"source"`
		Error      string    `json:"error"`
		Bytes      int       `json:"bytes"`
		Envelope   string    `json:"envelope"`
		SavedTo    string    `json:"saved_to"`
		ID         string    `json:"id"`
		Title      string    `json:"title"`
		VO         string    `json:"vo"`
		EndorserDN string    `json:"endorser_dn"`
		EndorserCA string    `json:"endorser_ca"`
		Expires    time.Time `json:"expires"`
		Images     int       `json:"images"`
	} `json:"lists"`
}

func decode(t *testing.T, stdout string) document {
	t.Helper()
	var doc document
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatalf("stdout is not fetch's JSON document: %v\n%s", err, stdout)
	}
	return doc
}

func TestFetchText(t *testing.T) {
	code, stdout, stderr := run(t, "fetch", signed("valid.signed"), signed("garbage.signed"))
	if code != cmdutil.ExitPartial {
		t.Errorf("exit %d, want 3 (garbage.signed is no list)\n%s", code, stderr)
	}
	for _, want := range []string{
		signed("valid.signed") + "\n",
		"id           " + validID,
		"title        ck test list 001",
		"vo           vo.ck-test.example",
		"endorser     " + clitest.EndorserDN,
		"endorser CA  " + clitest.EndorserCA,
		"expires      2044-12-31T00:00:00Z",
		"images       2 (0 skipped)",
		"envelope     multipart, ",
		"(not verified: see ck verify)",
		signed("garbage.signed") + "\n",
		"error  envelope: ",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(stderr, `msg="list not read"`) {
		t.Errorf("stderr lacks the failure log line:\n%s", stderr)
	}
}

func TestFetchJSON(t *testing.T) {
	lists := []string{"valid.signed", "valid-pem.signed", "tampered.signed", "missing.signed"}
	args := []string{"fetch", "-o", "json"}
	for _, l := range lists {
		args = append(args, signed(l))
	}
	code, stdout, _ := run(t, args...)
	if code != cmdutil.ExitPartial {
		t.Errorf("exit %d, want 3 (one list missing)", code)
	}
	doc := decode(t, stdout)
	if doc.FormatVersion != "1" || len(doc.Lists) != len(lists) {
		t.Fatalf("format_version %q, %d lists", doc.FormatVersion, len(doc.Lists))
	}
	want := []struct{ envelope, id, err string }{
		{"multipart", validID, ""},
		{"pem", validID, ""},
		{"multipart", validID, ""}, // fetch does not verify: tampered bytes still describe a list
		{"", "", "no such file or directory"},
	}
	for i, l := range doc.Lists {
		if l.Source != signed(lists[i]) || l.Envelope != want[i].envelope || l.ID != want[i].id ||
			!strings.Contains(l.Error, want[i].err) || (want[i].err == "") != (l.Error == "") {
			t.Errorf("lists[%d] = %+v, want %s %+v", i, l, lists[i], want[i])
		}
	}
	if l := doc.Lists[0]; l.Images != 2 || l.EndorserDN != clitest.EndorserDN || l.Bytes == 0 || l.SavedTo != "" {
		t.Errorf("valid list = %+v", l)
	}
}

// TestFetchSave: --save writes each list's exact bytes, mode 0600, into a
// directory it creates (0700), and replaces a file of an earlier run.
func TestFetchSave(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "lists")
	lists := []string{signed("valid.signed"), signed("valid-der.signed")}
	for round := 1; round <= 2; round++ {
		code, stdout, stderr := run(t, append([]string{"fetch", "-o", "json", "--save", dir}, lists...)...)
		if code != cmdutil.ExitOK {
			t.Fatalf("round %d: exit %d\n%s", round, code, stderr)
		}
		doc := decode(t, stdout)
		for i, l := range doc.Lists {
			src, err := imagelist.ParseSource(lists[i])
			if err != nil {
				t.Fatal(err)
			}
			want := filepath.Join(dir, fetch.FileName(src))
			if l.SavedTo != want {
				t.Errorf("round %d: saved_to %q, want %q", round, l.SavedTo, want)
			}
			checkSaved(t, want, lists[i])
		}
		if round == 1 {
			// An earlier copy, world-readable and stale, is replaced.
			src, _ := imagelist.ParseSource(lists[0])
			stale := filepath.Join(dir, fetch.FileName(src))
			if err := os.WriteFile(stale, []byte("stale"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(stale, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("--save directory: %v, mode %v; want 0700", err, fi.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("%d files in %s, want 2 (no temporary file left)", len(entries), dir)
	}
}

func checkSaved(t *testing.T, path, from string) {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 {
		t.Errorf("%s: mode %v, want a regular file, 0600", path, fi.Mode())
	}
	got, _ := os.ReadFile(path)
	want, _ := os.ReadFile(from)
	if !bytes.Equal(got, want) {
		t.Errorf("%s does not hold the bytes of %s", path, from)
	}
}

// TestFetchSaveRefusesSymlink is issue 11 item 6: a symbolic link planted
// in the --save directory, under a list's file name, never redirects the
// write: the list is not saved (exit 3) and the link's target is untouched.
func TestFetchSaveRefusesSymlink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(target, []byte("precious"), 0o644); err != nil {
		t.Fatal(err)
	}
	list := signed("valid.signed")
	src, _ := imagelist.ParseSource(list)
	link := filepath.Join(dir, fetch.FileName(src))
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := run(t, "fetch", "-o", "json", "--save", dir, list)
	if code != cmdutil.ExitPartial {
		t.Errorf("exit %d, want 3\n%s", code, stderr)
	}
	doc := decode(t, stdout)
	if l := doc.Lists[0]; l.SavedTo != "" || !strings.Contains(l.Error, "save: "+link+" is a symbolic link; not following it") {
		t.Errorf("list = %+v; want a save error naming the link", l)
	}
	if got, _ := os.ReadFile(target); string(got) != "precious" {
		t.Errorf("the link's target was overwritten: %q", got)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link was replaced: %v %v", fi, err)
	}
	if fi, err := os.Stat(target); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("the link's target changed mode: %v", fi.Mode())
	}
}

// TestFetchSaveNameCollision is issue 11 item 6: two lists of one run whose
// names map to the same file: the first is saved, the second refused, and
// the file keeps the first list's bytes.
func TestFetchSaveNameCollision(t *testing.T) {
	work := t.TempDir()
	first := filepath.Join(work, "a", "b.list") // → …_a_b.list
	second := filepath.Join(work, "a_b.list")   // → …_a_b.list
	for path, from := range map[string]string{first: signed("valid.signed"), second: signed("valid-pem.signed")} {
		data, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	code, stdout, _ := run(t, "fetch", "-o", "json", "--save", dir, first, second)
	if code != cmdutil.ExitPartial {
		t.Errorf("exit %d, want 3", code)
	}
	doc := decode(t, stdout)
	src, _ := imagelist.ParseSource(first)
	path := filepath.Join(dir, fetch.FileName(src))
	if doc.Lists[0].SavedTo != path || doc.Lists[0].Error != "" {
		t.Errorf("first list = %+v, want saved to %s", doc.Lists[0], path)
	}
	want := "save: " + path + " already holds list " + first + " from this run; not overwriting it with this list"
	if l := doc.Lists[1]; l.SavedTo != "" || !strings.Contains(l.Error, want) {
		t.Errorf("second list = %+v; want error %q", l, want)
	}
	checkSaved(t, path, first)
	// The same list twice (two spellings) is no collision.
	code, _, stderr := run(t, "fetch", "--save", dir, first, "file://"+first)
	if code != cmdutil.ExitOK {
		t.Errorf("same list twice: exit %d\n%s", code, stderr)
	}
}
