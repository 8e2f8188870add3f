package plan_test

import (
	"reflect"
	"slices"
	"testing"

	"github.com/ck-sync/ck/pkg/glance"
	"github.com/ck-sync/ck/pkg/imagelist"
	"github.com/ck-sync/ck/pkg/plan"
	pt "github.com/ck-sync/ck/pkg/plan/plantest"
)

// An atrope source with vos gives one input per VO (pkg/cli/diff), all
// in the shared copy's project under --share-mode members: they plan one
// image whose members are every VO's project (none for the VO mapped to
// that project itself, as atrope's ops), whatever the order of the VOs.
func TestBuildShareMembersOfEveryVOOfASource(t *testing.T) {
	const home, voA, voB = "home", "vo-a", "vo-b"
	img := pt.Image("i1", "Ubuntu", "1")
	input := func(vo string, members ...string) plan.ListInput {
		return plan.ListInput{Source: srcA, Status: plan.ListValid, List: pt.List("l1", vo, month, img), Project: home, Members: members}
	}
	pol := plan.Policy{ManagedProjects: []string{home}, MaxRetire: -1, FullSet: true, CanAccept: map[string]bool{voA: true, voB: true}, SealKey: pt.SealKey}
	orders := [][]plan.ListInput{
		{input("alpha.vo", voA), input("beta.vo", voB), input("ops")},
		{input("ops"), input("alpha.vo", voA), input("beta.vo", voB)},
		{input("beta.vo", voB), input("ops"), input("alpha.vo", voA)},
	}
	shared := func(members ...string) []glance.Image {
		d := plan.DesiredImage(orders[0][0].List, img, srcA, pol)
		d.Visibility = "shared"
		g := pt.FromDesired(d, home, "g1", t0)
		g.Members = []glance.Member{}
		for _, m := range members {
			g.Members = append(g.Members, glance.Member{ImageID: "g1", ProjectID: m, Status: glance.MemberAccepted})
		}
		return []glance.Image{g}
	}
	tests := []struct {
		name     string
		observed []glance.Image
		want     []string
	}{
		{"nothing yet: one shared image for every VO", nil, []string{"create new home l1/i1"}},
		{"both members accepted: nothing to do (none unshared)", shared(voA, voB), []string{}},
		{"one member missing: shared with it", shared(voA), []string{"share new-member home l1/i1 g1"}},
	}
	for _, tt := range tests {
		for i, in := range orders {
			t.Run(tt.name, func(t *testing.T) {
				p, err := plan.Build(in, tt.observed, pol, now)
				if err != nil {
					t.Fatal(err)
				}
				if got := brief(p); !reflect.DeepEqual(got, tt.want) {
					t.Errorf("order %d: changes:\n got  %q\n want %q", i, got, tt.want)
				}
				for _, c := range p.Changes {
					if c.Action == plan.ActionCreate && (!slices.Equal(c.Desired.Members, []string{voA, voB}) || c.Desired.Visibility != "shared") {
						t.Errorf("order %d: create: members %v, visibility %s; want [vo-a vo-b], shared", i, c.Desired.Members, c.Desired.Visibility)
					}
					if c.Action == plan.ActionShare && c.Member != voB {
						t.Errorf("order %d: shared with %s, want %s", i, c.Member, voB)
					}
				}
				for _, l := range p.Lists {
					if l.Images != 1 {
						t.Errorf("order %d: list summary %+v: want 1 image for each VO", i, l)
					}
				}
				assertIdempotent(t, in, tt.observed, pol, p)
			})
		}
	}
}

