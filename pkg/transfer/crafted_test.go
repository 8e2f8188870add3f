package transfer

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/ck-sync/ck/pkg/transfer/imagetest"
)

// Crafted disks (issue 11, item 4): inputs a publisher or a tampering
// mirror can make to get past ck's bounds or to make qemu read a file of
// their choosing. Each is built here, byte by byte.

// qcow2Head is the start of a 64 MiB qcow2 v3: enough for Detect to call
// the disk uploadable.
func qcow2Head() []byte {
	h := make([]byte, 512)
	copy(h, "QFI\xfb\x00\x00\x00\x03")
	binary.BigEndian.PutUint64(h[24:], 64<<20)
	return h
}

// TestOVARefusesSparseMembers: a sparse tar member stores a few bytes and
// reads out as gigabytes of zeros, past every bound that counts compressed
// bytes. Each encoding archive/tar expands is refused, before the disk is
// read, with the member, the encoding and both sizes named.
func TestOVARefusesSparseMembers(t *testing.T) {
	const realSize = 64 << 20
	for _, kind := range []imagetest.Sparse{imagetest.SparseOldGNU, imagetest.SparsePAX00, imagetest.SparsePAX01, imagetest.SparsePAX10} {
		t.Run(kind.String(), func(t *testing.T) {
			data := imagetest.SparseOVA(kind, "disk.qcow2", qcow2Head(), realSize)
			// A bound far below what the member expands to: before the fix
			// the OVA went past it, as the bound only watched decompressors.
			d, got, err := unpackAll(t, data, hexSum(data), UnpackOptions{MaxExpanded: 1 << 20})
			if !errors.Is(err, ErrOVA) {
				t.Fatalf("read %d bytes (%v), err = %v; want ErrOVA", len(got), d, err)
			}
			msg := err.Error()
			for _, want := range []string{"image T: ", `"disk.qcow2"`, "sparse", "67108864 bytes when read"} {
				if !strings.Contains(msg, want) {
					t.Errorf("err = %q, want it to say %q", msg, want)
				}
			}
		})
	}
	t.Run("sparse member after the disk", func(t *testing.T) {
		// A sparse member elsewhere in the OVA is refused too: no honest
		// appliance has one.
		data := imagetest.RawTar(imagetest.TarMember("a.ovf", []byte(imagetest.OVF(512, "disk.qcow2"))),
			imagetest.TarMember("disk.qcow2", qcow2Head()),
			imagetest.SparseMember(imagetest.SparsePAX01, "extra.bin", []byte("x"), 1<<30))
		_, _, err := unpackAll(t, data, hexSum(data), UnpackOptions{})
		if !errors.Is(err, ErrOVA) || !strings.HasPrefix(err.Error(), "image T: ") || !strings.Contains(err.Error(), `"extra.bin"`) || !strings.Contains(err.Error(), "sparse") {
			t.Fatalf("err = %v, want ErrOVA naming the sparse member", err)
		}
	})
}

// TestOVARefusesMemberLargerThanItsSource: a disk member cannot hold more
// bytes than the download (hv:size) or, inside a compressed OVA, than the
// decompression bound. The declared size is checked before the upload starts.
func TestOVARefusesMemberLargerThanItsSource(t *testing.T) {
	// The disk member's header claims 1 GiB; 512 bytes follow.
	ova := imagetest.RawTar(imagetest.TarMember("a.ovf", []byte(imagetest.OVF(1<<30, "disk.qcow2"))),
		append(imagetest.TarHeader("disk.qcow2", '0', 1<<30), qcow2Head()...))
	t.Run("plain OVA", func(t *testing.T) {
		_, _, err := unpackAll(t, ova, hexSum(ova), UnpackOptions{})
		want := `disk member "disk.qcow2" declares 1073741824 bytes, more than the ` + itoa(len(ova)) + " bytes of the whole download (hv:size)"
		if !errors.Is(err, ErrOVA) || !strings.Contains(err.Error(), want) || !strings.HasPrefix(err.Error(), "image T: ") {
			t.Fatalf("err = %v, want ErrOVA saying %q", err, want)
		}
	})
	t.Run("gzip of an OVA", func(t *testing.T) {
		var b bytes.Buffer
		z := gzip.NewWriter(&b)
		z.Write(ova)
		z.Close()
		data := b.Bytes()
		_, _, err := unpackAll(t, data, hexSum(data), UnpackOptions{MaxExpanded: 1 << 20})
		want := `disk member "disk.qcow2" declares 1073741824 bytes, more than the 1048576 bytes the decompression bound allows`
		if !errors.Is(err, ErrOVA) || !strings.Contains(err.Error(), want) {
			t.Fatalf("err = %v, want ErrOVA saying %q", err, want)
		}
	})
}

