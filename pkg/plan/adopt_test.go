package plan_test

import (
	"cmp"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

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
			Size: img.Size, HashAlgo: "sha512", HashValue: img.SHA512, CreatedAt: t0, UpdatedAt: t0,
			Properties: map[string]string{plan.PropAtropeImageID: "i1", plan.PropAtropeList: "egi-fedcloud", plan.PropAtropeHash: "sha512:" + img.SHA512}}
		if edit != nil {
			edit(&g)
		}
		return g
	}
	adopt := plan.Policy{ManagedProjects: []string{pa, pb}, MaxRetire: -1, FullSet: true, Adopt: true}
	// An old tool's image whose bytes Glance does not prove is neither
	// adopted nor retired (it may be anyone's): reported, and the listed
	// image created next to it.
	unproven := []string{"create new " + pa + " l1/i1", "notice legacy-unproven " + pa + " l1/i1 g1"}
	noAdopt := adopt
	noAdopt.Adopt = false

	type adoptCase struct {
		name     string
		lists    []*imagelist.List
		observed []glance.Image
		pol      plan.Policy
		want     []string
	}
	tests := []adoptCase{
		{"cloudkeeper-os image, same os_hash_value: adopted", nil, []glance.Image{ckos("g1", nil)}, adopt,
			[]string{"adopt cloudkeeper-os " + pa + " l1/i1 g1"}},
		{"atrope image, same os_hash_value: adopted", nil, []glance.Image{atrope("g1", nil)}, adopt,
			[]string{"adopt atrope " + pa + " l1/i1 g1"}},
		{"Glance's sha512 in upper case", nil, []glance.Image{ckos("g1", func(g *glance.Image) { g.HashValue = strings.ToUpper(img.SHA512) })}, adopt,
			[]string{"adopt cloudkeeper-os " + pa + " l1/i1 g1"}},
		{"--adopt=false: created, the old image ignored", nil, []glance.Image{ckos("g1", nil)}, noAdopt,
			[]string{"create new " + pa + " l1/i1"}},
		{"bytes differ: replaced, the old image retired", nil, []glance.Image{ckos("g1", func(g *glance.Image) { g.HashValue = pt.SHA("other") })}, adopt,
			unproven},
		{"converted by the old tool: Glance's hash wins over the recorded one", nil, []glance.Image{atrope("g1", func(g *glance.Image) {
			g.HashAlgo, g.HashValue = "sha512", pt.SHA("converted")
		})}, adopt, unproven},
		{"size differs", nil, []glance.Image{ckos("g1", func(g *glance.Image) { g.Size++ })}, adopt,
			unproven},
		{"nothing recorded: replaced", nil, []glance.Image{ckos("g1", func(g *glance.Image) { g.HashAlgo, g.HashValue = "md5", "x" })}, adopt,
			unproven},
		{"Glance does not know the size", nil, []glance.Image{ckos("g1", func(g *glance.Image) { g.Size = 0 })}, adopt,
			unproven},
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
	// The checksums the old tools recorded are properties any member of the
	// project can write: they never make an image adoptable, only Glance's
	// own sha512 does.
	forged := map[string]func(*glance.Image){
		"atrope image_hash sha512:": func(g *glance.Image) { g.Properties[plan.PropAtropeHash] = "sha512:" + img.SHA512 },
		"atrope image_hash sha512=": func(g *glance.Image) { g.Properties[plan.PropAtropeHash] = "sha512=" + img.SHA512 },
		"sl:checksum:sha512":        func(g *glance.Image) { g.Properties["sl:checksum:sha512"] = img.SHA512 },
		"APPLIANCE_ATTRIBUTES": func(g *glance.Image) {
			g.Properties[plan.PropAttributes] = `{"sl:checksum:sha512":"` + img.SHA512 + `"}`
		},
		"APPLIANCE_ATTRIBUTES hv:image": func(g *glance.Image) {
			g.Properties[plan.PropAttributes] = `{"hv:image":{"sl:checksum:sha512":"` + img.SHA512 + `"}}`
		},
	}
	for _, algo := range []string{"md5", "sha256", ""} {
		for _, name := range slices.Sorted(maps.Keys(forged)) {
			value := map[string]string{"md5": "0123456789abcdef0123456789abcdef", "sha256": pt.SHA("x")[:64]}[algo]
			edit := func(g *glance.Image) { g.HashAlgo, g.HashValue = algo, value; forged[name](g) }
			tests = append(tests,
				adoptCase{"os_hash_algo " + cmp.Or(algo, "empty") + ", matching " + name + ": cloudkeeper-os image not adopted", nil,
					[]glance.Image{ckos("g1", edit)}, adopt, unproven},
				adoptCase{"os_hash_algo " + cmp.Or(algo, "empty") + ", matching " + name + ": atrope image not adopted", nil,
					[]glance.Image{atrope("g1", edit)}, adopt, unproven},
			)
		}
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
			if got := append(brief(p), notices(p)...); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("changes and notices:\n got  %q\n want %q", got, tt.want)
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
}
