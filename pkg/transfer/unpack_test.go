package transfer

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"io"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"

	"github.com/ck-sync/ck/pkg/transfer/imagetest"
)

const testDiskSize = 64 << 20

func hexSum(b []byte) string {
	s := sha512.Sum512(b)
	return hex.EncodeToString(s[:])
}

// unpackAll unpacks data as a verified download declared with the given
// sha512 and reads the disk to its end.
func unpackAll(t *testing.T, data []byte, sha string, opts UnpackOptions) (*Disk, []byte, error) {
	t.Helper()
	if opts.Name == "" {
		opts.Name = "image T"
	}
	opts.Size = int64(len(data))
	d, err := Unpack(NewVerifier(bytes.NewReader(data), int64(len(data)), sha), opts)
	if err != nil {
		return nil, nil, err
	}
	defer d.Close()
	got, err := io.ReadAll(d)
	return d, got, err
}

// TestUnpackRealImages detects images made by qemu-img, tar and gzip, and
// checks that the disk read out of each is exactly the disk that went in.
func TestUnpackRealImages(t *testing.T) {
	imagetest.Need(t)
	dir := t.TempDir()
	raw := imagetest.Raw(t, dir, testDiskSize)
	qcow2 := imagetest.Convert(t, raw, "qcow2")
	qcow2v2 := imagetest.Convert(t, raw, "qcow2", "-o", "compat=0.10")
	stream := imagetest.Convert(t, raw, "vmdk", "-o", "subformat=streamOptimized")
	sparse := imagetest.Convert(t, raw, "vmdk", "-o", "subformat=monolithicSparse")
	vdi := imagetest.Convert(t, raw, "vdi")
	vhdx := imagetest.Convert(t, raw, "vhdx")
	vhd := imagetest.Convert(t, raw, "vpc")
	imagetest.Write(t, dir, "appliance.ovf", []byte(imagetest.OVF(testDiskSize, filepath.Base(stream))))
	ova := imagetest.OVA(t, dir, "appliance.ova", "appliance.ovf", filepath.Base(stream))
	gz := imagetest.Gzip(t, qcow2)
	ovagz := imagetest.Gzip(t, ova)

	tests := []struct {
		name, file, disk string // disk: the file whose bytes must come out
		format, source   string
		version          int
		subformat        string
		vsize            int64
	}{
		{"raw", raw, raw, "raw", "raw", 0, "", 0}, // raw has no header: its size is the file's
		{"qcow2 v3", qcow2, qcow2, "qcow2", "qcow2", 3, "", testDiskSize},
		{"qcow2 v2", qcow2v2, qcow2v2, "qcow2", "qcow2", 2, "", testDiskSize},
		{"vmdk streamOptimized", stream, stream, "vmdk", "vmdk", 0, "streamOptimized", testDiskSize},
		{"vmdk monolithicSparse", sparse, sparse, "vmdk", "vmdk", 0, "monolithicSparse", testDiskSize},
		{"vdi", vdi, vdi, "vdi", "vdi", 0, "", testDiskSize},
		{"vhdx", vhdx, vhdx, "vhdx", "vhdx", 0, "", 0}, // size is in the metadata region, not read
		{"vhd", vhd, vhd, "vhd", "vhd", 0, "", -1},     // CHS rounding: only > 0 is checked
		{"ova of streamOptimized vmdk", ova, stream, "vmdk", "ova+vmdk", 0, "streamOptimized", testDiskSize},
		{"gzip of qcow2", gz, qcow2, "qcow2", "gzip+qcow2", 3, "", testDiskSize},
		{"gzip of ova", ovagz, stream, "vmdk", "gzip+ova+vmdk", 0, "streamOptimized", testDiskSize},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := imagetest.Read(t, tt.file)
			d, got, err := unpackAll(t, data, hexSum(data), UnpackOptions{})
			if err != nil {
				t.Fatalf("unpack: %v", err)
			}
			f := d.Format
			if f.Name != tt.format || f.DiskFormat != tt.format || d.Source() != tt.source || f.Version != tt.version || f.Subformat != tt.subformat || !f.Uploadable() {
				t.Errorf("format %+v, source %s; want %s (v%d %q) from %s", f, d.Source(), tt.format, tt.version, tt.subformat, tt.source)
			}
			switch vs := d.VirtualSize(); {
			case tt.vsize == -1 && vs <= 0, tt.vsize >= 0 && vs != tt.vsize:
				t.Errorf("virtual size %d, want %d", vs, tt.vsize)
			}
			if want := imagetest.Read(t, tt.disk); !bytes.Equal(got, want) {
				t.Errorf("disk read out: %d bytes, sha512 %s; want %d bytes, sha512 %s", len(got), hexSum(got)[:16], len(want), hexSum(want)[:16])
			}
		})
	}
}

