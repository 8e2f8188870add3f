package apply

import (
	"bytes"
	"context"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"testing"

	"github.com/ck-sync/ck/pkg/glance"
	"github.com/ck-sync/ck/pkg/plan"
	"github.com/ck-sync/ck/pkg/transfer"
)

// fakeGlance is an in-memory Glance that behaves like the real one where
// apply depends on it: create → queued, upload reads the whole body and
// only a complete upload becomes active, with os_hash_value computed.
type fakeGlance struct {
	mu      sync.Mutex
	images  map[string]*glance.Image
	calls   []string
	nextID  int
	corrupt bool // store different bytes than received (hash mismatch)
}

func newFake() *fakeGlance { return &fakeGlance{images: map[string]*glance.Image{}} }

func (f *fakeGlance) log(s string) { f.calls = append(f.calls, s) }

func (f *fakeGlance) CreateImage(_ context.Context, spec glance.CreateSpec) (glance.Image, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextID++
	id := fmt.Sprintf("img-%d", f.nextID)
	img := &glance.Image{ID: id, Name: spec.Name, Status: "queued", DiskFormat: spec.DiskFormat, ContainerFormat: spec.ContainerFormat,
		Visibility: spec.Visibility, Hidden: spec.Hidden, MinRAM: spec.MinRAM, Tags: spec.Tags, Properties: spec.Properties}
	f.images[id] = img
	f.log("create " + id)
	return *img, nil
}

func (f *fakeGlance) Upload(_ context.Context, id string, body io.Reader) error {
	data, err := io.ReadAll(body)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log("upload " + id)
	if err != nil {
		return err // the request was aborted: the image stays queued
	}
	if f.corrupt {
		data = append(data[:len(data)-1], data[len(data)-1]^0xff)
	}
	sum := sha512.Sum512(data)
	img := f.images[id]
	img.Status, img.Size, img.HashAlgo, img.HashValue = "active", int64(len(data)), "sha512", hex.EncodeToString(sum[:])
	return nil
}

func (f *fakeGlance) GetImage(_ context.Context, id string) (glance.Image, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	img, ok := f.images[id]
	if !ok {
		return glance.Image{}, glance.ErrNotFound
	}
	return *img, nil
}

func (f *fakeGlance) UpdateImage(_ context.Context, id string, ops []glance.Patch) (glance.Image, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	img, ok := f.images[id]
	if !ok {
		return glance.Image{}, glance.ErrNotFound
	}
	f.log("patch " + id)
	for _, op := range ops {
		if op.Path == "/os_hidden" {
			img.Hidden = op.Value == true
			continue
		}
		if op.Path == "/visibility" {
			img.Visibility = fmt.Sprint(op.Value)
			continue
		}
		if img.Properties == nil {
			img.Properties = map[string]string{}
		}
		if op.Op == glance.OpRemove {
			delete(img.Properties, op.Path[1:])
		} else {
			img.Properties[op.Path[1:]] = fmt.Sprint(op.Value)
		}
	}
	return *img, nil
}

func (f *fakeGlance) DeleteImage(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log("delete " + id)
	delete(f.images, id)
	return nil
}

// image bytes: a qcow2 header, then filler.
func payload(n int) []byte {
	b := bytes.Repeat([]byte{0xab}, n)
	// A qcow2 v3 header with no feature bits set, then filler.
	clear(b[:min(n, 512)])
	copy(b, "QFI\xfb\x00\x00\x00\x03")
	return b
}

func sum(b []byte) string {
	s := sha512.Sum512(b)
	return hex.EncodeToString(s[:])
}

// server hands out verified readers over in-memory images by URL.
type server map[string][]byte

func (s server) open(_ context.Context, src transfer.Source) (io.ReadCloser, error) {
	data, ok := s[src.URL]
	if !ok {
		return nil, fmt.Errorf("GET %s: 404", src.URL)
	}
	return io.NopCloser(transfer.NewVerifier(bytes.NewReader(data), src.Size, src.SHA512)), nil
}

