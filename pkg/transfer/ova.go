package transfer

import (
	"archive/tar"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"strconv"
	"strings"
)

// ErrOVA is matched (errors.Is) by every refusal of an OVA's structure.
var ErrOVA = errors.New("unsupported OVA")

// maxOVF bounds the descriptor read into memory: real ones are a few KiB.
const maxOVF = 4 << 20

// OVADisk is what the OVF descriptor says of an OVA's one disk.
type OVADisk struct {
	Member   string // tar member holding the disk (References/File href)
	Size     int64  // the member's size in the tar
	Capacity int64  // DiskSection capacity in bytes; 0 when not given
	Format   string // the Disk's ovf:format URI, e.g. …vmdk.html#streamOptimized
}

// ovaRefusal wraps ErrOVA with the reason.
func ovaRefusal(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrOVA, fmt.Sprintf(format, a...))
}

// OpenOVA reads an OVA from r as a tar stream: the OVF descriptor (which
// must be the first member, as OVF requires for OVAs), then members up to
// the one disk the descriptor names, whose bytes the returned reader yields.
// When the disk ends, the reader reads the rest of the tar and then r to its
// end, checking the remaining members too, and only then returns io.EOF (or
// the error r ended with: a verifier under r has judged the whole OVA by
// then). Nothing but the descriptor is held in memory.
//
// Refused (errors.Is ErrOVA): no descriptor first, a descriptor that does
// not parse, no disk or several, a chunked disk, a member path that is
// absolute or has a ".." element, a link or device member, a sparse member
// (which archive/tar would expand to any size), a disk member that is
// missing, appears twice, or declares more bytes than src can hold.
//
// Errors start with name, the image.
func OpenOVA(r io.Reader, name string, src OVASource) (io.Reader, OVADisk, error) {
	rd, disk, err := openOVA(r, name, src)
	if err != nil {
		return nil, OVADisk{}, named(name, err)
	}
	return rd, disk, nil
}

// named puts the image first in an error, unless it is a *VerifyError,
// which names it already.
func named(name string, err error) error {
	if _, ok := err.(*VerifyError); ok || err == io.EOF {
		return err
	}
	return fmt.Errorf("%s: %w", name, err)
}

// OVASource says how many bytes the tar stream can hold at most, so that a
// disk member declaring more is refused before any of it is read.
type OVASource struct {
	// Bytes is the bound: the download's size when the OVA is the download
	// itself, the decompression bound when it comes out of a decompressor;
	// 0 when unknown.
	Bytes int64
	// What names the bound for the error, e.g. "the whole download (hv:size)".
	What string
}

func openOVA(r io.Reader, name string, src OVASource) (io.Reader, OVADisk, error) {
	tr := tar.NewReader(r)
	h, err := nextMember(tr)
	if err == io.EOF {
		return nil, OVADisk{}, ovaRefusal("empty tar: no OVF descriptor")
	}
	if err != nil {
		return nil, OVADisk{}, err
	}
	if !strings.HasSuffix(strings.ToLower(h.Name), ".ovf") {
		return nil, OVADisk{}, ovaRefusal("first member is %q, want the OVF descriptor (*.ovf)", h.Name)
	}
	desc, err := io.ReadAll(io.LimitReader(tr, maxOVF+1))
	if err != nil {
		return nil, OVADisk{}, err
	}
	if len(desc) > maxOVF {
		return nil, OVADisk{}, ovaRefusal("OVF descriptor %s is larger than %d bytes", h.Name, maxOVF)
	}
	disk, err := parseOVF(desc)
	if err != nil {
		return nil, OVADisk{}, fmt.Errorf("OVF descriptor %s: %w", h.Name, err)
	}
	for {
		h, err := nextMember(tr)
		if err == io.EOF {
			return nil, OVADisk{}, ovaRefusal("disk member %q named by the OVF descriptor is not in the OVA", disk.Member)
		}
		if err != nil {
			return nil, OVADisk{}, err
		}
		if path.Clean(h.Name) == disk.Member {
			disk.Size = h.Size
			if src.Bytes > 0 && h.Size > src.Bytes {
				return nil, OVADisk{}, ovaRefusal("disk member %q declares %d bytes, more than %s", disk.Member, h.Size, src.What)
			}
			return &ovaReader{tr: tr, src: r, member: disk.Member, name: name}, disk, nil
		}
	}
}

