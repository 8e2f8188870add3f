package transfer

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// ConvertOptions tune Convert.
type ConvertOptions struct {
	// Target is the disk format wanted: raw or qcow2.
	Target  string
	QemuImg QemuImg
	// WorkDir holds the temporary files; "" means os.TempDir().
	WorkDir string
	// Name says which image, for error messages.
	Name string
	// SourceSize is the declared size of the download, for the first
	// free-space check.
	SourceSize int64
	// FreeSpace reports the bytes free at a directory; nil means statfs.
	FreeSpace func(dir string) (int64, error)
}

// Converted is a converted disk in a temporary file. Remove it when done.
type Converted struct {
	Path         string // the converted disk
	Size         int64  // its size in bytes
	Format       string // its disk format (the target)
	SourceFormat string // qemu-img's name of the source format
	VirtualSize  int64  // bytes, as qemu-img info says

	dir string
}

// Remove deletes the temporary directory and everything in it.
func (c *Converted) Remove() error { return os.RemoveAll(c.dir) }

// ParseTarget checks a --convert-to value: "", raw or qcow2.
func ParseTarget(s string) (string, error) {
	switch s {
	case "", "raw", "qcow2":
		return s, nil
	}
	return "", fmt.Errorf("must be raw or qcow2, not %q", s)
}

// Convert writes disk to a temporary directory under opts.WorkDir, checks it
// with `qemu-img info` (refusing backing files, external data files and
// external extents), and converts it to opts.Target with `qemu-img convert`.
// The disk is read to its end, so a verifying download has been judged
// before qemu-img sees a byte. Free space is checked before each write. On
// any failure, cancellation included, the directory is removed before
// Convert returns; on success the caller removes it with Remove.
func Convert(ctx context.Context, disk *Disk, opts ConvertOptions) (_ *Converted, err error) {
	if _, err := ParseTarget(opts.Target); err != nil || opts.Target == "" {
		return nil, fmt.Errorf("%s: convert: target format %q: must be raw or qcow2", opts.Name, opts.Target)
	}
	if _, err := opts.QemuImg.lookPath(); err != nil {
		return nil, fmt.Errorf("%s: convert to %s: %w", opts.Name, opts.Target, err)
	}
	if opts.FreeSpace == nil {
		opts.FreeSpace = freeSpace
	}
	work := opts.WorkDir
	if work == "" {
		work = os.TempDir()
	}
	fail := func(step string, err error) error {
		return fmt.Errorf("%s: convert %s to %s: %s: %w", opts.Name, disk.Source(), opts.Target, step, err)
	}
	// The source lands here first; the output may need the full virtual
	// size (raw), so ask for both where the header says it.
	need := opts.SourceSize + disk.VirtualSize()
	if disk.Unpacked() {
		need = max(opts.SourceSize, disk.VirtualSize()) + disk.VirtualSize()
	}
	if err := checkSpace(opts.FreeSpace, work, need); err != nil {
		return nil, fail("free space", err)
	}
	dir, err := os.MkdirTemp(work, "ck-convert-*")
	if err != nil {
		return nil, fail("work dir", err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
		}
	}()

	src := filepath.Join(dir, "source."+disk.Format.Name)
	if err := writeFile(ctx, src, disk); err != nil {
		return nil, fail("download", err)
	}
	info, err := opts.QemuImg.Info(ctx, src, disk.Format.DiskFormat)
	if err != nil {
		return nil, fail("inspect", err)
	}
	if ext := info.External(src); ext != "" {
		return nil, fail("inspect", fmt.Errorf("the image refers to a %s; only self-contained images are converted", ext))
	}
	if err := checkSpace(opts.FreeSpace, dir, info.VirtualSize); err != nil {
		return nil, fail("free space", err)
	}
	dst := filepath.Join(dir, "converted."+opts.Target)
	if err := opts.QemuImg.Convert(ctx, src, disk.Format.DiskFormat, dst, opts.Target); err != nil {
		return nil, fail("qemu-img convert", err)
	}
	// The source is no longer needed: give its space back before the upload.
	if err := os.Remove(src); err != nil {
		return nil, fail("remove source", err)
	}
	st, err := os.Stat(dst)
	if err != nil {
		return nil, fail("converted file", err)
	}
	return &Converted{Path: dst, Size: st.Size(), Format: opts.Target, SourceFormat: info.Format, VirtualSize: info.VirtualSize, dir: dir}, nil
}

// writeFile copies r into a new file at path, stopping when ctx ends.
func writeFile(ctx context.Context, path string, r io.Reader) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, ctxReader{ctx, r})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// ctxReader stops a copy when ctx ends, even from a reader that ignores it.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, context.Cause(c.ctx)
	}
	return c.r.Read(p)
}

// checkSpace fails when dir has less than need bytes free.
func checkSpace(free func(string) (int64, error), dir string, need int64) error {
	have, err := free(dir)
	if err != nil {
		return err
	}
	if have < need {
		return fmt.Errorf("%s has %d bytes free, need at least %d", dir, have, need)
	}
	return nil
}

// freeSpace is what an unprivileged process may still write at dir.
func freeSpace(dir string) (int64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, fmt.Errorf("statfs %s: %w", dir, err)
	}
	return int64(st.Bavail) * int64(st.Bsize), nil
}