// TestUnpackNeverEndsOnBadBytes: the disk inside a compressed image or an
// OVA must not end cleanly when the download as a whole is wrong, even
// though the disk's own bytes are intact, so an upload fed from it aborts.
func TestUnpackNeverEndsOnBadBytes(t *testing.T) {
	imagetest.Need(t)
	dir := t.TempDir()
	raw := imagetest.Raw(t, dir, 8<<20)
	stream := imagetest.Convert(t, raw, "vmdk", "-o", "subformat=streamOptimized")
	imagetest.Write(t, dir, "a.ovf", []byte(imagetest.OVF(8<<20, filepath.Base(stream))))
	imagetest.Write(t, dir, "README", []byte("after the disk\n"))
	ova := imagetest.Read(t, imagetest.OVA(t, dir, "a.ova", "a.ovf", filepath.Base(stream), "README"))
	gz := imagetest.Read(t, imagetest.Gzip(t, imagetest.Convert(t, raw, "qcow2")))

	for name, data := range map[string][]byte{"ova": ova, "gzip": gz} {
		t.Run(name+" wrong sha512", func(t *testing.T) {
			_, _, err := unpackAll(t, data, strings.Repeat("0", 128), UnpackOptions{})
			var ve *VerifyError
			if !errors.As(err, &ve) || ve.Check != CheckSHA512 {
				t.Fatalf("err = %v, want a sha512 VerifyError", err)
			}
		})
		t.Run(name+" truncated", func(t *testing.T) {
			cut := data[:len(data)-700]
			d, err := Unpack(NewVerifier(bytes.NewReader(cut), int64(len(data)), hexSum(data)), UnpackOptions{Size: int64(len(data))})
			if err == nil {
				_, err = io.ReadAll(d)
			}
			if err == nil {
				t.Fatal("a truncated download read to a clean end")
			}
		})
	}
	t.Run("ova disk member tampered after verification point", func(t *testing.T) {
		// The trailing member is read after the disk: a bad byte there must
		// still fail the disk's end.
		bad := bytes.Clone(ova)
		i := bytes.Index(bad, []byte("after the disk"))
		bad[i] = 'A'
		_, _, err := unpackAll(t, bad, hexSum(ova), UnpackOptions{})
		var ve *VerifyError
		if !errors.As(err, &ve) {
			t.Fatalf("err = %v, want a VerifyError", err)
		}
	})
}

func TestOVARefusals(t *testing.T) {
	imagetest.Need(t)
	dir := t.TempDir()
	vmdk := imagetest.Read(t, imagetest.Convert(t, imagetest.Raw(t, dir, 1<<20), "vmdk", "-o", "subformat=streamOptimized"))
	ovf := func(hrefs ...string) []byte { return []byte(imagetest.OVF(1<<20, hrefs...)) }
	type M = imagetest.Member
	tests := []struct {
		name    string
		members []M
		want    string
	}{
		{"two disks", []M{{Name: "a.ovf", Data: ovf("d1.vmdk", "d2.vmdk")}, {Name: "d1.vmdk", Data: vmdk}, {Name: "d2.vmdk", Data: vmdk}}, "declares 2 disks"},
		{"no disk", []M{{Name: "a.ovf", Data: ovf()}, {Name: "d.vmdk", Data: vmdk}}, "declares no disk"},
		{"dot-dot member", []M{{Name: "a.ovf", Data: ovf("d.vmdk")}, {Name: "../evil", Data: []byte("x")}, {Name: "d.vmdk", Data: vmdk}}, `"../evil" has a ".." path element`},
		{"dot-dot member after the disk", []M{{Name: "a.ovf", Data: ovf("d.vmdk")}, {Name: "d.vmdk", Data: vmdk}, {Name: "x/../../evil", Data: []byte("x")}}, `".." path element`},
		{"dot-dot href", []M{{Name: "a.ovf", Data: ovf("../d.vmdk")}, {Name: "d.vmdk", Data: vmdk}}, `".." path element`},
		{"absolute member", []M{{Name: "a.ovf", Data: ovf("d.vmdk")}, {Name: "/etc/cron.d/evil", Data: []byte("x")}, {Name: "d.vmdk", Data: vmdk}}, "absolute path"},
		{"symlink member", []M{{Name: "a.ovf", Data: ovf("d.vmdk")}, {Name: "d.vmdk", Type: '2'}}, "not a regular file"},
		{"no OVF", []M{{Name: "d.vmdk", Data: vmdk}}, "want the OVF descriptor"},
		{"unparsable OVF", []M{{Name: "a.ovf", Data: []byte("<Envelope><References>")}, {Name: "d.vmdk", Data: vmdk}}, "cannot parse the descriptor"},
		{"disk member missing", []M{{Name: "a.ovf", Data: ovf("d.vmdk")}, {Name: "other.vmdk", Data: vmdk}}, `disk member "d.vmdk" named by the OVF descriptor is not in the OVA`},
		{"disk member twice", []M{{Name: "a.ovf", Data: ovf("d.vmdk")}, {Name: "d.vmdk", Data: vmdk}, {Name: "./d.vmdk", Data: vmdk}}, "appears twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := imagetest.Tar(t, tt.members...)
			_, _, err := unpackAll(t, data, hexSum(data), UnpackOptions{})
			if !errors.Is(err, ErrOVA) || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "image T: ") {
				t.Fatalf("err = %v, want ErrOVA naming the image and saying %q", err, tt.want)
			}
		})
	}
}

