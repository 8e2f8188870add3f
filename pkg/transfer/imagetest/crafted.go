package imagetest

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"strconv"
	"strings"
)

// The builders below write hostile inputs byte by byte, following the
// formats' specifications, because no ordinary tool makes them: Go's
// archive/tar writes no sparse member, qemu-img no vmdk of capacity 0, xz(1)
// refuses a dictionary past 1.5 GiB only at its very top.

// Sparse names a way a tar member can be sparse: stored as a few bytes, read
// out as a large file mostly of zeros.
type Sparse int

// The sparse encodings archive/tar's reader expands.
const (
	SparseOldGNU Sparse = iota + 1 // type 'S' with the map in the GNU header
	SparsePAX00                    // PAX GNU.sparse.offset/numbytes records
	SparsePAX01                    // PAX GNU.sparse.map record
	SparsePAX10                    // PAX GNU.sparse.major=1: the map in the data
)

// String names the encoding, for subtest names.
func (s Sparse) String() string {
	return map[Sparse]string{SparseOldGNU: "old GNU 'S'", SparsePAX00: "PAX 0.0", SparsePAX01: "PAX 0.1", SparsePAX10: "PAX 1.0"}[s]
}

// SparseOVA returns an OVA (descriptor, then disk) whose disk member is
// sparse in the given way: data is stored, and reading the member yields
// data followed by zeros up to realSize bytes. The descriptor declares a
// disk of realSize bytes.
func SparseOVA(kind Sparse, disk string, data []byte, realSize int64) []byte {
	return RawTar(TarMember("appliance.ovf", []byte(OVF(realSize, disk))), SparseMember(kind, disk, data, realSize))
}

// SparseMember returns the headers and data of a sparse tar member.
func SparseMember(kind Sparse, name string, data []byte, realSize int64) []byte {
	var b bytes.Buffer
	switch kind {
	case SparseOldGNU:
		h := TarHeader(name, 'S', int64(len(data)))
		copy(h[257:265], "ustar  \x00") // the GNU magic, under which the sparse fields exist
		copy(h[386:398], octal(0, 12))  // sparse[0].offset
		copy(h[398:410], octal(int64(len(data)), 12))
		copy(h[483:495], octal(realSize, 12)) // realsize
		b.Write(checksum(h))
		b.Write(pad512(data))
	case SparsePAX00, SparsePAX01:
		recs := [][2]string{{"GNU.sparse.size", strconv.FormatInt(realSize, 10)}, {"GNU.sparse.numblocks", "1"}}
		if kind == SparsePAX00 {
			recs = append(recs, [2]string{"GNU.sparse.offset", "0"}, [2]string{"GNU.sparse.numbytes", strconv.Itoa(len(data))})
		} else {
			recs = append(recs, [2]string{"GNU.sparse.major", "0"}, [2]string{"GNU.sparse.minor", "1"}, [2]string{"GNU.sparse.map", fmt.Sprintf("0,%d", len(data))})
		}
		b.Write(paxHeader(recs))
		b.Write(TarMember(name, data))
	case SparsePAX10:
		b.Write(paxHeader([][2]string{{"GNU.sparse.major", "1"}, {"GNU.sparse.minor", "0"},
			{"GNU.sparse.name", name}, {"GNU.sparse.realsize", strconv.FormatInt(realSize, 10)}}))
		// The map leads the data, in its own 512-byte blocks.
		b.Write(TarMember("GNUSparseFile.0/"+name, append(pad512([]byte(fmt.Sprintf("1\n0\n%d\n", len(data)))), data...)))
	default:
		panic("imagetest: unknown sparse kind")
	}
	return b.Bytes()
}

// TarMember returns a regular member: its ustar header and data, padded.
func TarMember(name string, data []byte) []byte {
	return append(TarHeader(name, '0', int64(len(data))), pad512(data)...)
}

// TarHeader returns a ustar header block for a member of the given type
// and size, with its checksum.
func TarHeader(name string, typeflag byte, size int64) []byte {
	h := make([]byte, 512)
	copy(h[0:100], name)
	copy(h[100:108], octal(0o644, 8))
	copy(h[108:116], octal(0, 8))
	copy(h[116:124], octal(0, 8))
	copy(h[124:136], octal(size, 12))
	copy(h[136:148], octal(1767225600, 12))
	h[156] = typeflag
	copy(h[257:265], "ustar\x0000")
	return checksum(h)
}

// RawTar concatenates members (a TarHeader and its data, or a TarMember)
// into an archive.
func RawTar(members ...[]byte) []byte {
	var b bytes.Buffer
	for _, m := range members {
		b.Write(pad512(m))
	}
	b.Write(make([]byte, 1024))
	return b.Bytes()
}

// paxHeader returns a PAX extended header member carrying recs.
func paxHeader(recs [][2]string) []byte {
	var body strings.Builder
	for _, r := range recs {
		// "<len> <key>=<value>\n", where <len> counts itself.
		rest := " " + r[0] + "=" + r[1] + "\n"
		n := len(rest) + 1
		for len(strconv.Itoa(n))+len(rest) != n {
			n++
		}
		body.WriteString(strconv.Itoa(n) + rest)
	}
	return append(TarHeader("PaxHeaders/disk", 'x', int64(body.Len())), pad512([]byte(body.String()))...)
}

