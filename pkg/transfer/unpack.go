package transfer

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
)

// maxLayers bounds the wrappers Unpack takes off (e.g. gzip, then OVA):
// a compressed OVA of a compressed disk is as deep as real images go.
const maxLayers = 3

// UnpackOptions tune Unpack.
type UnpackOptions struct {
	// Name says which image, for error messages.
	Name string
	// MaxExpanded bounds the bytes any decompression may yield; zero means
	// ExpandLimit(Size).
	MaxExpanded int64
	// Size is the declared size of the download, for the default bound.
	Size int64
}

// Disk is the disk image inside a download, ready to upload.
type Disk struct {
	// Reader yields the disk's bytes. It returns io.EOF only after the
	// whole download has been read and verified.
	io.Reader
	// Format is the disk's own format, from its own magic bytes.
	Format Format
	// Layers are the wrappers taken off, outermost first; empty when the
	// download is the disk itself.
	Layers []Format
	// OVA is what the OVF descriptor said of the disk, when there was one.
	OVA *OVADisk

	closers []func() error
}

// Unpacked reports whether the disk's bytes differ from the download's.
func (d *Disk) Unpacked() bool { return len(d.Layers) > 0 }

// Source names the download's format as the chain of its layers, e.g.
// "qcow2", "ova+vmdk", "gzip+qcow2".
func (d *Disk) Source() string {
	names := make([]string, 0, len(d.Layers)+1)
	for _, l := range d.Layers {
		names = append(names, l.Name)
	}
	return strings.Join(append(names, d.Format.Name), "+")
}

// VirtualSize is the disk's size in bytes as its header or the OVF says;
// 0 when unknown.
func (d *Disk) VirtualSize() int64 {
	if d.Format.VirtualSize > 0 {
		return d.Format.VirtualSize
	}
	if d.OVA != nil {
		return d.OVA.Capacity
	}
	return 0
}

// Close releases the decoders.
func (d *Disk) Close() error {
	var errs []error
	for _, c := range d.closers {
		errs = append(errs, c())
	}
	return errors.Join(errs...)
}

// Unpack detects what r holds and takes off compression and the OVA
// container, on the stream, until a disk format is reached. It reads no
// more than the first HeadSize bytes of each layer before returning. r
// should be a verifying stream: every layer ends only after r has ended,
// so the disk's io.EOF means the download verified.
func Unpack(r io.Reader, opts UnpackOptions) (*Disk, error) {
	limit := opts.MaxExpanded
	if limit <= 0 {
		limit = ExpandLimit(opts.Size)
	}
	d := &Disk{}
	cur := r
	// What the current layer can hold at most, for the OVA's member check.
	src := OVASource{Bytes: opts.Size, What: fmt.Sprintf("the %d bytes of the whole download (hv:size)", opts.Size)}
	for {
		br := bufio.NewReaderSize(cur, HeadSize)
		head, err := br.Peek(HeadSize)
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
			d.Close()
			if opts.Name != "" && strings.HasPrefix(err.Error(), opts.Name+": ") {
				return nil, err // a refusal that names the image already
			}
			return nil, fmt.Errorf("read image header: %w", err)
		}
		f := Detect(head)
		if f.DiskFormat != "" {
			d.Reader, d.Format = br, f
			return d, nil
		}
		if len(d.Layers) == maxLayers {
			d.Close()
			return nil, fmt.Errorf("%s: more than %d layers of wrapping (%s+%s)", opts.Name, maxLayers, d.Source(), f.Name)
		}
		switch {
		case f.Compressed():
			rc, err := Decompress(br, f, limit, opts.Name)
			if err != nil {
				d.Close()
				return nil, err
			}
			d.closers = append(d.closers, rc.Close)
			cur = rc
			src = OVASource{Bytes: limit, What: fmt.Sprintf("the %d bytes the decompression bound allows", limit)}
		case f.Name == "ova":
			if d.OVA != nil {
				d.Close()
				return nil, fmt.Errorf("%s: %w: an OVA inside an OVA", opts.Name, ErrOVA)
			}
			rd, disk, err := OpenOVA(br, opts.Name, src)
			if err != nil {
				d.Close()
				return nil, err
			}
			// The member check keeps the disk within src; the bound is
			// there in case archive/tar ever yields more than it declared.
			bound := limit
			if src.Bytes > 0 {
				bound = min(bound, src.Bytes)
			}
			d.OVA, cur = &disk, bounded(rd, bound, opts.Name, f.Name)
		default:
			d.Close()
			return nil, fmt.Errorf("%s: format %s cannot be unpacked", opts.Name, f.Name)
		}
		d.Layers = append(d.Layers, f)
	}
}

// bounded passes r through up to limit bytes, then fails with an
// *ExpandError naming format. Other errors and io.EOF pass as they are.
func bounded(r io.Reader, limit int64, name, format string) io.Reader {
	return &boundedReader{r: r, left: limit, err: &ExpandError{Name: name, Format: format, Limit: limit}}
}

type boundedReader struct {
	r    io.Reader
	left int64
	err  *ExpandError
}

func (b *boundedReader) Read(p []byte) (int, error) {
	// One byte past the bound tells an over-long stream from one that ends
	// exactly there.
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.r.Read(p)
	if int64(n) > b.left {
		n = int(b.left)
		b.left = 0
		return n, b.err
	}
	b.left -= int64(n)
	return n, err
}
