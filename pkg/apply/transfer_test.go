package apply

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
)

// writeToGlance is the fake Glance consuming the upload body the way
// net/http does, by io.Copy (WriteTo when the body has it), and keeping the
// bodies it was given.
type writeToGlance struct {
	*fakeGlance
	bodies []io.Reader
}

func (g *writeToGlance) Upload(ctx context.Context, id string, body io.Reader) error {
	g.bodies = append(g.bodies, body)
	var got bytes.Buffer
	if _, err := io.Copy(&got, body); err != nil {
		// The request is aborted: the fake sees a failing body too.
		return g.fakeGlance.Upload(ctx, id, iotest.ErrReader(err))
	}
	return g.fakeGlance.Upload(ctx, id, &got)
}

func gzipped(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Each byte is hashed once per purpose: the bytes of an image sent as
// listed are covered by the list's sha512, verified on the download, so
// they are not hashed again; those of an unpacked image are, since Glance's
// hash is checked against them. Either way the body reaches Glance by
// WriteTo, and a wrong byte fails the upload.
func TestUploadHashesOnlyTransformedBytes(t *testing.T) {
	// Several read-ahead blocks, compressed or not: random after the header.
	disk := payload(3 << 20)
	_, _ = rand.NewChaCha8([32]byte{}).Read(disk[512:])
	gz := gzipped(t, disk)
	wrong := slices.Clone(disk)
	wrong[len(wrong)-1] ^= 1
	tests := []struct {
		name       string
		served     []byte
		declared   []byte
		wantHashed bool // a second sha512 over the bytes sent
		wantFail   string
	}{
		{name: "qcow2 as listed", served: disk, declared: disk},
		{name: "gzip, unpacked on the stream", served: gz, declared: gz, wantHashed: true},
		{name: "as listed, wrong last byte", served: wrong, declared: disk, wantFail: "sha512 mismatch"},
		{name: "as listed, one byte short", served: disk[:len(disk)-1], declared: disk, wantFail: "size mismatch"},
		// A valid gzip stream, but not the one listed: the list's check
		// fails the stream's last read.
		{name: "gzip, not the listed bytes", served: gz, declared: append(slices.Clone(gz[:len(gz)-1]), gz[len(gz)-1]^1), wantHashed: true, wantFail: "sha512 mismatch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := &writeToGlance{fakeGlance: newFake()}
			res := runWith(t, g, server{"http://x/i": tt.served}, Options{}, createChange("a", "http://x/i", tt.served, tt.declared))
			o := res.Outcomes[0]
			if len(g.bodies) != 1 {
				t.Fatalf("%d uploads, want 1 (outcome %+v)", len(g.bodies), o)
			}
			if _, ok := g.bodies[0].(io.WriterTo); !ok {
				t.Errorf("upload body %T has no WriteTo: the read-ahead's blocks would be copied again", g.bodies[0])
			}
			if _, hashed := g.bodies[0].(*sentReader); hashed != tt.wantHashed {
				t.Errorf("bytes sent hashed a second time: %v, want %v", hashed, tt.wantHashed)
			}
			if tt.wantFail != "" {
				if o.Status != Failed || o.Err == nil || !strings.Contains(o.Err.Error(), tt.wantFail) || len(g.images) != 0 {
					t.Fatalf("outcome %+v, images %v; want failed with %q and nothing left", o, g.images, tt.wantFail)
				}
				return
			}
			if o.Status != Done {
				t.Fatalf("outcome %+v", o)
			}
			if img := g.images[o.NewImage]; img.Status != "active" || img.Size != int64(len(disk)) || img.HashValue != sum(disk) {
				t.Errorf("Glance has %s, %d bytes, %.16s; want active, the disk's %d bytes and hash", img.Status, img.Size, img.HashValue, len(disk))
			}
		})
	}
}

// counter and sentReader count (and hash) exactly the bytes that pass,
// whether the consumer reads them or has them written.
func TestCountersSeeEveryByteOnce(t *testing.T) {
	data := payload(300 << 10)
	consumers := []struct {
		name string
		copy func(io.Writer, io.Reader) (int64, error)
	}{
		{"Read", func(w io.Writer, r io.Reader) (int64, error) { return io.Copy(w, struct{ io.Reader }{r}) }},
		{"WriteTo", func(w io.Writer, r io.Reader) (int64, error) { return r.(io.WriterTo).WriteTo(w) }},
	}
	for _, c := range consumers {
		t.Run(c.name, func(t *testing.T) {
			tr := &addRecorder{}
			cnt := &counter{r: iotest.HalfReader(bytes.NewReader(data)), t: tr}
			sent := newSent(cnt)
			var got bytes.Buffer
			n, err := c.copy(&got, sent)
			if err != nil || n != int64(len(data)) || !bytes.Equal(got.Bytes(), data) {
				t.Fatalf("copy = %d, %v; got %d bytes", n, err, got.Len())
			}
			if cnt.n.Load() != int64(len(data)) || tr.total != int64(len(data)) || sent.n.Load() != int64(len(data)) || sent.sum() != sum(data) {
				t.Errorf("counted %d, progress %d, sent %d (%.16s); want %d bytes, %.16s", cnt.n.Load(), tr.total, sent.n.Load(), sent.sum(), len(data), sum(data))
			}
		})
	}
	// What a failing writer did not take is not counted as sent.
	boom := errors.New("connection reset")
	sent := newSent(bytes.NewReader(data))
	if _, err := sent.WriteTo(&limitedWriter{left: 1000, err: boom}); !errors.Is(err, boom) || sent.n.Load() != 1000 {
		t.Errorf("after a failed write: err %v, %d bytes counted as sent; want 1000", err, sent.n.Load())
	}
}

// addRecorder is a progress.Transfer that sums what it is told.
type addRecorder struct{ total int64 }

func (a *addRecorder) Add(n int64) { a.total += n }
func (a *addRecorder) Done(error)  {}

// limitedWriter takes left bytes, then fails with err.
type limitedWriter struct {
	left int
	err  error
}

func (w *limitedWriter) Write(p []byte) (int, error) {
	if len(p) <= w.left {
		w.left -= len(p)
		return len(p), nil
	}
	n := w.left
	w.left = 0
	return n, w.err
}