func checksum(h []byte) []byte {
	copy(h[148:156], "        ")
	var sum int64
	for _, c := range h {
		sum += int64(c)
	}
	copy(h[148:156], octal(sum, 7)+"\x00")
	return h
}

// octal renders n as NUL-terminated octal in a field of width bytes.
func octal(n int64, width int) string {
	return fmt.Sprintf("%0*o", width-1, n) + "\x00"
}

func pad512(b []byte) []byte {
	if r := len(b) % 512; r != 0 {
		return append(bytes.Clone(b), make([]byte, 512-r)...)
	}
	return b
}

// VMDK returns a hosted sparse extent (KDMV) of capacity bytes whose
// descriptor, embedded at sector 1, is desc; there is no grain data. With
// capacity 0 qemu reads the disk from the extents desc names.
func VMDK(capacity int64, desc string) []byte {
	b := make([]byte, 512*21)
	le := binary.LittleEndian
	copy(b, "KDMV")
	le.PutUint32(b[4:], 1)                     // version
	le.PutUint32(b[8:], 3)                     // flags: valid newline test, redundant grain table
	le.PutUint64(b[12:], uint64(capacity/512)) // capacity, sectors
	le.PutUint64(b[20:], 128)                  // grain size, sectors
	le.PutUint64(b[28:], 1)                    // descriptor offset, sectors
	le.PutUint64(b[36:], 20)                   // descriptor size, sectors
	le.PutUint32(b[44:], 512)                  // grain table entries
	b[73], b[74], b[75], b[76] = '\n', ' ', '\r', '\n'
	copy(b[512:], desc)
	return b
}

// Descriptor renders a vmdk descriptor of the given create type with the
// extent lines given, e.g. `RW 2048 FLAT "/etc/hostname" 0`.
func Descriptor(createType string, extents ...string) string {
	return "# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\ncreateType=\"" + createType +
		"\"\n\n# Extent description\n" + strings.Join(extents, "\n") + "\n\n# The Disk Data Base\n#DDB\nddb.adapterType = \"ide\"\n"
}

// XZBlock is one block of an xz stream written by XZ.
type XZBlock struct {
	// DictCode is the LZMA2 dictionary size property: 0 is 4 KiB, 16 is
	// 1 MiB, 37 is 1.5 GiB (xz's largest), 40 is 4 GiB - 1.
	DictCode byte
	Data     []byte
}

// XZ writes an xz stream (CRC32 check) with the blocks given, each storing
// its data in LZMA2 uncompressed chunks: a real stream that any decoder
// reads, whose block headers ask for any dictionary size.
func XZ(blocks ...XZBlock) []byte {
	le := binary.LittleEndian
	flags := []byte{0, 1} // check: CRC32
	var b bytes.Buffer
	b.WriteString("\xfd7zXZ\x00")
	b.Write(flags)
	b.Write(le.AppendUint32(nil, crc32.ChecksumIEEE(flags)))
	var index [][2]uint64 // unpadded size, uncompressed size
	for _, blk := range blocks {
		start := b.Len()
		// Header: size, flags (one filter, no sizes), LZMA2 filter, padding, CRC32.
		hdr := []byte{(8+4)/4 - 1, 0, 0x21, 1, blk.DictCode, 0, 0, 0}
		b.Write(hdr)
		b.Write(le.AppendUint32(nil, crc32.ChecksumIEEE(hdr)))
		for i := 0; i < len(blk.Data); i += 64 << 10 {
			chunk := blk.Data[i:min(len(blk.Data), i+64<<10)]
			control := byte(2) // uncompressed, dictionary kept
			if i == 0 {
				control = 1 // uncompressed, dictionary reset
			}
			b.Write([]byte{control, byte((len(chunk) - 1) >> 8), byte(len(chunk) - 1)})
			b.Write(chunk)
		}
		b.WriteByte(0) // end of LZMA2
		unpadded := b.Len() - start
		b.Write(make([]byte, (4-unpadded%4)%4))
		b.Write(le.AppendUint32(nil, crc32.ChecksumIEEE(blk.Data)))
		index = append(index, [2]uint64{uint64(unpadded + 4), uint64(len(blk.Data))})
	}
	idx := []byte{0}
	idx = binary.AppendUvarint(idx, uint64(len(index)))
	for _, r := range index {
		idx = binary.AppendUvarint(idx, r[0])
		idx = binary.AppendUvarint(idx, r[1])
	}
	idx = append(idx, make([]byte, (4-len(idx)%4)%4)...)
	idx = le.AppendUint32(idx, crc32.ChecksumIEEE(idx))
	b.Write(idx)
	footer := le.AppendUint32(nil, uint32(len(idx)/4-1))
	footer = append(footer, flags...)
	b.Write(le.AppendUint32(nil, crc32.ChecksumIEEE(footer)))
	b.Write(footer)
	b.WriteString("YZ")
	return b.Bytes()
}
