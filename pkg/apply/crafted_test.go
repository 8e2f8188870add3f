package apply

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"github.com/ck-sync/ck/pkg/glance"
	"github.com/ck-sync/ck/pkg/glance/glancetest"
	"github.com/ck-sync/ck/pkg/plan"
	"github.com/ck-sync/ck/pkg/transfer/imagetest"
)

// craftedDisk is a hostile download and what its refusal must say.
type craftedDisk struct {
	name string
	data []byte
	want string
}

// craftedDisks are the inputs of issue 11 item 4, each of which got past
// ck before: built byte by byte (see imagetest).
func craftedDisks() []craftedDisk {
	qcow2 := make([]byte, 512)
	copy(qcow2, "QFI\xfb\x00\x00\x00\x03")
	binary.BigEndian.PutUint64(qcow2[24:], 64<<20)
	evil := imagetest.VMDK(0, imagetest.Descriptor("monolithicFlat", `RW 1 FLAT "/etc/hostname" 0`))
	var gz bytes.Buffer
	z := gzip.NewWriter(&gz)
	z.Write(evil)
	z.Close()
	return []craftedDisk{
		{"sparse OVA member", imagetest.SparseOVA(imagetest.SparsePAX01, "disk.qcow2", qcow2, 64<<20), `member "disk.qcow2" is a sparse file`},
		{"OVA member larger than the download", imagetest.RawTar(imagetest.TarMember("a.ovf", []byte(imagetest.OVF(1<<30, "disk.qcow2"))),
			append(imagetest.TarHeader("disk.qcow2", '0', 1<<30), qcow2...)), `declares 1073741824 bytes, more than the`},
		{"vmdk capacity 0 naming /etc/hostname", evil, `capacity 0 with an embedded descriptor, want a non-zero capacity`},
		{"gzip of that vmdk", gz.Bytes(), `FLAT "/etc/hostname"`},
		{"vmdk naming a FLAT extent", imagetest.VMDK(1<<20, imagetest.Descriptor("monolithicSparse", `RW 2048 FLAT "/dev/sda" 0`)), `names FLAT extent "/dev/sda"`},
		{"xz asking for 1.5 GiB", imagetest.XZ(imagetest.XZBlock{DictCode: 37, Data: qcow2}), "needs a dictionary of 1536 MiB, more than the 512 MiB allowed"},
	}
}

// TestCraftedDisksNeverUploaded: each crafted disk fails its image with an
// error naming the image and the check, before any Glance call (nothing is
// created, so nothing needs deleting), with and without --convert-to (where
// qemu-img would otherwise have read the files the vmdk names).
func TestCraftedDisksNeverUploaded(t *testing.T) {
	for _, d := range craftedDisks() {
		for _, convert := range []string{"", "raw"} {
			t.Run(d.name+" convert="+convert, func(t *testing.T) {
				work := t.TempDir()
				g := newFake()
				res := runWith(t, g, server{"http://x/i": d.data}, Options{ConvertTo: convert, WorkDir: work}, createChange("a", "http://x/i", d.data, d.data))
				o := res.Outcomes[0]
				if o.Status != Failed || !strings.Contains(o.Err.Error(), d.want) || !strings.Contains(o.Err.Error(), `image a ("Image a")`) {
					t.Fatalf("outcome %s: %v; want a failure naming the image and saying %q", o.Status, o.Err, d.want)
				}
				t.Log(o.Err)
				if len(g.calls) != 0 {
					t.Errorf("Glance calls %v, want none", g.calls)
				}
				emptyDir(t, work)
			})
		}
	}
}

// TestIntegrationCraftedDisks runs the crafted disks against the local
// Glance: every one fails and none leaves an image behind. Skips without
// the devcloud (fails under CI=true).
func TestIntegrationCraftedDisks(t *testing.T) {
	env := glancetest.Setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var changes []plan.Change
	srv := server{}
	for i, d := range craftedDisks() {
		id := "crafted-" + string(rune('a'+i))
		url := "http://x/" + id
		srv[url] = d.data
		c := createChange(id, url, d.data, d.data)
		c.Project, c.Desired.Name, c.Desired.Tags = env.ProjectCK, env.Name(id), []string{env.Namespace}
		changes = append(changes, c)
	}
	res, err := Apply(ctx, &plan.Plan{Changes: changes}, Options{
		Glance: func(string) (Glance, error) { return env.CK, nil }, Open: srv.open, WorkDir: t.TempDir(),
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, o := range res.Outcomes {
		if d := craftedDisks()[i]; o.Status != Failed || !strings.Contains(o.Err.Error(), d.want) {
			t.Errorf("%s: outcome %s: %v; want a failure saying %q", d.name, o.Status, o.Err, d.want)
		}
	}
	left, err := env.CK.ListImages(ctx, glance.ListFilter{Tag: env.Namespace})
	if err != nil {
		t.Fatal(err)
	}
	for _, img := range left {
		t.Errorf("image %s (%s, %s) left in Glance", img.ID, img.Name, img.Status)
	}
}