// atrope deletes its images of a source that the source no longer gives
// (issue 13: "atrope's leftovers from images no longer published reported,
// not deleted"). ck reports them as legacy-leftover, only for sources it
// read this run, and never changes them.
func TestBuildReportsAtropeLeftovers(t *testing.T) {
	i1, i2 := pt.Image("i1", "Alma", "1"), pt.Image("i2", "Debian", "1")
	l := pt.List("l1", "alpha.vo", month, i1, i2)
	const regSrc = "harbor://reg.example/egi"
	reg := pt.RegistryImage("reg.example/egi/ubuntu:24.04", "u2404", 100)
	rl := pt.List(regSrc, "alpha.vo", month, reg)
	hepix := func(images ...string) plan.ListInput {
		in := valid(srcA, pa, l)
		in.AtropeName, in.Images = "appdb", images
		return in
	}
	registry := plan.ListInput{Source: regSrc, Status: plan.ListValid, List: rl, Project: pa, AtropeName: "egi_vm_images"}
	atrope := func(id, list, appdbID string, size int64, sha512 string) glance.Image {
		return glance.Image{ID: id, Name: appdbID, Owner: pa, Status: "active", Visibility: "shared", Tags: []string{"atrope-catchall"},
			Size: size, HashAlgo: "sha512", HashValue: sha512, CreatedAt: t0, UpdatedAt: t0,
			Properties: map[string]string{plan.PropAtropeImageID: appdbID, plan.PropAtropeList: list, plan.PropAtropeHash: "sha512:" + sha512}}
	}
	listed := atrope("g-listed", "appdb", "i1", i1.Size, i1.SHA512)
	gone := atrope("g-gone", "appdb", "i9", 10, pt.SHA("gone"))
	otherSource := atrope("g-other", "retired-source", "i8", 10, pt.SHA("other"))
	filtered := atrope("g-filtered", "appdb", "i2", i2.Size, i2.SHA512)
	regCurrent := atrope("g-reg", "egi_vm_images", reg.Properties["appdb_id"], reg.Size, pt.LayerSHA512(reg.Digest))
	regOld := atrope("g-reg-old", "egi_vm_images", "reg.example/egi/ubuntu:22.04-sha256:"+pt.SHA("m2204")[:64], 100, pt.SHA("u2204"))
	adopt := plan.Policy{ManagedProjects: []string{pa, pb}, MaxRetire: -1, FullSet: true, Adopt: true, SealKey: pt.SealKey}

	failed := plan.ListInput{Source: srcA, Status: plan.ListFailed, Reason: "fetch: HTTP 500", AtropeName: "appdb"}
	skipped := func(id string) plan.ListInput {
		in := hepix()
		sl := *l
		sl.Skipped = []imagelist.ImageError{{Index: 2, ID: id, Field: "sl:checksum:sha512", Reason: "missing"}}
		in.List = &sl
		return in
	}
	regSkipped := registry
	rls := *rl
	rls.Skipped = []imagelist.ImageError{{ID: "reg.example/egi/ubuntu:22.04", Field: "eu.egi.cloud.tag", Reason: "annotation missing"}}
	regSkipped.List = &rls
	elsewhere := hepix()
	elsewhere.Project = pb
	noName := hepix()
	noName.AtropeName = ""
	tests := []struct {
		name     string
		lists    []plan.ListInput
		observed []glance.Image
		want     []string
	}{
		{"an image the source no longer gives: reported; the listed one adopted; another source's left alone",
			[]plan.ListInput{hepix()}, []glance.Image{listed, gone, otherSource},
			[]string{"adopt atrope " + pa + " l1/i1 g-listed", "create new " + pa + " l1/i2", "notice legacy-leftover " + pa + " l1/i9 g-gone"}},
		{"left out by the source's image filter: reported",
			[]plan.ListInput{hepix("i1")}, []glance.Image{listed, filtered},
			[]string{"adopt atrope " + pa + " l1/i1 g-listed", "notice legacy-leftover " + pa + " l1/i2 g-filtered"}},
		{"the image's entry could not be read: not a leftover",
			[]plan.ListInput{skipped("i9")}, []glance.Image{listed, gone},
			[]string{"adopt atrope " + pa + " l1/i1 g-listed", "create new " + pa + " l1/i2"}},
		{"an entry without an id could not be read: no leftover in that list",
			[]plan.ListInput{skipped("")}, []glance.Image{listed, gone},
			[]string{"adopt atrope " + pa + " l1/i1 g-listed", "create new " + pa + " l1/i2"}},
		{"the source failed: nothing said of its images",
			[]plan.ListInput{failed}, []glance.Image{listed, gone}, []string{}},
		{"not an atrope source (no name): nothing said",
			[]plan.ListInput{noName}, []glance.Image{listed, gone},
			[]string{"adopt atrope " + pa + " l1/i1 g-listed", "create new " + pa + " l1/i2"}},
		{"given in another project (copies): not a leftover",
			[]plan.ListInput{elsewhere}, []glance.Image{listed},
			[]string{"create new " + pb + " l1/i1", "create new " + pb + " l1/i2"}},
		{"a registry tag removed: reported; the current build adopted after a proof",
			[]plan.ListInput{registry}, []glance.Image{regCurrent, regOld},
			[]string{"adopt atrope " + pa + " " + regSrc + "/" + reg.ID + " g-reg", "notice legacy-leftover " + pa + " " + regSrc + "/" + regOld.Properties[plan.PropAtropeImageID] + " g-reg-old"}},
		{"a registry tag whose artifact could not be read: not a leftover",
			[]plan.ListInput{regSkipped}, []glance.Image{regCurrent, regOld},
			[]string{"adopt atrope " + pa + " " + regSrc + "/" + reg.ID + " g-reg"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := plan.Build(tt.lists, tt.observed, adopt, now)
			if err != nil {
				t.Fatal(err)
			}
			if got := append(brief(p), notices(p)...); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("changes and notices:\n got  %q\n want %q", got, tt.want)
			}
			for _, c := range p.Changes {
				if c.GlanceImageID != "" && c.GlanceImageID != "g-listed" && c.GlanceImageID != "g-reg" {
					t.Errorf("a change to an image ck must leave alone: %+v", c)
				}
			}
			if len(tt.lists) == 1 && tt.lists[0].Status == plan.ListFailed {
				return // nothing applies: Build is not re-run on a failed list
			}
			assertIdempotent(t, tt.lists, tt.observed, adopt, p)
		})
	}
}

