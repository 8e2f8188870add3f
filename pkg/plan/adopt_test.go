package plan_test

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/ck-sync/ck/pkg/glance"
	"github.com/ck-sync/ck/pkg/imagelist"
	"github.com/ck-sync/ck/pkg/plan"
	pt "github.com/ck-sync/ck/pkg/plan/plantest"
)

func TestBuildAdopt(t *testing.T) {
	img := pt.Image("i1", "CernVM", "1")
	l := pt.List("l1", "alpha.vo", month, img)
	other := pt.List("l2", "alpha.vo", month, img) // the same image id in a second list

	ckos := func(id string, edit func(*glance.Image)) glance.Image {
		g := glance.Image{ID: id, Name: "CernVM", Owner: pa, Status: "active", Visibility: "private", Tags: []string{},
			Size: img.Size, HashAlgo: "sha512", HashValue: img.SHA512, CreatedAt: t0, UpdatedAt: t0,
			Properties: map[string]string{plan.PropCKOSListID: "l1", plan.PropCKOSImageID: "i1", plan.PropCKOSStatus: "ACTIVE"}}
		if edit != nil {
			edit(&g)
		}
		return g
	}
	atrope := func(id string, edit func(*glance.Image)) glance.Image {
		g := glance.Image{ID: id, Name: "CernVM", Owner: pa, Status: "active", Visibility: "shared", Tags: []string{"atrope"},
			Size: img.Size, CreatedAt: t0, UpdatedAt: t0, // no os_hash: the recorded hash decides
			Properties: map[string]string{plan.PropAtropeImageID: "i1", plan.PropAtropeList: "egi-fedcloud", plan.PropAtropeHash: "sha512:" + img.SHA512}}
		if edit != nil {
			edit(&g)
		}
		return g
	}
	adopt := plan.Policy{ManagedProjects: []string{pa, pb}, MaxRetire: -1, FullSet: true, Adopt: true}
	noAdopt := adopt
	noAdopt.Adopt = false

	tests := []struct {
		name     string
		lists    []*imagelist.List
		observed []glance.Image
		pol      plan.Policy
		want     []string
	}{
		{"cloudkeeper-os image, same os_hash_value: adopted", nil, []glance.Image{ckos("g1", nil)}, adopt,
			[]string{"adopt cloudkeeper-os " + pa + " l1/i1 g1"}},
		{"atrope image, same recorded image_hash: adopted", nil, []glance.Image{atrope("g1", nil)}, adopt,
			[]string{"adopt atrope " + pa + " l1/i1 g1"}},
		{"older atrope's sha512= form", nil, []glance.Image{atrope("g1", func(g *glance.Image) {
			g.Properties[plan.PropAtropeHash] = "sha512=" + img.SHA512
		})}, adopt, []string{"adopt atrope " + pa + " l1/i1 g1"}},
		{"cloudkeeper-os recorded the checksum in APPLIANCE_ATTRIBUTES", nil, []glance.Image{ckos("g1", func(g *glance.Image) {
			g.HashAlgo, g.HashValue = "", ""
			g.Properties[plan.PropAttributes] = `{"sl:checksum:sha512":"` + img.SHA512 + `"}`
		})}, adopt, []string{"adopt cloudkeeper-os " + pa + " l1/i1 g1"}},
		{"--adopt=false: created, the old image ignored", nil, []glance.Image{ckos("g1", nil)}, noAdopt,
			[]string{"create new " + pa + " l1/i1"}},
		{"bytes differ: replaced, the old image retired", nil, []glance.Image{ckos("g1", func(g *glance.Image) { g.HashValue = pt.SHA("other") })}, adopt,
			[]string{"replace legacy-differs " + pa + " l1/i1 g1"}},
		{"converted by the old tool: Glance's hash wins over the recorded one", nil, []glance.Image{atrope("g1", func(g *glance.Image) {
			g.HashAlgo, g.HashValue = "sha512", pt.SHA("converted")
		})}, adopt, []string{"replace legacy-differs " + pa + " l1/i1 g1"}},
		{"size differs", nil, []glance.Image{ckos("g1", func(g *glance.Image) { g.Size++ })}, adopt,
			[]string{"replace legacy-differs " + pa + " l1/i1 g1"}},
		{"nothing recorded: replaced", nil, []glance.Image{ckos("g1", func(g *glance.Image) { g.HashAlgo, g.HashValue = "md5", "x" })}, adopt,
			[]string{"replace legacy-differs " + pa + " l1/i1 g1"}},
		{"of the two, the one with the right bytes is adopted", nil, []glance.Image{
			ckos("g-new", func(g *glance.Image) { g.HashValue = pt.SHA("other"); g.CreatedAt = now }),
			ckos("g-old", nil),
		}, adopt, []string{"adopt cloudkeeper-os " + pa + " l1/i1 g-old"}},
		{"cloudkeeper-os EOL image: left for cloudkeeper-os", nil, []glance.Image{ckos("g1", func(g *glance.Image) { g.Properties[plan.PropCKOSStatus] = "EOL" })}, adopt,
			[]string{"create new " + pa + " l1/i1"}},
		{"another list's cloudkeeper-os image", nil, []glance.Image{ckos("g1", func(g *glance.Image) { g.Properties[plan.PropCKOSListID] = "l9" })}, adopt,
			[]string{"create new " + pa + " l1/i1"}},
		{"in another project", nil, []glance.Image{ckos("g1", func(g *glance.Image) { g.Owner = pb })}, adopt,
			[]string{"create new " + pa + " l1/i1"}},
		{"not active", nil, []glance.Image{ckos("g1", func(g *glance.Image) { g.Status = "deactivated" })}, adopt,
			[]string{"create new " + pa + " l1/i1"}},
		{"a server snapshot of it", nil, []glance.Image{ckos("g1", func(g *glance.Image) { g.Properties[plan.PropImageType] = "snapshot" })}, adopt,
			[]string{"create new " + pa + " l1/i1"}},
		{"atrope's image id in two lists of the project: ambiguous, not adopted", []*imagelist.List{l, other}, []glance.Image{atrope("g1", nil)}, adopt,
			[]string{"create new " + pa + " l1/i1", "create new " + pa + " l2/i1"}},
		{"ck already has it: the old image is left alone", nil, []glance.Image{ck(l, img, pa, "g-ck"), ckos("g1", nil)}, adopt,
			[]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lists := tt.lists
			if lists == nil {
				lists = []*imagelist.List{l}
			}
			var in []plan.ListInput
			for _, li := range lists {
				in = append(in, valid(srcA, pa, li))
			}
			p, err := plan.Build(in, tt.observed, tt.pol, now)
			if err != nil {
				t.Fatal(err)
			}
			if got := brief(p); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("changes:\n got  %q\n want %q", got, tt.want)
			}
			assertIdempotent(t, in, tt.observed, tt.pol, p)
		})
	}
}

