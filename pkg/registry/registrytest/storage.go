package registrytest

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var digestRE = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// BlobPath returns the file in which the registry keeps the bytes of the
// blob digest ("sha256:<hex>"): distribution's filesystem driver stores
// them as is, so a test can alter them in place (same size) to make the
// registry serve content that no longer matches its digest. It panics on a
// malformed digest: that is a bug in the test.
func (r *Registry) BlobPath(digest string) string {
	if !digestRE.MatchString(digest) {
		panic("registrytest: BlobPath: not a sha256 digest: " + digest)
	}
	hex := strings.TrimPrefix(digest, "sha256:")
	return filepath.Join(r.StorageDir, "docker", "registry", "v2", "blobs", "sha256", hex[:2], hex, "data")
}

// CorruptBlob flips the bits of one byte in the middle of the stored blob,
// keeping its size: the registry still serves it under its digest, with
// the right Content-Length, but its sha256 no longer matches.
func (r *Registry) CorruptBlob(t testing.TB, digest string) {
	t.Helper()
	p := r.BlobPath(digest)
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		t.Fatalf("registry %s: blob %s: %v", r.Host, digest, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	off := fi.Size() / 2
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatalf("registry %s: blob %s: %v", r.Host, digest, err)
	}
	b[0] ^= 0xff
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatalf("registry %s: blob %s: %v", r.Host, digest, err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// BlobGETs counts the GET requests for REPO's blob digest in the registry's
// access log (full downloads and Range requests alike; HEADs do not count).
// The registry writes a line once a response is complete, which can be a
// moment after the client has read the last byte, so BlobGETs waits until
// the count stays the same for 100 ms (at most a second).
func (r *Registry) BlobGETs(t testing.TB, repo, digest string) int {
	t.Helper()
	needle := `"GET /v2/` + repo + `/blobs/` + digest + ` `
	n := r.countLines(t, needle)
	for range 10 {
		time.Sleep(100 * time.Millisecond)
		m := r.countLines(t, needle)
		if m == n {
			break
		}
		n = m
	}
	return n
}

// countLines counts the access-log lines that contain needle.
func (r *Registry) countLines(t testing.TB, needle string) int {
	t.Helper()
	f, err := os.Open(r.AccessLog)
	if err != nil {
		t.Fatalf("registry %s: access log: %v", r.Host, err)
	}
	defer f.Close()
	want := []byte(needle)
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if bytes.Contains(sc.Bytes(), want) {
			n++
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("registry %s: access log %s: %v", r.Host, r.AccessLog, err)
	}
	return n
}
