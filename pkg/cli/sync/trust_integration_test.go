package sync_test

// Issue 11 against the local Glance: what an ordinary member of a project
// can write on an image of their own (ck's tag and properties), and a
// second subscription claiming a list's id, must not steer ck.

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ck-sync/ck/pkg/cli/clitest"
	"github.com/ck-sync/ck/pkg/glance"
	"github.com/ck-sync/ck/pkg/glance/glancetest"
	"github.com/ck-sync/ck/pkg/plan"
)

// Item 1: alice, a member of vo-alpha, uploads her own bytes with ck's tag
// and every property of ck's image copied. ck keeps its own image, reports
// hers, and touches neither her properties nor her visibility.
func TestIntegrationImpostorIsReportedAndLeftAlone(t *testing.T) {
	t.Parallel()
	fx := clitest.New(t)
	env, tag := fx.Env, fx.Tag
	bytes1 := []byte(strings.Repeat("the listed bytes of i1\n", 200))
	bytes2 := []byte(strings.Repeat("the listed bytes of i2\n", 200))
	srv := newAdoptServer(t, map[string][]byte{"/i1": bytes1, "/i2": bytes2})
	id1, id2 := tag+"-i1", tag+"-i2"
	l := fx.WriteList(t, tag+"-list", "alpha.vo",
		clitest.ImageSpec{ID: id1, URI: srv.URL + "/i1", Data: bytes1},
		clitest.ImageSpec{ID: id2, URI: srv.URL + "/i2", Data: bytes2},
	)
	alice := env.Connect(t, glancetest.CloudAlice, "")
	forge := func(t *testing.T, imageID string) glance.Image {
		t.Helper()
		d := fx.Desired(t, l, imageID)
		return fx.Seed(t, alice, d, []byte("alice's own bytes"), func(s *glance.CreateSpec) {
			s.Name = fx.Env.Name("looks like " + imageID)
			s.Visibility = "private"
		})
	}
	// i2: alice's upload comes first, before ck has the image at all.
	forged2 := forge(t, id2)
	run := func(t *testing.T) *plan.Plan {
		t.Helper()
		code, stdout, stderr := fx.Run(t, "sync", "--visibility", "shared", "-o", "json", l.Path)
		if code != 0 {
			t.Fatalf("exit %d; stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
		return clitest.PlanLine(t, stdout)
	}
	p := run(t)
	var got []string
	for _, c := range p.Changes {
		got = append(got, clitest.Brief(c))
	}
	if want := []string{"create new " + id1, "create new " + id2}; !slices.Equal(got, want) {
		t.Errorf("first sync: changes %q, want %q (alice's image of %s is not ck's current one)", got, want, id2)
	}
	genuine1 := currentImage(t, fx, id1, "")

	// i1: alice's copy is newer than ck's, which made it "current" before.
	forged1 := forge(t, id1)
	p = run(t)
	if len(p.Changes) != 0 {
		for _, c := range p.Changes {
			t.Errorf("second sync: unexpected change %s", clitest.Brief(c))
		}
	}
	var noticed []string
	for _, n := range p.Notices {
		noticed = append(noticed, string(n.Kind)+" "+n.GlanceImageID+" "+n.Project)
		if !strings.Contains(n.Detail, "is not its ck_sha512") {
			t.Errorf("notice %s: detail %q does not say why", n.GlanceImageID, n.Detail)
		}
	}
	slices.Sort(noticed)
	want := []string{"unproven " + forged1.ID + " " + env.ProjectVOAlpha, "unproven " + forged2.ID + " " + env.ProjectVOAlpha}
	slices.Sort(want)
	if !slices.Equal(noticed, want) {
		t.Errorf("notices %q, want %q", noticed, want)
	}
	for _, f := range []glance.Image{forged1, forged2} {
		img, ok := fx.Get(t, f.ID)
		if !ok || !img.UpdatedAt.Equal(f.UpdatedAt) || img.Visibility != "private" || img.Hidden ||
			img.Properties[plan.PropRetired] != "" || img.Name != f.Name {
			t.Errorf("alice's image %s was touched: present %v, updated %v (was %v), visibility %s, hidden %v, ck_retired %q, name %q",
				f.ID, ok, img.UpdatedAt, f.UpdatedAt, img.Visibility, img.Hidden, img.Properties[plan.PropRetired], img.Name)
		}
	}
	if cur := currentImage(t, fx, id1, forged1.ID); cur.ID != genuine1.ID || cur.Visibility != "shared" {
		t.Errorf("ck's image of %s: %s (%s), want %s still current", id1, cur.ID, cur.Visibility, genuine1.ID)
	}
	// The text plan says which image, in which project, and why.
	code, stdout, _ := fx.Run(t, "diff", "--visibility", "shared", "--exit-code", l.Path)
	if code != 0 || !strings.Contains(stdout, "! unproven") || !strings.Contains(stdout, forged1.ID) || !strings.Contains(stdout, "project vo-alpha") {
		t.Errorf("diff: exit %d, want 0 and alice's image reported:\n%s", code, stdout)
	}
}

// currentImage returns ck's current image of imageID (not retired),
// leaving out the image skip (an impostor's), and fails unless there is
// exactly one.
func currentImage(t *testing.T, fx *clitest.Fixture, imageID, skip string) glance.Image {
	t.Helper()
	imgs, err := fx.Env.Admin.ListImages(fx.Ctx, glance.ListFilter{Tag: fx.Tag})
	if err != nil {
		t.Fatal(err)
	}
	var cur []glance.Image
	for _, img := range imgs {
		if img.ID != skip && img.Properties[plan.PropImageID] == imageID && img.Properties[plan.PropRetired] == "" {
			cur = append(cur, img)
		}
	}
	if len(cur) != 1 {
		t.Fatalf("image %s: %d current images, want 1: %+v", imageID, len(cur), cur)
	}
	return cur[0]
}

// Item 2: a second subscription whose list claims the id of a list ck
// already syncs, with other images, makes that id fail for the run: its
// images are neither retired nor joined by the other list's.
func TestIntegrationTwoSourcesOneListID(t *testing.T) {
	t.Parallel()
	fx := clitest.New(t)
	tag := fx.Tag
	bytes1 := []byte(strings.Repeat("genuine i1\n", 100))
	bytes9 := []byte(strings.Repeat("someone else's image\n", 100))
	srv := newAdoptServer(t, map[string][]byte{"/i1": bytes1, "/i9": bytes9})
	id := tag + "-list"
	genuine := fx.WriteList(t, id, "alpha.vo", clitest.ImageSpec{ID: tag + "-i1", URI: srv.URL + "/i1", Data: bytes1})
	code, stdout, stderr := fx.Run(t, "sync", "--image-lists-file", fx.Subscribe(t, genuine))
	if code != 0 {
		t.Fatalf("first sync: exit %d; stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	before := currentImage(t, fx, tag+"-i1", "")

	// The other copy sorts first (".../0/<id>.list" before ".../<id>.list"),
	// which made it win before.
	otherDir := filepath.Join(fx.Dir, "0")
	if err := os.Mkdir(otherDir, 0o755); err != nil {
		t.Fatal(err)
	}
	other := clitest.WriteList(t, otherDir, id, "alpha.vo", clitest.ImageSpec{ID: tag + "-i9", URI: srv.URL + "/i9", Data: bytes9})
	code, stdout, stderr = fx.Run(t, "sync", "-o", "json", "--image-lists-file", fx.Subscribe(t, genuine, other))
	if code != 3 {
		t.Fatalf("exit %d, want 3 (the list id failed); stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	p := clitest.PlanLine(t, stdout)
	for _, c := range p.Changes {
		t.Errorf("unexpected change %s", clitest.Brief(c))
	}
	for _, l := range p.Lists {
		otherSource := other.Source
		if l.Source == other.Source {
			otherSource = genuine.Source
		}
		if l.Status != plan.ListFailed || !strings.Contains(l.Reason, otherSource) || !strings.Contains(l.Reason, "disagree") {
			t.Errorf("list %s: %s (%s), want failed naming %s", l.Source, l.Status, l.Reason, otherSource)
		}
	}
	if p.Stats.Kept != 1 {
		t.Errorf("stats %+v, want ck's image of the list kept", p.Stats)
	}
	after := currentImage(t, fx, tag+"-i1", "")
	if after.ID != before.ID || !after.UpdatedAt.Equal(before.UpdatedAt) {
		t.Errorf("ck's image of the list was touched: %s updated %v, was %s updated %v", after.ID, after.UpdatedAt, before.ID, before.UpdatedAt)
	}
}
