// Package imagetest makes real disk images for tests with qemu-img, tar and
// gzip, the tools sites use, so format code is tested on what they produce
// rather than on hand-written headers; and, byte by byte, the hostile inputs
// no such tool writes (sparse tar members, vmdk descriptors naming other
// files, xz streams asking for huge dictionaries).
package imagetest

import (
	"archive/tar"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Need skips t when qemu-img is missing, or fails it under CI=true, where
// the devcloud script has installed it and a skip would hide a regression.
func Need(t testing.TB) {
	t.Helper()
	for _, tool := range []string{"qemu-img", "tar", "gzip"} {
		if _, err := exec.LookPath(tool); err != nil {
			msg := tool + " not found: install qemu-utils (contrib/devcloud/devcloud.sh does)"
			if os.Getenv("CI") == "true" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
	}
}

// Run runs a tool and fails t with its output when it fails.
func Run(t testing.TB, name string, args ...string) []byte {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

// Raw writes a raw disk of size bytes with recognisable data in a few places
// and zeros elsewhere (so it converts and compresses like a real disk).
func Raw(t testing.TB, dir string, size int64) string {
	t.Helper()
	p := filepath.Join(dir, "disk.raw")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	for i, off := range []int64{0, size / 3, size - 4096} {
		if _, err := f.WriteAt(bytes.Repeat([]byte(fmt.Sprintf("ck block %d ", i)), 4096/11), off); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

// Convert converts src to format with qemu-img and extra options (e.g.
// "-o", "subformat=streamOptimized") and returns the new file's path.
func Convert(t testing.TB, src, format string, opts ...string) string {
	t.Helper()
	dst := strings.TrimSuffix(src, filepath.Ext(src)) + "." + format
	if len(opts) > 0 {
		dst = strings.TrimSuffix(src, filepath.Ext(src)) + "-" + strings.NewReplacer("=", "-", ",", "-").Replace(opts[len(opts)-1]) + "." + format
	}
	args := append([]string{"convert", "-f", "raw", "-O", format}, opts...)
	Run(t, "qemu-img", append(args, src, dst)...)
	return dst
}

// Gzip compresses path with gzip(1) and returns the .gz path.
func Gzip(t testing.TB, path string) string {
	t.Helper()
	Run(t, "gzip", "-k", "-f", path)
	return path + ".gz"
}

// OVF renders a descriptor with one References/File and one Disk per
// href, each of capacity bytes.
func OVF(capacity int64, hrefs ...string) string {
	var files, disks strings.Builder
	for i, h := range hrefs {
		fmt.Fprintf(&files, `    <File ovf:id="file%d" ovf:href="%s"/>`+"\n", i+1, h)
		fmt.Fprintf(&disks, `    <Disk ovf:diskId="vmdisk%d" ovf:fileRef="file%d" ovf:capacity="%d" ovf:capacityAllocationUnits="byte"
          ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"/>`+"\n", i+1, i+1, capacity)
	}
	return `<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1">
  <References>
` + files.String() + `  </References>
  <DiskSection>
    <Info>Virtual disk information</Info>
` + disks.String() + `  </DiskSection>
  <VirtualSystem ovf:id="ck-test"><Info>A test appliance</Info></VirtualSystem>
</Envelope>
`
}

// OVA packs the files of dir named by members, in that order, with tar(1),
// as OVF requires (descriptor first), and returns the .ova path.
func OVA(t testing.TB, dir, name string, members ...string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	Run(t, "tar", append([]string{"-cf", p, "-C", dir}, members...)...)
	return p
}

// Member is one entry of a tar written by Tar.
type Member struct {
	Name string
	Data []byte
	Type byte // tar type flag; 0 means a regular file
}

// Tar writes members as a tar archive with archive/tar, for archives that
// tar(1) will not make (unsafe names, links).
func Tar(t testing.TB, members ...Member) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, m := range members {
		h := &tar.Header{Name: m.Name, Mode: 0o644, Size: int64(len(m.Data)), Typeflag: m.Type, Format: tar.FormatUSTAR}
		if m.Type == 0 {
			h.Typeflag = tar.TypeReg
		}
		if m.Type == tar.TypeSymlink {
			h.Size, h.Linkname = 0, "/etc/passwd"
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Size > 0 {
			if _, err := tw.Write(m.Data); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Read returns the contents of path.
func Read(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Write writes data to dir/name and returns the path.
func Write(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