// nextMember returns the next regular file of tr, skipping directories and
// refusing unsafe paths, sparse members and link or device members.
func nextMember(tr *tar.Reader) (*tar.Header, error) {
	for {
		h, err := tr.Next()
		if err != nil {
			return nil, err
		}
		if err := safeMemberPath(h.Name); err != nil {
			return nil, err
		}
		if err := notSparse(h); err != nil {
			return nil, err
		}
		switch h.Typeflag {
		case tar.TypeReg:
			return h, nil
		case tar.TypeDir:
			continue
		default:
			return nil, ovaRefusal("member %q is not a regular file (tar type %q)", h.Name, h.Typeflag)
		}
	}
}

// notSparse refuses a sparse member. archive/tar expands one as it reads:
// the few bytes stored become as many zeros as the header says, so a 10 KiB
// OVA could yield a 100 GiB disk that no bound on the download or on
// decompression sees. Neither ovftool nor qemu-img nor tar without -S
// writes one into an OVA.
func notSparse(h *tar.Header) error {
	if h.Typeflag == tar.TypeGNUSparse {
		return ovaRefusal("member %q is a sparse file (GNU sparse type 'S', %d bytes when read), which can expand past every bound", h.Name, h.Size)
	}
	for k := range h.PAXRecords {
		if strings.HasPrefix(k, "GNU.sparse.") {
			return ovaRefusal("member %q is a sparse file (PAX GNU.sparse.* records, %d bytes when read), which can expand past every bound", h.Name, h.Size)
		}
	}
	return nil
}