func TestAdoptPatchMakesTheImageCKs(t *testing.T) {
	img := pt.Image("i1", "CernVM", "1")
	l := pt.List("l1", "alpha.vo", month, img)
	d := plan.DesiredImage(l, img, srcA, plan.Policy{})
	old := glance.Image{ID: "g1", Owner: pa, Status: "active", Hidden: true, Tags: []string{"atrope"},
		Properties: map[string]string{plan.PropAtropeImageID: "i1", plan.PropAtropeList: "x", plan.PropAtropeHash: "sha512:" + img.SHA512}}

	adopted, err := pt.ApplyPatch(old, plan.AdoptPatch(old, d))
	if err != nil {
		t.Fatal(err)
	}
	if !plan.IsCK(adopted, plan.DefaultTag, map[string]bool{pa: true}) || adopted.Hidden || !slices.Equal(adopted.Tags, []string{"atrope", "ck"}) {
		t.Errorf("adopted image is not ck's current image: %+v", adopted)
	}
	if adopted.Properties[plan.PropAtropeHash] == "" {
		t.Errorf("atrope's own properties were removed")
	}
	if len(plan.MetadataPatch(adopted, d)) != 0 {
		t.Errorf("adopted metadata still differs: %+v", plan.MetadataPatch(adopted, d))
	}

	retired, err := pt.ApplyPatch(old, plan.LegacyRetirePatch(old, d, now))
	if err != nil {
		t.Fatal(err)
	}
	if !plan.IsCK(retired, plan.DefaultTag, map[string]bool{pa: true}) || retired.Properties[plan.PropRetired] != now.Format(time.RFC3339) || !retired.Hidden {
		t.Errorf("legacy image is not ck's and retired: %+v", retired)
	}
	if retired.Properties[plan.PropSHA512] != img.SHA512 {
		t.Errorf("ck_sha512 = %q, want the recorded hash", retired.Properties[plan.PropSHA512])
	}
}
