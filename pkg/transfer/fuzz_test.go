package transfer

import (
	"bytes"
	"encoding/binary"
	"io"
	"testing"

	"github.com/ck-sync/ck/pkg/transfer/imagetest"
)

// FuzzDetect feeds arbitrary heads to Detect: it must never panic, and a
// sparse vmdk of capacity 0 with a descriptor is never uploadable.
func FuzzDetect(f *testing.F) {
	desc := imagetest.Descriptor
	for _, seed := range [][]byte{
		imagetest.VMDK(0, desc("monolithicFlat", `RW 1 FLAT "/etc/hostname" 0`)),
		imagetest.VMDK(1<<20, desc("monolithicSparse", `RW 2048 SPARSE "d.vmdk"`)),
		imagetest.VMDK(1<<20, desc("monolithicSparse", `RW 2048 FLAT "/dev/sda" 0`, `RW 1 SPARSE "x"`)),
		[]byte(desc("monolithicFlat", `RW 2048 FLAT "/etc/hostname" 0`)),
		qcow2Head(),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, head []byte) {
		fm := Detect(head)
		if len(head) >= 79 && bytes.HasPrefix(head, []byte("KDMV")) &&
			binary.LittleEndian.Uint64(head[12:20]) == 0 && binary.LittleEndian.Uint64(head[28:36]) != 0 && fm.Uploadable() {
			t.Fatalf("capacity-0 vmdk with a descriptor is uploadable: %+v", fm)
		}
	})
}

// FuzzXZGuard feeds arbitrary bytes to the xz guard: it must never panic,
// hand on only a prefix of its input, and end cleanly only with all of it.
func FuzzXZGuard(f *testing.F) {
	for _, seed := range [][]byte{
		imagetest.XZ(imagetest.XZBlock{DictCode: 37, Data: []byte("x")}),
		imagetest.XZ(imagetest.XZBlock{DictCode: 16, Data: qcow2Head()}, imagetest.XZBlock{DictCode: 40, Data: []byte("y")}),
		imagetest.XZ(),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		out, err := io.ReadAll(newXZGuard(bytes.NewReader(data), 1<<20, "fuzz"))
		if !bytes.HasPrefix(data, out) {
			t.Fatalf("the guard handed on %d bytes that are not a prefix of its input", len(out))
		}
		if err == nil && len(out) != len(data) {
			t.Fatalf("clean end after %d of %d bytes", len(out), len(data))
		}
	})
}

// FuzzOVA feeds arbitrary tar streams to Unpack: the disk read out of an
// uncompressed OVA is never longer than the OVA itself.
func FuzzOVA(f *testing.F) {
	for _, kind := range []imagetest.Sparse{imagetest.SparseOldGNU, imagetest.SparsePAX00, imagetest.SparsePAX01, imagetest.SparsePAX10} {
		f.Add(imagetest.SparseOVA(kind, "disk.qcow2", qcow2Head(), 1<<30))
	}
	f.Add(imagetest.RawTar(imagetest.TarMember("a.ovf", []byte(imagetest.OVF(512, "disk.qcow2"))), imagetest.TarMember("disk.qcow2", qcow2Head())))
	f.Fuzz(func(t *testing.T, data []byte) {
		if Detect(data).Name != "ova" {
			return
		}
		d, err := Unpack(bytes.NewReader(data), UnpackOptions{Name: "fuzz", Size: int64(len(data))})
		if err != nil {
			return
		}
		defer d.Close()
		if len(d.Layers) != 1 {
			return // a compressed disk inside may expand, within its bound
		}
		n, _ := io.Copy(io.Discard, io.LimitReader(d, int64(len(data))+1))
		if n > int64(len(data)) {
			t.Fatalf("a %d-byte OVA yielded a longer disk", len(data))
		}
	})
}