// ck prune reports the old tools' images the sync plan reported, and
// deletes none of them: they are not ck's.
func TestBuildPruneReportsLegacyNotices(t *testing.T) {
	leftover := glance.Image{ID: "g-left", Owner: pa, Status: "active", Tags: []string{"atrope-catchall"}, CreatedAt: t0, UpdatedAt: t0,
		Properties: map[string]string{plan.PropAtropeImageID: "i9", plan.PropAtropeList: "appdb", plan.PropAtropeHash: "sha512:" + pt.SHA("x")}}
	base := &plan.Plan{Notices: []plan.Notice{
		{Kind: plan.NoticeLegacyLeftover, Project: pa, GlanceImageID: "g-left", ListID: "l1", ImageID: "i9"},
		{Kind: plan.NoticeLegacyUnproven, Project: pa, GlanceImageID: "g-unproven", ListID: "l1", ImageID: "i1"},
		{Kind: plan.NoticeUnproven, Project: pa, GlanceImageID: "g-gone"}, // found again by observing, or not at all
	}}
	p, err := plan.BuildPrune(base, []glance.Image{leftover}, plan.PrunePolicy{Managed: []string{pa}, MaxDelete: -1}, now)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := notices(p), []string{"notice legacy-unproven " + pa + " l1/i1 g-unproven", "notice legacy-leftover " + pa + " l1/i9 g-left"}; !reflect.DeepEqual(got, want) {
		t.Errorf("notices:\n got  %q\n want %q", got, want)
	}
	if len(p.Changes) != 0 {
		t.Errorf("prune plans changes to images that are not ck's: %q", brief(p))
	}
}
