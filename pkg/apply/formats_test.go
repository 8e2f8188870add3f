package apply

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ck-sync/ck/pkg/glance"
	"github.com/ck-sync/ck/pkg/plan"
	"github.com/ck-sync/ck/pkg/transfer"
	"github.com/ck-sync/ck/pkg/transfer/imagetest"
)

// recording keeps every create call, which the fake does not fully store.
type recording struct {
	*fakeGlance
	specs []glance.CreateSpec
}

func (r *recording) CreateImage(ctx context.Context, s glance.CreateSpec) (glance.Image, error) {
	r.specs = append(r.specs, s)
	return r.fakeGlance.CreateImage(ctx, s)
}

// images are the test images, made once per test with qemu-img and tar.
type images struct {
	raw, qcow2, stream, ova, gz, dataFile, corrupt, backing string
}

func makeImages(t *testing.T) images {
	imagetest.Need(t)
	dir := t.TempDir()
	var im images
	im.raw = imagetest.Raw(t, dir, 64<<20)
	im.qcow2 = imagetest.Convert(t, im.raw, "qcow2")
	im.stream = imagetest.Convert(t, im.raw, "vmdk", "-o", "subformat=streamOptimized")
	imagetest.Write(t, dir, "a.ovf", []byte(imagetest.OVF(64<<20, filepath.Base(im.stream))))
	im.ova = imagetest.OVA(t, dir, "a.ova", "a.ovf", filepath.Base(im.stream))
	im.gz = imagetest.Gzip(t, im.qcow2)
	// A qcow2 whose data lives in another file: its header looks plain,
	// only qemu-img info tells.
	im.dataFile = filepath.Join(dir, "datafile.qcow2")
	imagetest.Run(t, "qemu-img", "create", "-f", "qcow2", "-o", "data_file="+filepath.Join(dir, "data.raw"), im.dataFile, "1M")
	// A qcow2 whose header claims an impossible cluster size.
	c := imagetest.Read(t, im.qcow2)
	copy(c[20:24], []byte{0, 0, 0, 99})
	im.corrupt = imagetest.Write(t, dir, "corrupt.qcow2", c)
	im.backing = filepath.Join(dir, "overlay.qcow2")
	imagetest.Run(t, "qemu-img", "create", "-f", "qcow2", "-F", "qcow2", "-b", im.qcow2, im.backing)
	return im
}

func runWith(t *testing.T, g Glance, srv server, o Options, changes ...plan.Change) Result {
	t.Helper()
	o.Glance = func(string) (Glance, error) { return g, nil }
	o.Open = srv.open
	res, err := Apply(context.Background(), &plan.Plan{Changes: changes}, o)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func emptyDir(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 0 {
		t.Errorf("work dir %s not empty: %v", dir, ents)
	}
}

func TestFormatsThroughApply(t *testing.T) {
	im := makeImages(t)
	tests := []struct {
		name, file, disk   string // disk: the bytes Glance must get
		convert            string
		diskFormat, source string
		minDisk            int
		vmwareType         string
	}{
		{"qcow2 as is", im.qcow2, im.qcow2, "", "qcow2", "qcow2", 1, ""},
		{"raw as is", im.raw, im.raw, "", "raw", "raw", 1, ""},
		{"ova: its vmdk", im.ova, im.stream, "", "vmdk", "ova+vmdk", 1, "streamOptimized"},
		{"gzip: its qcow2", im.gz, im.qcow2, "", "qcow2", "gzip+qcow2", 1, ""},
		{"qcow2 converted to raw", im.qcow2, im.raw, "raw", "raw", "qcow2", 1, ""},
		{"ova converted to raw", im.ova, im.raw, "raw", "raw", "ova+vmdk", 1, ""},
		{"raw needs no conversion", im.raw, im.raw, "raw", "raw", "raw", 1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			work := t.TempDir()
			data := imagetest.Read(t, tt.file)
			g := &recording{fakeGlance: newFake()}
			res := runWith(t, g, server{"http://x/i": data}, Options{ConvertTo: tt.convert, WorkDir: work}, createChange("a", "http://x/i", data, data))
			o := res.Outcomes[0]
			if o.Status != Done {
				t.Fatalf("outcome %+v", o)
			}
			img, spec := g.images[o.NewImage], g.specs[0]
			want := imagetest.Read(t, tt.disk)
			if img.DiskFormat != tt.diskFormat || img.ContainerFormat != "bare" || img.HashValue != sum(want) || img.Size != int64(len(want)) {
				t.Errorf("image %s/%s, %d bytes, sha512 %.16s; want %s/bare, the %d bytes of %s", img.DiskFormat, img.ContainerFormat, img.Size, img.HashValue, tt.diskFormat, len(want), filepath.Base(tt.disk))
			}
			if p := spec.Properties; p[PropSourceFormat] != tt.source || p[plan.PropSHA512] != sum(data) || p[PropVMwareDiskType] != tt.vmwareType {
				t.Errorf("properties %v: want %s=%s, ck_sha512 of the download, vmware_disktype %q", p, PropSourceFormat, tt.source, tt.vmwareType)
			}
			if spec.MinDisk != tt.minDisk {
				t.Errorf("min_disk %d, want %d", spec.MinDisk, tt.minDisk)
			}
			if o.Bytes != int64(len(data)) {
				t.Errorf("bytes %d, want the download's %d", o.Bytes, len(data))
			}
			// One streaming pass unless converting; and a conversion cleans up.
			emptyDir(t, work)
		})
	}
}

