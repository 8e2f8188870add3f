package transfer

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// HeadSize is how much of an image Detect wants to see: enough for an ISO
// 9660 volume descriptor at 32 KiB and for a vmdk's embedded descriptor.
const HeadSize = 64 << 10

// Format is what an image's first bytes say it is.
type Format struct {
	Name       string // qcow2, vmdk, vdi, vhdx, vhd, iso, raw, ova, gzip, xz, zstd, bzip2
	DiskFormat string // Glance disk_format; "" for a container or a compression wrapper
	// Version is the qcow2 version (2 or 3); 0 for other formats.
	Version int
	// Subformat is the vmdk create type from its descriptor, e.g.
	// streamOptimized or monolithicSparse.
	Subformat string
	// VirtualSize is the disk size in bytes the header declares; 0 when the
	// format does not say it in its first bytes (raw, vhdx, wrappers).
	VirtualSize int64
	// Problem says why a recognised disk still cannot go to Glance on its
	// own (a backing file, external extents); "" when it can.
	Problem string
}

// Uploadable reports whether the bytes can go to Glance unchanged.
func (f Format) Uploadable() bool { return f.DiskFormat != "" && f.Problem == "" }

// Compressed reports whether f is a compression wrapper that Decompress
// takes off.
func (f Format) Compressed() bool {
	switch f.Name {
	case "gzip", "xz", "zstd", "bzip2":
		return true
	}
	return false
}

// String names the format with its version or subformat, for logs.
func (f Format) String() string {
	switch {
	case f.Version > 0:
		return f.Name + " v" + strconv.Itoa(f.Version)
	case f.Subformat != "":
		return f.Name + " " + f.Subformat
	}
	return f.Name
}

// Detect names the format of an image from its first bytes (HeadSize of
// them when the image is that large). Anything unrecognised is raw: a raw
// disk has no signature of its own, and a raw disk without an MBR must not be
// mistaken for something else (cloudkeeper's file(1) did).
func Detect(head []byte) Format {
	at := func(off int, magic string) bool {
		return len(head) >= off+len(magic) && bytes.Equal(head[off:off+len(magic)], []byte(magic))
	}
	switch {
	case at(0, "QFI\xfb"):
		return qcow2Format(head)
	case at(0, "KDMV"):
		return vmdkSparse(head)
	case at(0, "COWD"):
		// ESX server sparse (vmdk version 3): self-contained, rare.
		f := Format{Name: "vmdk", DiskFormat: "vmdk", Subformat: "vmfsSparse"}
		if len(head) >= 12 {
			f.VirtualSize = int64(binary.LittleEndian.Uint32(head[8:12])) * 512
		}
		f.Problem = vmdkParentProblem(head)
		return f
	case at(0, "# Disk DescriptorFile"):
		// A bare descriptor names extents in other files: uploading it alone
		// would give Glance a disk with no data, and qemu-img (--convert-to)
		// would read files of the publisher's choosing on this host.
		return Format{Name: "vmdk", DiskFormat: "vmdk", Subformat: createType(head),
			Problem: "vmdk descriptor without its extents (the data is in other files" + extentList(vmdkExtents(cString(head))) + ")"}
	case len(head) >= 68 && binary.LittleEndian.Uint32(head[64:68]) == 0xbeda107f:
		f := Format{Name: "vdi", DiskFormat: "vdi"}
		if len(head) >= 376 {
			f.VirtualSize = int64(binary.LittleEndian.Uint64(head[368:376]))
		}
		return f
	case at(0, "vhdxfile"):
		return Format{Name: "vhdx", DiskFormat: "vhdx"}
	case at(0, "conectix"):
		// A dynamic VHD starts with a copy of its footer; a fixed one only
		// ends with it, and is detected as raw (which it also is).
		f := Format{Name: "vhd", DiskFormat: "vhd"}
		if len(head) >= 56 {
			f.VirtualSize = int64(binary.BigEndian.Uint64(head[48:56]))
		}
		return f
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
		f := Format{Name: "iso", DiskFormat: "iso"}
		if len(head) >= 32768+130 {
			blocks := binary.LittleEndian.Uint32(head[32768+80:])
			block := binary.LittleEndian.Uint16(head[32768+128:])
			f.VirtualSize = int64(blocks) * int64(block)
		}
		return f
	}
	return Format{Name: "raw", DiskFormat: "raw"}
}

