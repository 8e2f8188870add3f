package transfer

import (
	"encoding/binary"
	"testing"
)

func TestDetect(t *testing.T) {
	pad := func(off int, magic string) []byte {
		b := make([]byte, 64<<10)
		copy(b[off:], magic)
		return b
	}
	vdi := make([]byte, 512)
	copy(vdi, "<<< Oracle VM VirtualBox Disk Image >>>\n")
	vdi[64], vdi[65], vdi[66], vdi[67] = 0x7f, 0x10, 0xda, 0xbe
	tests := []struct {
		name       string
		head       []byte
		want       string
		uploadable bool
	}{
		{"qcow2", pad(0, "QFI\xfb\x00\x00\x00\x03"), "qcow2", true},
		{"vmdk sparse", pad(0, "KDMV"), "vmdk", true},
		{"vmdk descriptor alone", pad(0, "# Disk DescriptorFile\nversion=1"), "vmdk", false},
		{"vdi", vdi, "vdi", true},
		{"vhdx", pad(0, "vhdxfile"), "vhdx", true},
		{"vhd dynamic", pad(0, "conectix"), "vhd", true},
		{"iso", pad(32769, "CD001"), "iso", true},
		{"ova tar", pad(257, "ustar\x0000"), "ova", false},
		{"gzip", pad(0, "\x1f\x8b\x08"), "gzip", false},
		{"xz", pad(0, "\xfd7zXZ\x00"), "xz", false},
		{"zstd", pad(0, "\x28\xb5\x2f\xfd"), "zstd", false},
		{"bzip2", pad(0, "BZh91AY"), "bzip2", false},
		{"raw zeros", make([]byte, 64<<10), "raw", true},
		{"raw with MBR", pad(510, "\x55\xaa"), "raw", true},
		{"tiny", []byte("hi"), "raw", true},
		{"empty", nil, "raw", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := Detect(tt.head)
			if f.Name != tt.want || f.Uploadable() != tt.uploadable {
				t.Errorf("Detect = %+v, want %s (uploadable %v)", f, tt.want, tt.uploadable)
			}
		})
	}
}

func TestQcow2Features(t *testing.T) {
	header := func(version uint32, incompatible uint64) []byte {
		h := make([]byte, 104)
		copy(h, "QFI\xfb")
		binary.BigEndian.PutUint32(h[4:], version)
		binary.BigEndian.PutUint64(h[24:], 1<<26)
		binary.BigEndian.PutUint64(h[72:], incompatible)
		return h
	}
	tests := []struct {
		name    string
		head    []byte
		problem bool
	}{
		{"v3 plain", header(3, 0), false},
		{"v3 dirty and compressed", header(3, 1|8), false},
		{"v3 external data file", header(3, 4), true},
		{"v3 unknown feature", header(3, 1<<40), true},
		{"v2 ignores the v3 field", header(2, 4), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if f := Detect(tt.head); (f.Problem != "") != tt.problem {
				t.Fatalf("Detect = %+v, want a problem: %v", f, tt.problem)
			}
		})
	}
}