func TestUnpackedBadBytesNeverActive(t *testing.T) {
	im := makeImages(t)
	for _, file := range []string{im.ova, im.gz} {
		t.Run(filepath.Base(file), func(t *testing.T) {
			good := imagetest.Read(t, file)
			bad := append([]byte(nil), good...)
			bad[len(bad)-1] ^= 1 // past the disk: only the whole-download check sees it
			g := newFake()
			res := run(t, g, server{"http://x/i": bad}, createChange("a", "http://x/i", bad, good))
			var ve *transfer.VerifyError
			if o := res.Outcomes[0]; o.Status != Failed || !errors.As(o.Err, &ve) {
				t.Fatalf("outcome %+v, want a VerifyError", o)
			}
			if len(g.images) != 0 {
				t.Fatalf("images left: %v", g.images)
			}
		})
	}
}

// TestFailingConversionLeavesNothing: no Glance image is created and the
// work dir is left empty, whatever step fails.
func TestFailingConversionLeavesNothing(t *testing.T) {
	im := makeImages(t)
	tests := []struct {
		name, file, qemu, want string
	}{
		{"external data file", im.dataFile, "", "external data file"},
		{"corrupt qcow2", im.corrupt, "", "qemu-img"},
		{"backing file", im.backing, "", "qcow2 with a backing file"},
		{"qemu-img missing", im.qcow2, "/nonexistent/qemu-img", "install it"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			work := t.TempDir()
			data := imagetest.Read(t, tt.file)
			g := newFake()
			res := runWith(t, g, server{"http://x/i": data}, Options{ConvertTo: "raw", WorkDir: work, QemuImg: tt.qemu}, createChange("a", "http://x/i", data, data))
			o := res.Outcomes[0]
			if o.Status != Failed || !strings.Contains(o.Err.Error(), tt.want) {
				t.Fatalf("outcome %+v, want failure saying %q", o, tt.want)
			}
			if len(g.calls) != 0 {
				t.Errorf("Glance calls %v, want none", g.calls)
			}
			emptyDir(t, work)
		})
	}
}

func TestWebDownloadRefusesUnpacking(t *testing.T) {
	im := makeImages(t)
	data := imagetest.Read(t, im.ova)
	g := newFake()
	res := runWith(t, g, server{"http://x/i": data}, Options{Method: MethodWebDownload}, createChange("a", "http://x/i", data, data))
	if o := res.Outcomes[0]; o.Status != Failed || !strings.Contains(o.Err.Error(), "use --upload-method upload") || len(g.calls) != 0 {
		t.Fatalf("outcome %+v, calls %v", o, g.calls)
	}
}