// qcow2Format reads the qcow2 header: version, backing file, size.
func qcow2Format(head []byte) Format {
	f := Format{Name: "qcow2", DiskFormat: "qcow2"}
	if len(head) < 32 {
		f.Problem = "truncated qcow2 header"
		return f
	}
	be := binary.BigEndian
	f.Version = int(be.Uint32(head[4:8]))
	// A size beyond 2^56 (64 PiB) is a broken header, not a disk: leave it
	// unknown rather than ask Glance for an absurd min_disk.
	if size := be.Uint64(head[24:32]); size <= 1<<56 {
		f.VirtualSize = int64(size)
	}
	// qemu keeps the backing file name within the first cluster and at
	// most 1023 bytes long; other values are a broken header, left to qemu.
	if be.Uint64(head[8:16]) != 0 && be.Uint32(head[16:20]) > 0 && be.Uint32(head[16:20]) <= 1023 {
		// Glance would store it, but no server could boot it: the rest of
		// the disk is in a file ck does not have.
		f.Problem = "qcow2 with a backing file"
	}
	// Version 3 lists the features a reader must understand. The external
	// data file (bit 2) puts the disk's data in another file, named by the
	// image: a hypervisor would open a path of the publisher's choosing
	// (CVE-2024-32498). Unknown bits mean qemu itself would refuse it.
	if f.Version == 3 && len(head) >= 80 {
		const dirty, corrupt, dataFile, compression, extendedL2 = 1 << 0, 1 << 1, 1 << 2, 1 << 3, 1 << 4
		switch inc := be.Uint64(head[72:80]); {
		case inc&dataFile != 0:
			f.Problem = "qcow2 with an external data file"
		case inc&^(dirty|corrupt|compression|extendedL2) != 0:
			f.Problem = fmt.Sprintf("qcow2 with unknown incompatible features %#x", inc)
		}
	}
	if f.Version != 2 && f.Version != 3 {
		f.Problem = "qcow2 version " + strconv.Itoa(f.Version) + " (want 2 or 3)"
	}
	return f
}

// vmdkSparse reads a hosted sparse extent header (KDMV): the capacity, and
// the create type from the embedded descriptor, falling back on the
// header's compression flag when there is no descriptor. It sets Problem
// when the file could make qemu open another file: qemu follows the extents
// of the embedded descriptor when the header's capacity is 0, and a
// parentFileNameHint as a backing file (the CVE-2024-32498 class).
func vmdkSparse(head []byte) Format {
	f := Format{Name: "vmdk", DiskFormat: "vmdk"}
	if len(head) < 79 {
		f.Problem = "truncated vmdk header"
		return f
	}
	le := binary.LittleEndian
	capacity := le.Uint64(head[12:20])
	if capacity <= 1<<47 { // sectors: 64 PiB, as for qcow2; more is a broken header
		f.VirtualSize = int64(capacity) * 512
	}
	// qemu reads the descriptor from this sector up to the first NUL (at
	// most 1 MiB), whatever size the header gives it: so does ck.
	if descSector := le.Uint64(head[28:36]); descSector != 0 {
		desc, ok := embeddedDescriptor(head, descSector)
		if !ok {
			f.Problem = fmt.Sprintf("vmdk embedded descriptor at sector %d does not end within the first %d bytes, where ck checks it", descSector, HeadSize)
			return f
		}
		f.Subformat = createType(desc)
		if capacity == 0 {
			f.Problem = "vmdk header capacity 0 with an embedded descriptor, want a non-zero capacity: qemu would read the extents the descriptor names instead of the file itself" + extentList(vmdkExtents(desc))
			return f
		}
		if p := selfExtentProblem(vmdkExtents(desc)); p != "" {
			f.Problem = p
			return f
		}
	}
	if f.Subformat == "" {
		// Flag bit 16 (compressed grains) with deflate is what makes a
		// sparse extent stream-optimized.
		if le.Uint32(head[8:12])&(1<<16) != 0 && le.Uint16(head[77:79]) == 1 {
			f.Subformat = "streamOptimized"
		} else {
			f.Subformat = "monolithicSparse"
		}
	}
	f.Problem = vmdkParentProblem(head)
	return f
}

// embeddedDescriptor returns the descriptor text that starts at the given
// sector of head, up to its NUL. ok is false when it does not start in
// head, or runs to the end of a head that may not be the whole file.
func embeddedDescriptor(head []byte, sector uint64) (desc []byte, ok bool) {
	if sector >= uint64(len(head)/512) {
		return nil, false
	}
	desc = head[sector*512:]
	if i := bytes.IndexByte(desc, 0); i >= 0 {
		return desc[:i], true
	}
	return desc, len(head) < HeadSize
}

