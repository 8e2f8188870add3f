package transfer

import (
	"bytes"
	"encoding/binary"
)

// Format is what an image's first bytes say it is.
type Format struct {
	Name       string // qcow2, vmdk, vdi, vhdx, vhd, iso, raw, ova, gzip, xz, zstd, bzip2
	DiskFormat string // Glance disk_format; "" when Glance cannot take it as is
}

// Uploadable reports whether the bytes can go to Glance unchanged. OVAs and
// compressed images need unpacking first (not done on this path).
func (f Format) Uploadable() bool { return f.DiskFormat != "" }

// Detect names the format of an image from its first bytes (at least 64 KiB
// when the image is that large; ISO 9660 is recognised at 32 KiB). Anything
// unrecognised is raw: a raw disk has no signature of its own.
func Detect(head []byte) Format {
	at := func(off int, magic string) bool {
		return len(head) >= off+len(magic) && bytes.Equal(head[off:off+len(magic)], []byte(magic))
	}
	switch {
	case at(0, "QFI\xfb"):
		return Format{Name: "qcow2", DiskFormat: "qcow2"}
	case at(0, "KDMV"), at(0, "COWD"), at(0, "# Disk DescriptorFile"):
		return Format{Name: "vmdk", DiskFormat: "vmdk"}
	case len(head) >= 68 && binary.LittleEndian.Uint32(head[64:68]) == 0xbeda107f:
		return Format{Name: "vdi", DiskFormat: "vdi"}
	case at(0, "vhdxfile"):
		return Format{Name: "vhdx", DiskFormat: "vhdx"}
	case at(0, "conectix"):
		// A dynamic VHD starts with a copy of its footer; a fixed one only
		// ends with it, and is detected as raw (which it also is).
		return Format{Name: "vhd", DiskFormat: "vhd"}
	case at(257, "ustar"):
		return Format{Name: "ova"}
	case at(0, "\x1f\x8b"):
		return Format{Name: "gzip"}
	case at(0, "\xfd7zXZ\x00"):
		return Format{Name: "xz"}
	case at(0, "\x28\xb5\x2f\xfd"):
		return Format{Name: "zstd"}
	case at(0, "BZh"):
		return Format{Name: "bzip2"}
	case at(32769, "CD001"):
		return Format{Name: "iso", DiskFormat: "iso"}
	}
	return Format{Name: "raw", DiskFormat: "raw"}
}