// TestBoundedReader is the bound on the OVA's disk reader, which the checks
// above keep out of reach: it is there in case archive/tar ever yields more
// than a member's declared size.
func TestBoundedReader(t *testing.T) {
	tests := []struct {
		name    string
		size    int
		limit   int64
		wantErr bool
	}{
		{"below", 100, 101, false},
		{"at the bound", 100, 100, false},
		{"one past", 101, 100, true},
		{"far past", 1 << 20, 100, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := bounded(bytes.NewReader(make([]byte, tt.size)), tt.limit, "image T", "ova")
			got, err := io.ReadAll(r)
			var ee *ExpandError
			switch {
			case tt.wantErr && (!errors.As(err, &ee) || ee.Limit != tt.limit || ee.Format != "ova" || int64(len(got)) != tt.limit):
				t.Errorf("read %d bytes, err = %v; want %d bytes then an ExpandError", len(got), err, tt.limit)
			case !tt.wantErr && (err != nil || len(got) != tt.size):
				t.Errorf("read %d bytes, err = %v; want all %d", len(got), err, tt.size)
			}
		})
	}
}

// TestVMDKExtentsRefused: a vmdk whose descriptor names any file but the
// extent itself is not uploadable, and the Problem names what it names
// (CVE-2024-32498: qemu-img on ck's host, or a hypervisor, would read it).
func TestVMDKExtentsRefused(t *testing.T) {
	const mib = 1 << 20
	desc := imagetest.Descriptor
	tests := []struct {
		name    string
		head    []byte
		problem []string // all in Problem; none: uploadable
	}{
		{"capacity 0, FLAT /etc/hostname", imagetest.VMDK(0, desc("monolithicFlat", `RW 1 FLAT "/etc/hostname" 0`)),
			[]string{"capacity 0", `FLAT "/etc/hostname"`}},
		{"capacity 0, SPARSE of another name", imagetest.VMDK(0, desc("monolithicSparse", `RW 2048 SPARSE "other.vmdk"`)),
			[]string{"capacity 0", `SPARSE "other.vmdk"`}},
		{"FLAT extent", imagetest.VMDK(mib, desc("monolithicSparse", `RW 2048 FLAT "/etc/hostname" 0`)),
			[]string{`names FLAT extent "/etc/hostname", want one SPARSE extent: the file itself`}},
		{"SPARSE extent with a path", imagetest.VMDK(mib, desc("monolithicSparse", `RW 2048 SPARSE "../../etc/shadow"`)),
			[]string{`SPARSE extent "../../etc/shadow"`}},
		{"absolute SPARSE extent", imagetest.VMDK(mib, desc("monolithicSparse", `RW 2048 SPARSE "/dev/sda"`)),
			[]string{`SPARSE extent "/dev/sda"`}},
		{"two extents", imagetest.VMDK(mib, desc("monolithicSparse", `RW 2048 SPARSE "d.vmdk"`, `RDONLY 2048 FLAT "/etc/passwd" 0`)),
			[]string{"names 2 extents", `FLAT "/etc/passwd"`}},
		{"ZERO extent", imagetest.VMDK(mib, desc("monolithicSparse", `RW 2048 ZERO`)),
			[]string{`ZERO extent ""`}},
		{"parent disk", imagetest.VMDK(mib, strings.Replace(desc("monolithicSparse", `RW 2048 SPARSE "d.vmdk"`), "parentCID=ffffffff", "parentCID=1\nparentFileNameHint=\"/etc/base.vmdk\"", 1)),
			[]string{`parent disk: parentFileNameHint "/etc/base.vmdk", want none`}},
		{"descriptor alone", []byte(desc("monolithicFlat", `RW 2048 FLAT "/etc/hostname" 0`)),
			[]string{"descriptor without its extents", `FLAT "/etc/hostname"`}},
		{"descriptor past the head", func() []byte {
			b := imagetest.VMDK(mib, "")
			binary.LittleEndian.PutUint64(b[28:], HeadSize/512+1)
			return append(b, make([]byte, 2*HeadSize)...)[:HeadSize]
		}(), []string{"does not end within the first 65536 bytes"}},
		{"descriptor with no end in the head", func() []byte {
			b := imagetest.VMDK(mib, "")
			return append(b[:512], bytes.Repeat([]byte("#"), HeadSize-512)...)
		}(), []string{"does not end within the first 65536 bytes"}},
		{"self SPARSE extent", imagetest.VMDK(mib, desc("monolithicSparse", `RW 2048 SPARSE "disk.vmdk"`)), nil},
		{"self SPARSE extent, streamOptimized", imagetest.VMDK(mib, desc("streamOptimized", `RW 2048 SPARSE "disk-s.vmdk"`)), nil},
		{"descriptor without extents", imagetest.VMDK(mib, desc("monolithicSparse")), nil},
		{"no descriptor, capacity 0", func() []byte {
			b := imagetest.VMDK(0, "")[:512]
			binary.LittleEndian.PutUint64(b[28:], 0)
			return b
		}(), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := Detect(tt.head)
			if f.Name != "vmdk" {
				t.Fatalf("Detect = %+v, want vmdk", f)
			}
			if len(tt.problem) == 0 {
				if !f.Uploadable() {
					t.Fatalf("Detect = %+v, want uploadable", f)
				}
				return
			}
			if f.Uploadable() {
				t.Fatalf("Detect = %+v: uploadable, want a problem saying %q", f, tt.problem)
			}
			for _, want := range tt.problem {
				if !strings.Contains(f.Problem, want) {
					t.Errorf("Problem = %q, want it to say %q", f.Problem, want)
				}
			}
		})
	}
}