func createChange(id, url string, data []byte, declared []byte) plan.Change {
	return plan.Change{
		Action: plan.ActionCreate, Reason: plan.ReasonNew, Project: "p1", ListID: "L", ImageID: id, Title: "Image " + id,
		Desired: &plan.Desired{Name: "Image " + id, Visibility: "private", MinRAM: 512, Tags: []string{"ck"},
			Properties: map[string]string{"ck_list_id": "L", "ck_image_id": id, "ck_sha512": sum(declared)},
			URI:        url, Size: int64(len(declared)), SHA512: sum(declared)},
		Size: int64(len(declared)), SHA512: sum(declared),
	}
}

func run(t *testing.T, g *fakeGlance, srv server, changes ...plan.Change) Result {
	t.Helper()
	res, err := Apply(context.Background(), &plan.Plan{Changes: changes}, Options{
		Glance:   func(string) (Glance, error) { return g, nil },
		Open:     srv.open,
		Parallel: 2,
	})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestCreate(t *testing.T) {
	good := payload(200 << 10)
	g := newFake()
	res := run(t, g, server{"http://x/good": good}, createChange("a", "http://x/good", good, good))
	o := res.Outcomes[0]
	if o.Status != Done || o.Err != nil || o.Bytes != int64(len(good)) {
		t.Fatalf("outcome = %+v", o)
	}
	img := g.images[o.NewImage]
	if img == nil || img.Status != "active" || img.DiskFormat != "qcow2" || img.ContainerFormat != "bare" ||
		img.Properties["ck_image_id"] != "a" || !slices.Equal(img.Tags, []string{"ck"}) || img.MinRAM != 512 {
		t.Fatalf("image = %+v", img)
	}
}

func TestBadBytesNeverActive(t *testing.T) {
	good := payload(100 << 10)
	wrong := payload(100 << 10)
	wrong[len(wrong)-1] ^= 1 // same size, different bytes
	short := good[:len(good)-10]
	tests := []struct {
		name    string
		served  []byte
		corrupt bool // Glance stores other bytes than it received
	}{
		{"wrong checksum, right size", wrong, false},
		{"truncated", short, false},
		{"too long", append(slices.Clone(good), 1, 2, 3), false},
		{"glance hash differs", good, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newFake()
			g.corrupt = tt.corrupt
			res := run(t, g, server{"http://x/img": tt.served}, createChange("a", "http://x/img", tt.served, good))
			if o := res.Outcomes[0]; o.Status != Failed || o.Err == nil || o.NewImage != "" {
				t.Fatalf("outcome = %+v, want failed", o)
			}
			if len(g.images) != 0 {
				t.Fatalf("images left in Glance: %+v", g.images)
			}
			if !slices.Contains(g.calls, "delete img-1") {
				t.Errorf("calls = %v, want the half-made image deleted", g.calls)
			}
		})
	}
}

func TestUnsupportedFormatCreatesNothing(t *testing.T) {
	ova := make([]byte, 64<<10)
	copy(ova[257:], "ustar\x0000")
	g := newFake()
	res := run(t, g, server{"http://x/a.ova": ova}, createChange("a", "http://x/a.ova", ova, ova))
	if o := res.Outcomes[0]; o.Status != Failed || len(g.calls) != 0 {
		t.Fatalf("outcome %+v, calls %v: want failure before any Glance call", o, g.calls)
	}
}

func TestReplaceRetiresOldOnlyAfterNewIsActive(t *testing.T) {
	data := payload(10 << 10)
	g := newFake()
	g.images["old"] = &glance.Image{ID: "old", Status: "active", Properties: map[string]string{}}
	c := createChange("a", "http://x/a", data, data)
	c.Action, c.Reason, c.GlanceImageID = plan.ActionReplace, plan.ReasonContentChanged, "old"
	c.Patch = []plan.PatchOp{{Op: "add", Path: "/ck_retired", Value: "2026-01-01T00:00:00Z"}, {Op: "replace", Path: "/os_hidden", Value: true}}
	res := run(t, g, server{"http://x/a": data}, c)
	if o := res.Outcomes[0]; o.Status != Done {
		t.Fatalf("outcome %+v", o)
	}
	want := []string{"create img-1", "upload img-1", "patch img-1", "patch old"}
	if !slices.Equal(g.calls, want) {
		t.Fatalf("calls = %v, want %v", g.calls, want)
	}
	if !g.images["old"].Hidden || g.images["old"].Properties["ck_retired"] == "" {
		t.Errorf("old image not retired: %+v", g.images["old"])
	}

	// A failed upload must leave the old image alone.
	g2 := newFake()
	g2.images["old"] = &glance.Image{ID: "old", Status: "active"}
	res = run(t, g2, server{}, c)
	if res.Outcomes[0].Status != Failed || slices.Contains(g2.calls, "patch old") {
		t.Fatalf("failed replace touched the old image: %v", g2.calls)
	}
}

