package transfer

import (
	"bytes"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"io"
	"sync"
	"testing"
	"testing/iotest"
)

func TestReadAhead(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 100000) // 1.6 MB
	sum := sha512.Sum512(data)
	good := hex.EncodeToString(sum[:])
	tests := []struct {
		name    string
		src     io.Reader
		size    int64
		sha     string
		wantErr bool
	}{
		{"good", bytes.NewReader(data), int64(len(data)), good, false},
		{"good, one byte at a time", iotest.OneByteReader(bytes.NewReader(data)), int64(len(data)), good, false},
		{"good, data with EOF", iotest.DataErrReader(bytes.NewReader(data)), int64(len(data)), good, false},
		{"bad checksum", bytes.NewReader(data), int64(len(data)), "00" + good[2:], true},
		{"short", bytes.NewReader(data[:1000]), int64(len(data)), good, true},
		{"empty", bytes.NewReader(nil), 0, hex.EncodeToString(func() []byte { s := sha512.Sum512(nil); return s[:] }()), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := NewVerifier(tt.src, tt.size, tt.sha)
			ra := ReadAhead(io.NopCloser(v), nil, 3, 4096)
			defer ra.Close()
			got, err := io.ReadAll(ra)
			if tt.wantErr {
				var ve *VerifyError
				if !errors.As(err, &ve) {
					t.Fatalf("err = %v, want a VerifyError (never a clean EOF)", err)
				}
				return
			}
			if err != nil || !bytes.Equal(got, data[:tt.size]) {
				t.Fatalf("ReadAll: %d bytes, err %v", len(got), err)
			}
			// The stream's end is sticky.
			if n, err := ra.Read(make([]byte, 10)); n != 0 || err != io.EOF {
				t.Errorf("read after EOF = %d, %v", n, err)
			}
		})
	}
}

func TestReadAheadCloseMidStream(t *testing.T) {
	pr, pw := io.Pipe()
	go pw.Write(make([]byte, 10000)) // then blocks: the producer stalls
	ra := ReadAhead(&notConcurrent{r: pr}, func() { pr.CloseWithError(errors.New("aborted")) }, 2, 4096)
	if _, err := io.ReadFull(ra, make([]byte, 4096)); err != nil {
		t.Fatal(err)
	}
	if err := ra.Close(); err != nil { // must not hang on the stalled producer
		t.Fatal(err)
	}
}

func BenchmarkReadAhead(b *testing.B) {
	data := make([]byte, 64<<20)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		ra := ReadAhead(io.NopCloser(bytes.NewReader(data)), nil, 8, 256<<10)
		if _, err := io.Copy(io.Discard, ra); err != nil {
			b.Fatal(err)
		}
		ra.Close()
	}
}

// notConcurrent fails the test run (under -race, and by its own check) if
// Close overlaps a Read, as the download stream does not allow it.
type notConcurrent struct {
	r      io.ReadCloser
	mu     sync.Mutex
	inRead bool
}

func (n *notConcurrent) Read(p []byte) (int, error) {
	n.mu.Lock()
	n.inRead = true
	n.mu.Unlock()
	defer func() { n.mu.Lock(); n.inRead = false; n.mu.Unlock() }()
	return n.r.Read(p)
}

func (n *notConcurrent) Close() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.inRead {
		panic("Close while a Read is in progress")
	}
	return n.r.Close()
}

func TestReadAheadReadAfterClose(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	ra := ReadAhead(&notConcurrent{r: pr}, func() { pr.CloseWithError(errors.New("aborted")) }, 2, 4096)
	done := make(chan error, 1)
	go func() { _, err := ra.Read(make([]byte, 10)); done <- err }() // blocks: no data yet
	ra.Close()
	if err := <-done; err == nil {
		t.Fatal("Read after Close returned no error")
	}
}
