package transfer

import (
	"bytes"
	"crypto/sha512"
	"encoding/hex"
	"io"
	"net/http"
	"runtime"
	"testing"
)

// patternServer serves size bytes made of one repeated block, so a large
// image costs the test no memory; it returns the image's sha512.
func patternServer(t testing.TB, size int64) (*server, string) {
	block, _ := testImage(1 << 20)
	h := sha512.New()
	for left := size; left > 0; left -= int64(len(block)) {
		h.Write(block[:min(left, int64(len(block)))])
	}
	s := newServer(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		w.Header().Set("Content-Length", itoa(int(size)))
		for left := size; left > 0; left -= int64(len(block)) {
			if _, err := w.Write(block[:min(left, int64(len(block)))]); err != nil {
				return
			}
		}
	})
	return s, hex.EncodeToString(h.Sum(nil))
}

// onlyWriter hides io.Discard's ReadFrom, so copies use the caller's buffer
// size, as an upload body would.
type onlyWriter struct{ io.Writer }

// The download allocates a bounded amount whatever the image size: nothing
// in it grows with the bytes.
func TestOpenMemoryBounded(t *testing.T) {
	const size = 32 << 20
	s, sum := patternServer(t, size)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	res := fetch(t.Context(), Source{URL: s.URL, Size: size, SHA512: sum}, fastOptions())
	runtime.ReadMemStats(&after)
	if res.err != nil || res.n != size {
		t.Fatalf("%d bytes, err %v", res.n, res.err)
	}
	// Client and server together, for 32 MiB through them.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4<<20 {
		t.Errorf("allocated %d KiB for a %d MiB image", alloc>>10, size>>20)
	}
}

func BenchmarkVerifier(b *testing.B) {
	data, sum := testImage(16 << 20)
	buf := make([]byte, 256<<10)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		v := NewVerifier(bytes.NewReader(data), int64(len(data)), sum)
		if _, err := io.CopyBuffer(onlyWriter{io.Discard}, v, buf); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen(b *testing.B) {
	const size = 64 << 20
	s, sum := patternServer(b, size)
	src := Source{URL: s.URL, Size: size, SHA512: sum}
	buf := make([]byte, 256<<10)
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		rc, err := Open(b.Context(), src, fastOptions())
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.CopyBuffer(onlyWriter{io.Discard}, rc, buf); err != nil {
			b.Fatal(err)
		}
		rc.Close()
	}
}