func TestMetadataAndRetire(t *testing.T) {
	g := newFake()
	g.images["m"] = &glance.Image{ID: "m", Status: "active", Properties: map[string]string{"ck_version": "1"}}
	g.images["r"] = &glance.Image{ID: "r", Status: "active", Properties: map[string]string{}}
	res := run(t, g, server{},
		plan.Change{Action: plan.ActionUpdateMetadata, GlanceImageID: "m", Patch: []plan.PatchOp{{Op: "replace", Path: "/ck_version", Value: "2", Old: "1"}}},
		plan.Change{Action: plan.ActionRetire, GlanceImageID: "r", Patch: []plan.PatchOp{{Op: "add", Path: "/ck_retired", Value: "t"}, {Op: "add", Path: "/os_hidden", Value: true}}},
		plan.Change{Action: plan.ActionRetire, GlanceImageID: "gone"},
	)
	if res.Outcomes[0].Status != Done || g.images["m"].Properties["ck_version"] != "2" {
		t.Errorf("update-metadata: %+v %+v", res.Outcomes[0], g.images["m"])
	}
	if res.Outcomes[1].Status != Done || !g.images["r"].Hidden {
		t.Errorf("retire: %+v %+v", res.Outcomes[1], g.images["r"])
	}
	if res.Outcomes[2].Status != Failed || !errors.Is(res.Outcomes[2].Err, glance.ErrNotFound) {
		t.Errorf("retire of a missing image: %+v", res.Outcomes[2])
	}
	if res.Failed() != 1 {
		t.Errorf("Failed() = %d, want 1", res.Failed())
	}
}

func TestOneFailureDoesNotStopOthers(t *testing.T) {
	a, b := payload(1000), payload(2000)
	g := newFake()
	res := run(t, g, server{"http://x/b": b}, createChange("a", "http://x/a", a, a), createChange("b", "http://x/b", b, b))
	if res.Outcomes[0].Status != Failed || res.Outcomes[1].Status != Done {
		t.Fatalf("outcomes = %+v", res.Outcomes)
	}
	if res.Bytes() != int64(len(b)) {
		t.Errorf("Bytes() = %d, want %d", res.Bytes(), len(b))
	}
}

func TestBlockedPlanIsRefused(t *testing.T) {
	_, err := Apply(context.Background(), &plan.Plan{Blocked: &plan.GuardError{Action: "retire", Count: 5, Limit: 1}}, Options{})
	if !errors.Is(err, ErrBlocked) {
		t.Fatalf("err = %v, want ErrBlocked", err)
	}
}

