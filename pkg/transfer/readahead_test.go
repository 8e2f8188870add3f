package transfer

import (
	"bytes"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
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
		src     func() io.Reader
		size    int64
		sha     string
		wantErr bool
	}{
		{"good", func() io.Reader { return bytes.NewReader(data) }, int64(len(data)), good, false},
		{"good, one byte at a time", func() io.Reader { return iotest.OneByteReader(bytes.NewReader(data)) }, int64(len(data)), good, false},
		{"good, data with EOF", func() io.Reader { return iotest.DataErrReader(bytes.NewReader(data)) }, int64(len(data)), good, false},
		{"bad checksum", func() io.Reader { return bytes.NewReader(data) }, int64(len(data)), "00" + good[2:], true},
		{"short", func() io.Reader { return bytes.NewReader(data[:1000]) }, int64(len(data)), good, true},
		{"empty", func() io.Reader { return bytes.NewReader(nil) }, 0, hex.EncodeToString(func() []byte { s := sha512.Sum512(nil); return s[:] }()), false},
	}
	// An upload consumes the stream by WriteTo (net/http's io.Copy prefers
	// it), other consumers by Read: both must keep the guarantee.
	consumers := []struct {
		name    string
		consume func(io.Reader) ([]byte, error)
	}{
		{"Read", io.ReadAll},
		{"WriteTo", func(r io.Reader) ([]byte, error) {
			var b bytes.Buffer
			n, err := r.(io.WriterTo).WriteTo(&b)
			if n != int64(b.Len()) {
				return nil, fmt.Errorf("WriteTo reported %d bytes, wrote %d", n, b.Len())
			}
			return b.Bytes(), err
		}},
		{"Read, then WriteTo", func(r io.Reader) ([]byte, error) {
			head := make([]byte, 1000)
			n, err := io.ReadFull(r, head)
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				return head[:n], nil // a clean end before 1000 bytes
			} else if err != nil {
				return head[:n], err
			}
			b := bytes.NewBuffer(head)
			_, err = r.(io.WriterTo).WriteTo(b)
			return b.Bytes(), err
		}},
	}
	for _, c := range consumers {
		for _, tt := range tests {
			t.Run(c.name+"/"+tt.name, func(t *testing.T) {
				v := NewVerifier(tt.src(), tt.size, tt.sha)
				ra := ReadAhead(io.NopCloser(v), nil, 3, 4096)
				defer ra.Close()
				got, err := c.consume(ra)
				if int64(len(got)) > tt.size {
					t.Errorf("consumer got %d bytes, more than the size %d", len(got), tt.size)
				}
				if tt.wantErr {
					var ve *VerifyError
					if !errors.As(err, &ve) {
						t.Fatalf("err = %v, want a VerifyError (never a clean end)", err)
					}
					return
				}
				if err != nil || !bytes.Equal(got, data[:tt.size]) {
					t.Fatalf("%d bytes, err %v", len(got), err)
				}
				// The stream's end is sticky.
				if n, err := ra.Read(make([]byte, 10)); n != 0 || err != io.EOF {
					t.Errorf("read after EOF = %d, %v", n, err)
				}
			})
		}
	}
}

// WriteTo hands each block on as the source delivered it, in one Write: an
// upload sends it as one chunk instead of re-cutting it into 32 KiB ones.
func TestReadAheadWriteToWholeBlocks(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 10000) // 160 000 bytes
	ra := ReadAhead(io.NopCloser(bytes.NewReader(data)), nil, 3, 4096)
	defer ra.Close()
	w := &recordingWriter{}
	n, err := ra.(io.WriterTo).WriteTo(w)
	if err != nil || n != int64(len(data)) || !bytes.Equal(w.data, data) {
		t.Fatalf("WriteTo = %d, %v; wrote %d bytes", n, err, len(w.data))
	}
	for i, size := range w.writes {
		if size != 4096 && i != len(w.writes)-1 {
			t.Fatalf("write %d of %d bytes, want whole 4096-byte blocks: %v", i, size, w.writes)
		}
	}
}

// A failing writer (Glance closed the connection) ends WriteTo with its
// error, and Close still stops the goroutine.
func TestReadAheadWriteToWriterFails(t *testing.T) {
	data := make([]byte, 100000)
	boom := errors.New("connection reset")
	tests := []struct {
		name string
		w    io.Writer
		want error
	}{
		{"error", &recordingWriter{failAfter: 3, err: boom}, boom},
		{"short write without error", &recordingWriter{failAfter: 3, short: true}, io.ErrShortWrite},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ra := ReadAhead(io.NopCloser(bytes.NewReader(data)), nil, 2, 4096)
			n, err := ra.(io.WriterTo).WriteTo(tt.w)
			if !errors.Is(err, tt.want) || n >= int64(len(data)) {
				t.Fatalf("WriteTo = %d, %v; want %v", n, err, tt.want)
			}
			if err := ra.Close(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// recordingWriter keeps what it is given and the size of each Write; after
// failAfter writes it fails with err, or takes half without an error (short).
type recordingWriter struct {
	data      []byte
	writes    []int
	failAfter int
	err       error
	short     bool
}

func (w *recordingWriter) Write(p []byte) (int, error) {
	if w.failAfter > 0 && len(w.writes) == w.failAfter {
		if w.short {
			return len(p) / 2, nil
		}
		return 0, w.err
	}
	w.writes = append(w.writes, len(p))
	w.data = append(w.data, p...)
	return len(p), nil
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