// TestVMDKCapacityZeroIsReal shows that the crafted vmdk above is the
// threat, not a theory: qemu-img reads /etc/hostname through it.
func TestVMDKCapacityZeroIsReal(t *testing.T) {
	imagetest.Need(t)
	dir := t.TempDir()
	evil := imagetest.Write(t, dir, "evil.vmdk", imagetest.VMDK(0, imagetest.Descriptor("monolithicFlat", `RW 1 FLAT "/etc/hostname" 0`)))
	out := imagetest.Run(t, "qemu-img", "info", "--output=json", evil)
	if !bytes.Contains(out, []byte(`"filename": "/etc/hostname"`)) {
		t.Fatalf("qemu-img info does not follow the extent (fixed qemu?):\n%s", out)
	}
	if f := Detect(imagetest.Read(t, evil)); f.Uploadable() {
		t.Fatalf("Detect = %+v, want a problem", f)
	}
}

// TestXZRefusesLargeDictionary: the xz decoder allocates the dictionary a
// block header asks for before it decodes a byte; a 284-byte file can ask
// for 1.5 GiB (xz's own maximum) or 4 GiB. Blocks asking for more than
// xzMaxDict are refused before the decoder sees their header, with the
// block, the size asked for and the size allowed; memory stays small.
func TestXZRefusesLargeDictionary(t *testing.T) {
	small := imagetest.XZBlock{DictCode: 16, Data: qcow2Head()}
	tests := []struct {
		name   string
		blocks []imagetest.XZBlock
		want   string
	}{
		{"1.5 GiB", []imagetest.XZBlock{{DictCode: 37, Data: qcow2Head()}}, "xz block 1 needs a dictionary of 1536 MiB, more than the 512 MiB allowed"},
		{"4 GiB", []imagetest.XZBlock{{DictCode: 40, Data: qcow2Head()}}, "xz block 1 needs a dictionary of 4294967295 bytes (4096 MiB), more than the 512 MiB allowed"},
		{"second block", []imagetest.XZBlock{small, {DictCode: 38, Data: []byte("x")}}, "xz block 2 needs a dictionary of 2048 MiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := imagetest.XZ(tt.blocks...)
			var err error
			alloc := allocated(func() { _, _, err = unpackAll(t, data, hexSum(data), UnpackOptions{}) })
			t.Logf("%d-byte xz: %d KiB allocated", len(data), alloc>>10)
			var de *DictError
			if !errors.As(err, &de) || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "image T: ") {
				t.Fatalf("err = %v, want a DictError saying %q", err, tt.want)
			}
			if alloc > 16<<20 {
				t.Errorf("allocated %d MiB to refuse a %d-byte xz", alloc>>20, len(data))
			}
		})
	}
	t.Run("allowed dictionary", func(t *testing.T) {
		data := imagetest.XZ(small, imagetest.XZBlock{DictCode: 20, Data: []byte("tail")})
		_, got, err := unpackAll(t, data, hexSum(data), UnpackOptions{})
		if want := append(qcow2Head(), "tail"...); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("read %d bytes, %v; want the %d bytes stored", len(got), err, len(want))
		}
	})
}

// allocated returns the bytes the Go heap handed out while f ran.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}