func TestCancelledRunSkipsAndCleansUp(t *testing.T) {
	data := payload(1 << 20)
	g := newFake()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := Apply(ctx, &plan.Plan{Changes: []plan.Change{createChange("a", "http://x/a", data, data)}}, Options{
		Glance: func(string) (Glance, error) { return g, nil },
		Open:   server{"http://x/a": data}.open,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcomes[0].Status == Done || len(g.images) != 0 {
		t.Fatalf("outcome %+v, images %v", res.Outcomes[0], g.images)
	}
}

func TestParseMethod(t *testing.T) {
	for _, s := range []string{"upload", "glance-direct", "web-download"} {
		if m, err := ParseMethod(s); err != nil || string(m) != s {
			t.Errorf("ParseMethod(%q) = %q, %v", s, m, err)
		}
	}
	if _, err := ParseMethod("ftp"); err == nil {
		t.Error("ParseMethod(ftp) succeeded")
	}
}

// flakyServer fails the first download of each URL the way a server that
// ignores Range does after a cut connection, then serves it whole.
type flakyServer struct {
	server
	mu    sync.Mutex
	tried map[string]bool
}

func (s *flakyServer) open(ctx context.Context, src transfer.Source) (io.ReadCloser, error) {
	s.mu.Lock()
	first := !s.tried[src.URL]
	s.tried[src.URL] = true
	s.mu.Unlock()
	if first {
		data := s.server[src.URL]
		cut := io.MultiReader(bytes.NewReader(data[:len(data)/2]), errReader{fmt.Errorf("download: %w", transfer.ErrRangeUnsupported)})
		return io.NopCloser(cut), nil
	}
	return s.server.open(ctx, src)
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func TestTransferRestartsWhenServerCannotResume(t *testing.T) {
	data := payload(256 << 10)
	g := newFake()
	srv := &flakyServer{server: server{"http://x/a": data}, tried: map[string]bool{}}
	res, err := Apply(context.Background(), &plan.Plan{Changes: []plan.Change{createChange("a", "http://x/a", data, data)}}, Options{
		Glance: func(string) (Glance, error) { return g, nil },
		Open:   srv.open,
	})
	if err != nil {
		t.Fatal(err)
	}
	o := res.Outcomes[0]
	if o.Status != Done || len(g.images) != 1 || g.images[o.NewImage] == nil || g.images[o.NewImage].Status != "active" {
		t.Fatalf("outcome %+v, images %v: want one active image after a restart", o, g.images)
	}
	if !slices.Contains(g.calls, "delete img-1") {
		t.Errorf("calls = %v: the first, half-made image should have been deleted", g.calls)
	}
}

func TestCheck(t *testing.T) {
	ok := glance.Image{Status: "active", Size: 10, HashAlgo: "sha512", HashValue: "ab"}
	tests := []struct {
		name string
		img  glance.Image
		want expected
		pass bool
	}{
		{"all match", ok, expected{size: 10, sha512: "ab"}, true},
		{"hash differs", ok, expected{size: 10, sha512: "cd"}, false},
		{"size differs", ok, expected{size: 11, sha512: "ab"}, false},
		{"not active", glance.Image{Status: "queued", Size: 10}, expected{size: 10, sha512: "ab"}, false},
		{"other algorithm, ck hashed the bytes itself", glance.Image{Status: "active", Size: 10, HashAlgo: "sha256", HashValue: "x"}, expected{size: 10, sha512: "ab"}, true},
		{"other algorithm, web-download: nobody hashed them", glance.Image{Status: "active", Size: 10, HashAlgo: "sha256", HashValue: "x"}, expected{size: 10, sha512: "ab", needHash: true}, false},
		{"web-download with sha512", ok, expected{size: 10, sha512: "ab", needHash: true}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := check(tt.img, tt.want); (err == nil) != tt.pass {
				t.Fatalf("check = %v, want pass=%v", err, tt.pass)
			}
		})
	}
}

func TestWebDownloadRefusesCredentialedURLs(t *testing.T) {
	data := payload(1000)
	g := newFake()
	url := "http://user:s3cret@x/a"
	res, err := Apply(context.Background(), &plan.Plan{Changes: []plan.Change{createChange("a", url, data, data)}}, Options{
		Glance: func(string) (Glance, error) { return g, nil },
		Open:   server{url: data}.open,
		Method: MethodWebDownload,
	})
	if err != nil {
		t.Fatal(err)
	}
	if o := res.Outcomes[0]; o.Status != Failed || len(g.images) != 0 {
		t.Fatalf("outcome %+v, images %v: want a refusal before any image exists", o, g.images)
	}
}

func TestConvertTarget(t *testing.T) {
	o := Options{ConvertTo: "raw", ConvertToByList: map[string]string{"https://a/list": "qcow2", "https://b/list": "none"}}
	tests := []struct {
		source string
		global string
		want   string
	}{
		{"https://a/list", "raw", "qcow2"},
		{"https://b/list", "raw", ""},
		{"https://c/list", "raw", "raw"},
		{"https://c/list", "", ""},
		{"https://a/list", "", "qcow2"},
	}
	for _, tt := range tests {
		o.ConvertTo = tt.global
		if got := o.convertTarget(plan.Change{Source: tt.source}); got != tt.want {
			t.Errorf("convertTarget(%s, --convert-to %q) = %q, want %q", tt.source, tt.global, got, tt.want)
		}
	}
}
