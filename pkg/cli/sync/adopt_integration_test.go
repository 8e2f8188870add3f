package sync_test

// Adoption of cloudkeeper-os's and atrope's images by `ck sync`, against
// the local Glance: same Glance image afterwards, ck's tag and properties
// on it, and not one request to the image server for it.

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ck-sync/ck/pkg/cli/clitest"
	"github.com/ck-sync/ck/pkg/glance"
	"github.com/ck-sync/ck/pkg/plan"
)

// adoptServer serves image bytes by path and counts every request.
type adoptServer struct {
	*httptest.Server
	mu    sync.Mutex
	data  map[string][]byte
	count map[string]int
}

func newAdoptServer(t *testing.T, data map[string][]byte) *adoptServer {
	s := &adoptServer{data: data, count: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.count[r.URL.Path]++
		b, ok := s.data[r.URL.Path]
		s.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(b)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *adoptServer) hits(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count[path]
}

// adoptFixture is clitest's fixture with a lookup of ck's current image.
type adoptFixture struct{ *clitest.Fixture }

func TestIntegrationAdopt(t *testing.T) {
	t.Parallel()
	fx := &adoptFixture{clitest.New(t)}
	env, tag := fx.Env, fx.Tag
	bytesCKOS := []byte(strings.Repeat("cloudkeeper-os image bytes\n", 100))
	bytesAtrope := []byte(strings.Repeat("atrope image bytes\n", 100))
	bytesNew := []byte(strings.Repeat("the list's new bytes\n", 100))
	srv := newAdoptServer(t, map[string][]byte{"/ckos": bytesCKOS, "/atrope": bytesAtrope, "/mismatch": bytesNew})
	idCKOS, idAtrope, idMismatch := tag+"-ckos", tag+"-atrope", tag+"-mismatch"
	l := fx.WriteList(t, tag+"-list", "alpha.vo",
		clitest.ImageSpec{ID: idCKOS, URI: srv.URL + "/ckos", Data: bytesCKOS},
		clitest.ImageSpec{ID: idAtrope, URI: srv.URL + "/atrope", Data: bytesAtrope},
		clitest.ImageSpec{ID: idMismatch, URI: srv.URL + "/mismatch", Data: bytesNew},
	)
	// What the old tools left in Glance (research/cloudkeeper.md §3,
	// research/hepix-atrope.md §3.4): no ck tag, no ck property.
	cloudkeeperOS := func(imageID string) func(*glance.CreateSpec) {
		return func(s *glance.CreateSpec) {
			s.Tags = nil
			s.Properties = map[string]string{
				plan.PropCKOSListID: l.List.ID, plan.PropCKOSImageID: imageID, plan.PropCKOSStatus: "ACTIVE",
				"APPLIANCE_TITLE": "Image " + imageID, "APPLIANCE_VO": "alpha.vo", plan.PropMPURI: "https://appdb.ck-test.example/x",
			}
		}
	}
	ckos := fx.Seed(t, env.VOAlpha, plan.Desired{Name: "ckos", Visibility: "private"}, bytesCKOS, cloudkeeperOS(idCKOS))
	atrope := fx.Seed(t, env.VOAlpha, plan.Desired{Name: "atrope", Visibility: "private"}, bytesAtrope, func(s *glance.CreateSpec) {
		s.Tags = []string{"atrope"}
		s.Properties = map[string]string{
			plan.PropAtropeImageID: idAtrope, plan.PropAtropeList: "alpha-vo-list",
			plan.PropAtropeHash: "sha512:" + l.List.Images[1].SHA512, "project": env.ProjectVOAlpha,
		}
	})
	// cloudkeeper-os holds other bytes than the list now says.
	mismatch := fx.Seed(t, env.VOAlpha, plan.Desired{Name: "mismatch", Visibility: "private"}, []byte("older bytes"), cloudkeeperOS(idMismatch))
	for _, img := range []glance.Image{ckos, atrope, mismatch} {
		if img.HashAlgo != "sha512" {
			t.Fatalf("Glance computed %q, not sha512, for %s: the test needs sha512 multihash", img.HashAlgo, img.ID)
		}
	}

	t.Run("adopt=false plans downloads", func(t *testing.T) {
		code, stdout, stderr := fx.Run(t, "sync", "--dry-run", "--adopt=false", "-o", "json", l.Path)
		if code != 0 {
			t.Fatalf("exit %d; stderr:\n%s", code, stderr)
		}
		for _, c := range clitest.PlanLine(t, stdout).Changes {
			if c.Action != plan.ActionCreate {
				t.Errorf("with --adopt=false: %s, want only creates", clitest.Brief(c))
			}
		}
	})

	code, stdout, stderr := fx.Run(t, "sync", "-o", "json", l.Path)
	if code != 0 {
		t.Fatalf("exit %d; stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	var got []string
	p := clitest.PlanLine(t, stdout)
	for _, c := range p.Changes {
		got = append(got, clitest.Brief(c))
	}
	// Issue 11 item 5: cloudkeeper-os's image of idMismatch holds other
	// bytes than the list's: it is not adopted, and no longer tagged,
	// retired and later deleted either (its properties prove nothing, any
	// member could have written them); the listed image is uploaded next
	// to it and the old one reported.
	want := []string{
		"adopt atrope " + idAtrope + " " + atrope.ID,
		"adopt cloudkeeper-os " + idCKOS + " " + ckos.ID,
		"create new " + idMismatch,
	}
	if !slices.Equal(got, want) {
		t.Errorf("changes:\n got %q\nwant %q", got, want)
	}
	if len(p.Notices) != 1 || p.Notices[0].Kind != plan.NoticeLegacyUnproven || p.Notices[0].GlanceImageID != mismatch.ID ||
		!strings.Contains(p.Notices[0].Detail, "is not the list's sha512") {
		t.Errorf("notices = %+v, want the mismatched cloudkeeper-os image reported", p.Notices)
	}
	if n := srv.hits("/ckos") + srv.hits("/atrope"); n != 0 {
		t.Errorf("adoption made %d requests to the image server, want 0", n)
	}
	if n := srv.hits("/mismatch"); n == 0 {
		t.Errorf("the mismatched image was not downloaded")
	}

	managed := map[string]bool{env.ProjectVOAlpha: true}
	for _, seeded := range []glance.Image{ckos, atrope} {
		img, ok := fx.Get(t, seeded.ID)
		if !ok {
			t.Fatalf("adopted image %s is gone", seeded.ID)
		}
		if !plan.IsCK(img, tag, managed) || img.Properties[plan.PropSHA512] != seeded.HashValue ||
			img.Properties[plan.PropListURL] != l.Source || img.Hidden || img.Status != "active" {
			t.Errorf("image %s is not ck's current image after adoption: tags %v, properties %v", seeded.ID, img.Tags, img.Properties)
		}
		if img.Name != "Image "+img.Properties[plan.PropImageID] {
			t.Errorf("adopted image %s: name %q not fixed", seeded.ID, img.Name)
		}
	}
	if img, _ := fx.Get(t, atrope.ID); !slices.Contains(img.Tags, "atrope") || img.Properties[plan.PropAtropeHash] == "" {
		t.Errorf("atrope's own tag and properties were removed: %v %v", img.Tags, img.Properties)
	}
	if old, _ := fx.Get(t, mismatch.ID); !old.UpdatedAt.Equal(mismatch.UpdatedAt) || old.Hidden || slices.Contains(old.Tags, tag) {
		t.Errorf("mismatched legacy image was touched: updated %v (was %v), hidden %v, tags %v, properties %v",
			old.UpdatedAt, mismatch.UpdatedAt, old.Hidden, old.Tags, old.Properties)
	}
	if cur := fx.currentOf(t, idMismatch); cur.ID == mismatch.ID || cur.HashValue != l.List.Images[2].SHA512 {
		t.Errorf("the listed image %s was not uploaded next to the old one: current %s (hash %.16s)", idMismatch, cur.ID, cur.HashValue)
	}

	// Adopted, the site is in sync: nothing more to do, nothing downloaded.
	code, stdout, stderr = fx.Run(t, "diff", "--exit-code", l.Path)
	if code != 0 {
		t.Errorf("diff after adoption: exit %d, want 0 (in sync); stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if n := srv.hits("/ckos") + srv.hits("/atrope"); n != 0 {
		t.Errorf("%d requests to the image server for adopted images, want 0", n)
	}
}

// currentOf returns ck's one current image of imageID in the fixture's
// namespace, failing the test if there is not exactly one.
func (fx *adoptFixture) currentOf(t *testing.T, imageID string) glance.Image {
	t.Helper()
	imgs, err := fx.Env.Admin.ListImages(fx.Ctx, glance.ListFilter{Tag: fx.Tag})
	if err != nil {
		t.Fatal(err)
	}
	var cur []glance.Image
	for _, img := range imgs {
		if img.Properties[plan.PropImageID] == imageID && img.Properties[plan.PropRetired] == "" {
			cur = append(cur, img)
		}
	}
	if len(cur) != 1 {
		t.Fatalf("image %s: %d current images, want 1", imageID, len(cur))
	}
	return cur[0]
}
