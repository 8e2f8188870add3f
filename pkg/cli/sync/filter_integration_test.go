package sync_test

// ck sync of a HEPiX list through an image filter (images: in its lists:
// entry; issue 13 item 2) on the local Glance.

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ck-sync/ck/pkg/plan"
)

// Only the filtered-in image of a list is created; when the filter is
// switched to the other image, that one is created and the first is kept
// as it is (neither retired nor updated); an entry that names no image of
// the list is a warning.
func TestIntegrationSyncImageFilter(t *testing.T) {
	fx := newFixture(t, false)
	one := image{id: "f-one", title: "Filter one", data: rawImage(t, 64<<10)}
	two := image{id: "f-two", title: "Filter two", data: rawImage(t, 64<<10)}
	l := fx.publish(t, "filter", "alpha.vo", one, two)
	subs := filepath.Join(fx.dir, "image-lists.conf")
	if err := os.WriteFile(subs, []byte(l.url+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(fx.dir, "ck.yaml")
	get := func(t *testing.T, id string) string {
		t.Helper()
		img, err := fx.env.Admin.GetImage(fx.ctx, id)
		if err != nil {
			t.Fatalf("get image %s: %v", id, err)
		}
		return marshal(img)
	}
	sync := func(t *testing.T, images string) (result, jsonLines) {
		t.Helper()
		if err := os.WriteFile(cfg, []byte("lists:\n  - url: "+l.url+"\n    images: "+images+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		r := fx.run(t, "sync", "--image-lists-file", subs, "--config", cfg, "-o", "json")
		if r.code != 0 {
			t.Fatalf("sync with images: %s: %s", images, r)
		}
		return r, parseLines(t, r.stdout)
	}

	// 1. Filter on f-one: f-one created, f-two not.
	_, out := sync(t, "[f-one]")
	if len(out.changes) != 1 || out.change(t, "f-one").Action != "create" || out.change(t, "f-one").Status != "done" {
		t.Fatalf("first sync changes %+v, want f-one created", out.changes)
	}
	if f := out.plan.Lists[0].Filter; f == nil || f.FilteredOut != 1 || len(f.Unmatched) != 0 {
		t.Errorf("list filter summary = %+v", f)
	}
	first := fx.current(t, "f-one")
	checkImage(t, fx, first, l, one, fx.env.ProjectVOAlpha, "raw")
	if imgs := fx.byImageID(t)["f-two"]; len(imgs) != 0 {
		t.Errorf("the filtered-out image was created: %+v", imgs)
	}

	// 2. Filter switched to f-two: f-two created, f-one kept untouched.
	before := get(t, first.ID)
	_, out = sync(t, "[f-two]")
	if len(out.changes) != 1 || out.change(t, "f-two").Action != "create" || out.change(t, "f-two").Status != "done" {
		t.Fatalf("second sync changes %+v, want f-two created only", out.changes)
	}
	if st := out.plan.Stats; st.Kept != 1 || st.Filtered != 1 || st.Retire != 0 {
		t.Errorf("second sync stats = %+v, want f-one kept as filtered out", st)
	}
	if after := get(t, first.ID); after != before {
		t.Errorf("the filtered-out image changed:\n%s\n%s", before, after)
	}
	checkImage(t, fx, fx.current(t, "f-two"), l, two, fx.env.ProjectVOAlpha, "raw")

	// 3. An entry naming no image of the list: a warning naming it, and
	// nothing to do (f-one still kept).
	r, out := sync(t, "[f-two, f-gone]")
	if len(out.changes) != 0 || out.plan.Stats.Filtered != 1 {
		t.Errorf("third sync changes %+v, stats %+v; want none, 1 filtered", out.changes, out.plan.Stats)
	}
	if f := out.plan.Lists[0].Filter; f == nil || len(f.Unmatched) != 1 || f.Unmatched[0] != "f-gone" {
		t.Errorf("list filter summary = %+v, want f-gone unmatched", f)
	}
	if !strings.Contains(r.stderr, "image filter entry names no image of the list") || !strings.Contains(r.stderr, "entry=f-gone") {
		t.Errorf("stderr lacks the warning naming f-gone:\n%s", r.stderr)
	}
	if fx.current(t, "f-one").Properties[plan.PropRetired] != "" {
		t.Error("f-one was retired")
	}
}