// vmdkParentOffset and vmdkParentSpan are where qemu looks for a sparse
// vmdk's parentFileNameHint: the 20 sectors after the header, whatever the
// header says of its descriptor.
const vmdkParentOffset, vmdkParentSpan = 512, 20 * 512

// vmdkParentProblem reports a parentFileNameHint where qemu would find it:
// the disk would be a delta whose base is a file of the publisher's choosing.
func vmdkParentProblem(head []byte) string {
	if len(head) <= vmdkParentOffset {
		return ""
	}
	area := cString(head[vmdkParentOffset:min(len(head), vmdkParentOffset+vmdkParentSpan)])
	i := bytes.Index(area, []byte("parentFileNameHint"))
	if i < 0 {
		return ""
	}
	// The name qemu would take is the quoted value after the key.
	parent, _, _ := strings.Cut(string(area[i:]), "\n")
	if _, v, ok := strings.Cut(parent, `"`); ok {
		parent, _, _ = strings.Cut(v, `"`)
	}
	return fmt.Sprintf("vmdk with a parent disk: parentFileNameHint %q, want none (the disk's base would be a file of the publisher's choosing)", parent)
}

// cString returns b up to its first NUL.
func cString(b []byte) []byte {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return b[:i]
	}
	return b
}

var createTypeRE = regexp.MustCompile(`(?m)^\s*createType\s*=\s*"?([A-Za-z0-9]+)"?`)

// createType returns the createType of a vmdk descriptor, or "".
func createType(desc []byte) string {
	if m := createTypeRE.FindSubmatch(cString(desc)); m != nil {
		return string(m[1])
	}
	return ""
}

// vmdkExtent is one extent line of a vmdk descriptor, e.g.
// RW 2048 SPARSE "disk.vmdk" or RW 2048 FLAT "/etc/hostname" 0.
type vmdkExtent struct {
	Type string // SPARSE, FLAT, ZERO, VMFS, …; "" when the line has none
	File string // the file named, unquoted; "" for a ZERO extent
}

// vmdkExtents returns the extent lines of a descriptor: those whose first
// word is an access mode. Anything qemu might take for an extent is
// listed, malformed or not, so that nothing hides from the check.
func vmdkExtents(desc []byte) []vmdkExtent {
	var extents []vmdkExtent
	for _, line := range strings.Split(string(desc), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		switch fields[0] {
		case "RW", "RDONLY", "NOACCESS":
		default:
			continue
		}
		var e vmdkExtent
		if len(fields) > 2 {
			e.Type = fields[2]
		}
		if i := strings.IndexByte(line, '"'); i >= 0 {
			name := line[i+1:]
			if j := strings.IndexByte(name, '"'); j >= 0 {
				name = name[:j]
			}
			e.File = name
		} else if len(fields) > 3 {
			e.File = fields[3]
		}
		extents = append(extents, e)
	}
	return extents
}

// selfExtentProblem accepts the extents of a descriptor embedded in a
// sparse extent when they name nothing but that extent: at most one, of
// type SPARSE, whose file is a bare name (qemu-img and VMware write the
// file's own base name).
func selfExtentProblem(extents []vmdkExtent) string {
	switch {
	case len(extents) == 0:
		return ""
	case len(extents) > 1:
		return fmt.Sprintf("vmdk descriptor names %d extents, want one SPARSE extent: the file itself%s", len(extents), extentList(extents))
	}
	e := extents[0]
	if e.Type != "SPARSE" || e.File == "" || e.File == "." || e.File == ".." || strings.ContainsAny(e.File, "/\\") {
		return fmt.Sprintf("vmdk descriptor names %s extent %q, want one SPARSE extent: the file itself", orNone(e.Type), e.File)
	}
	return ""
}

// extentList renders extents for a Problem: `: FLAT "/etc/hostname", …`.
func extentList(extents []vmdkExtent) string {
	if len(extents) == 0 {
		return ""
	}
	parts := make([]string, len(extents))
	for i, e := range extents {
		parts[i] = fmt.Sprintf("%s %q", orNone(e.Type), e.File)
	}
	return ": " + strings.Join(parts, ", ")
}

func orNone(s string) string {
	if s == "" {
		return "(no type)"
	}
	return s
}