// safeMemberPath refuses what could point outside the archive if anyone
// ever unpacked it, and what no honest OVA contains.
func safeMemberPath(name string) error {
	if name == "" {
		return ovaRefusal("member with an empty name")
	}
	if strings.HasPrefix(name, "/") || strings.HasPrefix(name, `\`) || (len(name) > 1 && name[1] == ':') {
		return ovaRefusal("member %q has an absolute path", name)
	}
	for _, el := range strings.FieldsFunc(name, func(r rune) bool { return r == '/' || r == '\\' }) {
		if el == ".." {
			return ovaRefusal("member %q has a \"..\" path element", name)
		}
	}
	return nil
}

// ovaReader yields the disk member and finishes the whole OVA at its end.
type ovaReader struct {
	tr     *tar.Reader
	src    io.Reader
	member string
	name   string
	done   error
}

func (o *ovaReader) Read(p []byte) (int, error) {
	if o.done != nil {
		return 0, o.done
	}
	n, err := o.tr.Read(p)
	if err == io.EOF {
		o.done = o.finish()
		if o.done != io.EOF {
			o.done = named(o.name, o.done)
		}
		return n, o.done
	}
	if err != nil {
		o.done = named(o.name, err)
	}
	return n, o.done
}

// finish reads the members after the disk, then the tar's padding, so the
// source reaches its end (and its verdict) before the disk's EOF is passed on.
func (o *ovaReader) finish() error {
	for {
		h, err := nextMember(o.tr)
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if path.Clean(h.Name) == o.member {
			return ovaRefusal("disk member %q appears twice", o.member)
		}
	}
	return drain(o.src)
}

// drain reads r to its end and returns io.EOF when it ended cleanly.
func drain(r io.Reader) error {
	if _, err := io.Copy(io.Discard, r); err != nil {
		return err
	}
	return io.EOF
}

// The parts of an OVF envelope ck reads. Tags carry no namespace, so both
// OVF 1.x and 2.x envelopes match.
type ovfEnvelope struct {
	XMLName xml.Name  `xml:"Envelope"`
	Files   []ovfFile `xml:"References>File"`
	Disks   []ovfDisk `xml:"DiskSection>Disk"`
}

type ovfFile struct {
	ID          string `xml:"id,attr"`
	Href        string `xml:"href,attr"`
	Size        string `xml:"size,attr"`
	Compression string `xml:"compression,attr"`
	ChunkSize   string `xml:"chunkSize,attr"`
}

type ovfDisk struct {
	DiskID   string `xml:"diskId,attr"`
	FileRef  string `xml:"fileRef,attr"`
	Capacity string `xml:"capacity,attr"`
	Units    string `xml:"capacityAllocationUnits,attr"`
	Format   string `xml:"format,attr"`
}

// parseOVF finds the one disk of a descriptor and the member that holds it.
func parseOVF(desc []byte) (OVADisk, error) {
	var env ovfEnvelope
	if err := xml.Unmarshal(desc, &env); err != nil {
		return OVADisk{}, ovaRefusal("cannot parse the descriptor: %v", err)
	}
	switch len(env.Disks) {
	case 0:
		return OVADisk{}, ovaRefusal("the descriptor declares no disk (DiskSection is missing or empty)")
	case 1:
	default:
		ids := make([]string, len(env.Disks))
		for i, d := range env.Disks {
			ids[i] = d.DiskID
		}
		return OVADisk{}, ovaRefusal("the descriptor declares %d disks (%s); ck uploads single-disk appliances only", len(env.Disks), strings.Join(ids, ", "))
	}
	d := env.Disks[0]
	if d.FileRef == "" {
		return OVADisk{}, ovaRefusal("disk %q has no fileRef: an empty disk, nothing to upload", d.DiskID)
	}
	var file *ovfFile
	for i := range env.Files {
		if env.Files[i].ID == d.FileRef {
			file = &env.Files[i]
		}
	}
	switch {
	case file == nil:
		return OVADisk{}, ovaRefusal("disk %q refers to file %q, which References does not list", d.DiskID, d.FileRef)
	case file.ChunkSize != "":
		return OVADisk{}, ovaRefusal("disk file %q is split into chunks (ovf:chunkSize), which ck does not join", file.Href)
	case file.Href == "" || strings.Contains(file.Href, "://"):
		return OVADisk{}, ovaRefusal("disk file %q is not a member of the OVA", file.Href)
	}
	if err := safeMemberPath(file.Href); err != nil {
		return OVADisk{}, err
	}
	capacity, err := ovfCapacity(d.Capacity, d.Units)
	if err != nil {
		return OVADisk{}, ovaRefusal("disk %q: %v", d.DiskID, err)
	}
	return OVADisk{Member: path.Clean(file.Href), Capacity: capacity, Format: d.Format}, nil
}

var unitsRE = regexp.MustCompile(`^byte(?:\s*\*\s*(\d+)\s*\^\s*(\d+))?$`)

// ovfCapacity turns ovf:capacity and its allocation units ("byte * 2^30")
// into bytes. A capacity given as a property reference (${size}) is unknown: 0.
func ovfCapacity(capacity, units string) (int64, error) {
	if capacity == "" || strings.HasPrefix(capacity, "${") {
		return 0, nil
	}
	n, err := strconv.ParseInt(capacity, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("capacity %q is not a number", capacity)
	}
	units = strings.TrimSpace(units)
	if units == "" {
		return n, nil
	}
	m := unitsRE.FindStringSubmatch(units)
	if m == nil {
		return 0, fmt.Errorf("capacity units %q not understood (want byte * 2^N)", units)
	}
	if m[1] == "" {
		return n, nil
	}
	base, _ := strconv.ParseInt(m[1], 10, 64)
	exp, _ := strconv.ParseInt(m[2], 10, 64)
	for ; exp > 0; exp-- {
		if n > (1<<62)/max(base, 1) {
			return 0, fmt.Errorf("capacity %s %s is too large", capacity, units)
		}
		n *= base
	}
	return n, nil
}
