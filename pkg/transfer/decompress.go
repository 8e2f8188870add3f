package transfer

import (
	"compress/bzip2"
	"compress/gzip"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// The bound on decompression, when the caller gives none: an image may
// expand to DefaultExpandRatio times its compressed size, and always to
// DefaultExpandFloor. Sparse raw disks compress far better than the ratio
// (gzip tops out near 1000:1), hence the floor; the bound is there because
// the compressed bytes are only verified at their end, so a decompression
// bomb from a tampered server must not fill Glance's store first.
const (
	DefaultExpandRatio = 100
	DefaultExpandFloor = 64 << 30
)

// zstdMaxMemory bounds the zstd decoder's window: images are compressed
// with ordinary levels, whose windows are a few MiB to 128 MiB.
const zstdMaxMemory = 512 << 20

// ExpandLimit is the default bound on what compressed bytes of the given
// size may expand to.
func ExpandLimit(compressed int64) int64 {
	if compressed > (1<<62)/DefaultExpandRatio {
		return 1 << 62
	}
	return max(compressed*DefaultExpandRatio, DefaultExpandFloor)
}

// ExpandError is a decompressed stream that outgrew its bound.
type ExpandError struct {
	Name   string // the image, as Source.Name
	Format string // gzip, xz, zstd, bzip2
	Limit  int64
}

// Error renders "<name>: <format> expands beyond <limit> bytes (the decompression bound)".
func (e *ExpandError) Error() string {
	name := e.Name
	if name == "" {
		name = "image"
	}
	return fmt.Sprintf("%s: %s expands beyond %d bytes (the decompression bound)", name, e.Format, e.Limit)
}

// Decompress takes the compression wrapper f off r. The result yields at most
// limit bytes (an *ExpandError after that) and returns io.EOF only once r
// has been read to its own end, so a verifier under r has judged every
// compressed byte before the consumer sees the end. Close releases the
// decoder.
func Decompress(r io.Reader, f Format, limit int64, name string) (io.ReadCloser, error) {
	var (
		d     io.Reader
		close = func() {}
		err   error
	)
	switch f.Name {
	case "gzip":
		var z *gzip.Reader
		if z, err = gzip.NewReader(r); err == nil {
			d, close = z, func() { z.Close() }
		}
	case "bzip2":
		d = bzip2.NewReader(r)
	case "xz":
		// The guard checks each block's dictionary before the decoder
		// allocates it.
		d, err = xz.NewReader(newXZGuard(r, xzMaxDict, name))
	case "zstd":
		var z *zstd.Decoder
		// One goroutine and a bounded window: memory stays flat however
		// large the image.
		if z, err = zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true), zstd.WithDecoderMaxMemory(zstdMaxMemory)); err == nil {
			d, close = z, z.Close
		}
	default:
		return nil, fmt.Errorf("%s: %s is not a compression format", name, f.Name)
	}
	var de *DictError
	if errors.As(err, &de) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %s header: %w", name, f.Name, err)
	}
	return &expander{d: d, src: r, close: close, left: limit, err: &ExpandError{Name: name, Format: f.Name, Limit: limit}}, nil
}

// expander bounds a decoder's output and finishes its source at the end.
type expander struct {
	d, src io.Reader
	close  func()
	left   int64
	err    *ExpandError
	done   error
}

func (e *expander) Read(p []byte) (int, error) {
	if e.done != nil {
		return 0, e.done
	}
	// One byte past the bound tells an over-long stream from one that ends
	// exactly there.
	if int64(len(p)) > e.left+1 {
		p = p[:e.left+1]
	}
	n, err := e.d.Read(p)
	if int64(n) > e.left {
		n = int(e.left)
		e.done = e.err
		return n, e.done
	}
	e.left -= int64(n)
	switch {
	case err == io.EOF:
		e.done = drain(e.src)
		return n, e.done
	case err != nil:
		e.done = fmt.Errorf("%s: %s: %w", e.err.Name, e.err.Format, err)
		switch err.(type) {
		case *VerifyError, *DictError: // they name the image already
			e.done = err
		}
	}
	return n, e.done
}

func (e *expander) Close() error {
	e.close()
	return nil
}