// TestDecompressFormats takes each wrapper off a qcow2, made with the
// system's tools where they exist and with the libraries otherwise.
func TestDecompressFormats(t *testing.T) {
	imagetest.Need(t)
	dir := t.TempDir()
	qcow2 := imagetest.Convert(t, imagetest.Raw(t, dir, 8<<20), "qcow2")
	want := imagetest.Read(t, qcow2)
	compress := map[string]func() []byte{
		"xz": func() []byte {
			var b bytes.Buffer
			w, _ := xz.NewWriter(&b)
			w.Write(want)
			w.Close()
			return b.Bytes()
		},
		"zstd": func() []byte {
			e, _ := zstd.NewWriter(nil)
			return e.EncodeAll(want, nil)
		},
		"bzip2": func() []byte {
			if _, err := exec.LookPath("bzip2"); err != nil {
				t.Skip("bzip2 not installed (Go has no bzip2 writer)")
			}
			return imagetest.Run(t, "bzip2", "-c", qcow2)
		},
		"gzip": func() []byte { return imagetest.Read(t, imagetest.Gzip(t, qcow2)) },
	}
	for name, make := range compress {
		t.Run(name, func(t *testing.T) {
			data := make()
			d, got, err := unpackAll(t, data, hexSum(data), UnpackOptions{})
			if err != nil || d.Source() != name+"+qcow2" || !bytes.Equal(got, want) {
				t.Fatalf("err %v, source %v, %d bytes (want %d)", err, d, len(got), len(want))
			}
		})
	}
}

func TestDecompressBound(t *testing.T) {
	var b bytes.Buffer
	z := gzip.NewWriter(&b)
	z.Write(make([]byte, 4<<20)) // 4 MiB of zeros: about 4 KiB compressed
	z.Close()
	data := b.Bytes()
	_, _, err := unpackAll(t, data, hexSum(data), UnpackOptions{MaxExpanded: 1 << 20})
	var ee *ExpandError
	if !errors.As(err, &ee) || ee.Limit != 1<<20 || ee.Format != "gzip" {
		t.Fatalf("err = %v, want an ExpandError at 1 MiB", err)
	}
	// Exactly at the bound is allowed.
	if _, got, err := unpackAll(t, data, hexSum(data), UnpackOptions{MaxExpanded: 4 << 20}); err != nil || len(got) != 4<<20 {
		t.Fatalf("at the bound: %d bytes, %v", len(got), err)
	}
	if got := ExpandLimit(1 << 30); got != 100<<30 {
		t.Errorf("ExpandLimit(1 GiB) = %d, want 100 GiB", got)
	}
	if got := ExpandLimit(1 << 20); got != DefaultExpandFloor {
		t.Errorf("ExpandLimit(1 MiB) = %d, want the floor", got)
	}
}

// TestOVAStreamsInBoundedMemory streams a 512 MiB OVA generated on the fly
// and checks that what it allocates does not grow with the image.
func TestOVAStreamsInBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 512 MiB")
	}
	const size = 512 << 20
	pr, pw := io.Pipe()
	go func() {
		tw := imagetestTarWriter(pw, size)
		pw.CloseWithError(tw)
	}()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	d, err := Unpack(pr, UnpackOptions{Name: "big"})
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.CopyBuffer(io.Discard, d, make([]byte, 256<<10))
	runtime.ReadMemStats(&after)
	if err != nil || n != size {
		t.Fatalf("read %d bytes, %v", n, err)
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("OVA of %d MiB streamed with %d KiB allocated in all (peak heap %d KiB)", size>>20, alloc>>10, after.HeapInuse>>10)
	if alloc > 8<<20 {
		t.Errorf("allocated %d bytes for a %d-byte OVA: memory grows with the image", alloc, size)
	}
}

// imagetestTarWriter writes an OVA whose disk is a qcow2 header followed by
// zeros, size bytes in all, without holding it in memory.
func imagetestTarWriter(w io.Writer, size int64) error {
	tw := tar.NewWriter(w)
	ovf := []byte(imagetest.OVF(size, "disk.qcow2"))
	if err := tw.WriteHeader(&tar.Header{Name: "a.ovf", Mode: 0o644, Size: int64(len(ovf))}); err != nil {
		return err
	}
	tw.Write(ovf)
	if err := tw.WriteHeader(&tar.Header{Name: "disk.qcow2", Mode: 0o644, Size: size}); err != nil {
		return err
	}
	head := []byte("QFI\xfb\x00\x00\x00\x03")
	if _, err := tw.Write(head); err != nil {
		return err
	}
	if _, err := io.CopyBuffer(tw, io.LimitReader(zeroReader{}, size-int64(len(head))), make([]byte, 256<<10)); err != nil {
		return err
	}
	return tw.Close()
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
