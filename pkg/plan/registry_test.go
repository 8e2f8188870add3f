package plan_test

import (
	"maps"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/ck-sync/ck/pkg/glance"
	"github.com/ck-sync/ck/pkg/imagelist"
	"github.com/ck-sync/ck/pkg/plan"
	pt "github.com/ck-sync/ck/pkg/plan/plantest"
)

// Registry images (spec §11): their content is a layer digest (ck_digest)
// and size; the sha512 Glance is checked against is what ck computed of
// the layer when it uploaded it (ck_sha512).
func TestBuildRegistryImages(t *testing.T) {
	const (
		src = "oci://registry.example/egi_vm_images/ubuntu"
		id  = "registry.example/egi_vm_images/ubuntu:24.04"
	)
	v1 := pt.RegistryImage(id, "build 1", 3<<20)
	v2 := pt.RegistryImage(id, "build 2", 3<<20) // the moving tag's next build
	list := func(imgs ...imagelist.Image) *imagelist.List {
		return &imagelist.List{ID: src, Title: src, Images: imgs}
	}
	in := func(l *imagelist.List) []plan.ListInput {
		return []plan.ListInput{{Source: src, Status: plan.ListValid, List: l, Project: pa}}
	}
	img := func(l *imagelist.List, i imagelist.Image, gid string, created time.Time) glance.Image {
		return pt.CKImage(l, i, src, pa, gid, created, pol)
	}
	have1 := img(list(v1), v1, "g-1", t0)
	// A member's upload posing as ck's image of build 1: ck's marks,
	// ck_digest of build 1, its own bytes of the same size, their sha512
	// recorded as ck_sha512 so that Glance "proves" the record.
	impostor := pt.WithGlanceHash(img(list(v1), v1, "g-impostor", t0.Add(time.Hour)), "sha512", pt.SHA("other bytes"), v1.Size)
	impostor.Properties[plan.PropSHA512] = pt.SHA("other bytes")
	// atrope's image of build 1: appdb_id HOST/REPO:TAG-<manifest digest>.
	atrope := func(gid string, size int64, algo, sum string) glance.Image {
		return glance.Image{ID: gid, Name: "registry.egi.eu egi_vm_images/ubuntu:24.04", Owner: pa, Status: "active", Visibility: "private",
			Tags: []string{"atrope-catchall"}, Size: size, HashAlgo: algo, HashValue: sum, CreatedAt: t0,
			Properties: map[string]string{"appdb_id": v1.Properties["appdb_id"], "image_hash": v1.Digest, "image_list": "egi_vm_images"}}
	}

	tests := []struct {
		name     string
		lists    []plan.ListInput
		observed []glance.Image
		want     []string
		check    func(t *testing.T, p *plan.Plan)
	}{
		{name: "new tag: create with the layer digest, no sha512 yet", lists: in(list(v1)),
			want: []string{"create new project-a " + src + "/" + id},
			check: func(t *testing.T, p *plan.Plan) {
				d := p.Changes[0].Desired
				if d.Digest != v1.Digest || d.SHA512 != "" || d.Properties[plan.PropDigest] != v1.Digest || d.Properties[plan.PropSHA512] != "" {
					t.Errorf("desired = %+v", d)
				}
				if d.Properties["appdb_id"] != v1.Properties["appdb_id"] || d.Properties["os_type"] != "linux" || p.Changes[0].Digest != v1.Digest {
					t.Errorf("properties = %v", d.Properties)
				}
			}},
		{name: "no-op: the same layer, Glance proves ck's record", lists: in(list(v1)), observed: []glance.Image{have1}, want: []string{},
			check: func(t *testing.T, p *plan.Plan) {
				if p.Stats.Unchanged != 1 {
					t.Errorf("stats = %+v", p.Stats)
				}
			}},
		{name: "the moving tag got a new build: replace", lists: in(list(v2)), observed: []glance.Image{have1},
			want: []string{"replace content-changed project-a " + src + "/" + id + " g-1"}},
		{name: "the tag left the registry: retire", lists: in(list()), observed: []glance.Image{have1},
			want: []string{"retire removed-from-list project-a " + src + "/" + id + " g-1"}},
		{name: "a newer image claiming the same layer with another sha512 is left alone", lists: in(list(v1)), observed: []glance.Image{have1, impostor},
			want: []string{"notice unproven project-a " + src + "/" + id + " g-impostor"}},
		{name: "a genuine duplicate (same layer, same sha512) is retired", lists: in(list(v1)), observed: []glance.Image{have1, img(list(v1), v1, "g-dup", t0.Add(time.Hour))},
			want: []string{"retire duplicate project-a " + src + "/" + id + " g-1"}},
		{name: "on a sha256 Glance the layer digest itself is proven", lists: in(list(v1)),
			observed: []glance.Image{pt.WithGlanceHash(have1, "sha256", v1.Digest[len("sha256:"):], v1.Size)}, want: []string{}},
		{name: "on a sha256 Glance an image of other bytes is unproven", lists: in(list(v1)),
			observed: []glance.Image{pt.WithGlanceHash(have1, "sha256", pt.SHA("x")[:64], v1.Size)},
			want:     []string{"create new project-a " + src + "/" + id, "notice unproven project-a " + src + "/" + id + " g-1"}},
		{name: "atrope's image of the build: adopt, proven by one download", lists: in(list(v1)),
			observed: []glance.Image{atrope("g-atrope", v1.Size, "sha512", pt.LayerSHA512(v1.Digest))},
			want:     []string{"adopt atrope project-a " + src + "/" + id + " g-atrope"},
			check: func(t *testing.T, p *plan.Plan) {
				c := p.Changes[0]
				if !c.Prove || c.Desired == nil || c.Desired.URI != v1.URI {
					t.Errorf("adopt = %+v", c)
				}
			}},
		{name: "atrope's image converted to raw (other size): not adopted, left alone", lists: in(list(v1)),
			observed: []glance.Image{atrope("g-atrope", 10<<30, "sha512", pt.SHA("raw"))},
			want:     []string{"create new project-a " + src + "/" + id, "notice legacy-unproven project-a " + src + "/" + id + " g-atrope"}},
		{name: "atrope's image on a sha256 Glance: adopted without a download", lists: in(list(v1)),
			observed: []glance.Image{atrope("g-atrope", v1.Size, "sha256", v1.Digest[len("sha256:"):])},
			want:     []string{"adopt atrope project-a " + src + "/" + id + " g-atrope"},
			check: func(t *testing.T, p *plan.Plan) {
				if p.Changes[0].Prove {
					t.Error("a download is planned although Glance proves the layer")
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pol := pol
			pol.Adopt = true
			p, err := plan.Build(tt.lists, tt.observed, pol, now)
			if err != nil {
				t.Fatal(err)
			}
			if got := append(brief(p), notices(p)...); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("plan:\n got  %q\n want %q", got, tt.want)
			}
			if tt.check != nil {
				tt.check(t, p)
			}
			// Applying the plan converges: a second plan is empty.
			after, err := pt.Apply(tt.observed, p, now)
			if err != nil {
				t.Fatal(err)
			}
			again, err := plan.Build(tt.lists, after, pol, now)
			if err != nil {
				t.Fatal(err)
			}
			if !again.Empty() {
				t.Errorf("not idempotent: %q", brief(again))
			}
		})
	}
}

// The patch of a registry image never removes the sha512 ck recorded on
// upload, and never removes what the source adds for downstream readers.
func TestMetadataPatchRegistry(t *testing.T) {
	v1 := pt.RegistryImage("r.example/p/r:1", "b1", 100)
	l := &imagelist.List{ID: "oci://r.example/p/r", Images: []imagelist.Image{v1}}
	d := plan.DesiredImage(l, v1, "oci://r.example/p/r", pol)
	g := pt.FromDesired(d, pa, "g", t0)
	if ops := plan.MetadataPatch(g, d); len(ops) != 0 {
		t.Fatalf("patch of an up-to-date image: %+v", ops)
	}
	g.Properties["os_type"] = "windows"
	delete(g.Properties, "image_hash")
	ops := plan.MetadataPatch(g, d)
	paths := []string{}
	for _, op := range ops {
		paths = append(paths, op.Op+" "+op.Path)
	}
	slices.Sort(paths)
	if want := []string{"add /image_hash", "replace /os_type"}; !reflect.DeepEqual(paths, want) {
		t.Errorf("patch = %v, want %v", paths, want)
	}
}

// A registry source with two VOs (vos: [a, b]) gives one input per VO
// project, with one source and one list id: they are not copies of one
// list that disagree on the project, and each project gets the images.
func TestBuildRegistrySourceWithTwoVOs(t *testing.T) {
	const src = "oci://registry.example/egi_vm_images/ubuntu"
	u := pt.RegistryImage("registry.example/egi_vm_images/ubuntu:24.04", "u", 3<<20)
	l := &imagelist.List{ID: src, Title: src, Images: []imagelist.Image{u}}
	in := func(project string) plan.ListInput {
		return plan.ListInput{Source: src, ListID: src, Status: plan.ListValid, List: l, Project: project}
	}
	p, err := plan.Build([]plan.ListInput{in(pa), in(pb)}, nil, pol, now)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"create new project-a " + src + "/" + u.ID, "create new project-b " + src + "/" + u.ID}
	if got := brief(p); !slices.Equal(got, want) {
		t.Errorf("changes = %q, want %q", got, want)
	}
	for _, s := range p.Lists {
		if s.Status != plan.ListValid {
			t.Errorf("list %s in %s: %s: %s", s.Source, s.Project, s.Status, s.Reason)
		}
	}
	assertIdempotent(t, []plan.ListInput{in(pa), in(pb)}, nil, pol, p)
}

// Images only a download can prove (no seal that holds: made before ck
// sealed, or under another key) are proven when listed, replaced when
// their tag moved, and retired like proven ones when no longer listed: a
// retirement only hides an image; prune deletes only proven ones.
func TestBuildProvableImages(t *testing.T) {
	const (
		src = "oci://registry.example/egi_vm_images/ubuntu"
		id  = "registry.example/egi_vm_images/ubuntu:24.04"
	)
	v1 := pt.RegistryImage(id, "build 1", 3<<20)
	v2 := pt.RegistryImage(id, "build 2", 3<<20)
	list := func(imgs ...imagelist.Image) *imagelist.List {
		return &imagelist.List{ID: src, Title: src, Images: imgs}
	}
	in := func(l *imagelist.List) []plan.ListInput {
		return []plan.ListInput{{Source: src, Status: plan.ListValid, List: l, Project: pa}}
	}
	unsealed := pt.CKImage(list(v1), v1, src, pa, "g-1", t0, pol)
	delete(unsealed.Properties, plan.PropSeal)
	hepix := pt.Image("i1", "Image one", "1")
	lA := pt.List("LA", "vo.a", month, hepix)
	onSHA256 := pt.WithGlanceHash(ck(lA, hepix, pa, "g-h"), "sha256", pt.SHA("x")[:64], hepix.Size) // its seal no longer holds either

	tests := []struct {
		name     string
		lists    []plan.ListInput
		observed []glance.Image
		want     []string
	}{
		{"listed: proven by a download, then sealed", in(list(v1)), []glance.Image{unsealed},
			[]string{"update-metadata unsealed project-a " + src + "/" + id + " g-1"}},
		{"its tag moved: replaced", in(list(v2)), []glance.Image{unsealed},
			[]string{"replace content-changed project-a " + src + "/" + id + " g-1"}},
		{"no longer listed: retired", in(list()), []glance.Image{unsealed},
			[]string{"retire removed-from-list project-a " + src + "/" + id + " g-1"}},
		{"a HEPiX image on a sha256 Glance without its seal: proven", []plan.ListInput{valid(srcA, pa, lA)}, []glance.Image{onSHA256},
			[]string{"update-metadata unsealed project-a LA/i1 g-h"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := plan.Build(tt.lists, tt.observed, pol, now)
			if err != nil {
				t.Fatal(err)
			}
			if got := append(brief(p), notices(p)...); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("plan:\n got  %q\n want %q", got, tt.want)
			}
		})
	}
	// Retired and only provable: prune leaves it (reported), never deletes.
	retired := unsealed
	retired.Properties = maps.Clone(unsealed.Properties)
	retired.Properties[plan.PropRetired] = t0.Format(time.RFC3339)
	p, err := plan.BuildPrune(nil, []glance.Image{retired}, plan.PrunePolicy{Managed: []string{pa}, MaxDelete: -1, SealKey: pt.SealKey}, now)
	if err != nil || p.Stats.Delete != 0 || len(p.Notices) != 1 {
		t.Errorf("prune of a provable retired image: %+v, %v", p, err)
	}
}

// An upload of ck's killed before it verified the bytes carries ck's keyed
// mark in ck_unverified: prune deletes it after AbandonedAfter even when
// only a seal (which it never got) could prove its bytes; a member's image
// with a plain ck_unverified is never deleted.
func TestBuildPruneAbandonedMarkedUploads(t *testing.T) {
	v1 := pt.RegistryImage("r.example/p/r:1", "b1", 100)
	l := &imagelist.List{ID: "oci://r.example/p/r", Images: []imagelist.Image{v1}}
	img := pt.CKImage(l, v1, "oci://r.example/p/r", pa, "g-killed", now.Add(-2*plan.AbandonedAfter), pol)
	delete(img.Properties, plan.PropSeal)
	img.Properties[plan.PropUnverified] = plan.UnverifiedMark(pt.SealKey, img)
	member := img
	member.ID = "g-member"
	member.Properties = maps.Clone(img.Properties)
	member.Properties[plan.PropUnverified] = "true"
	p, err := plan.BuildPrune(nil, []glance.Image{img, member}, plan.PrunePolicy{Managed: []string{pa}, MaxDelete: -1, SealKey: pt.SealKey}, now)
	if err != nil {
		t.Fatal(err)
	}
	if got := brief(p); !reflect.DeepEqual(got, []string{"delete abandoned project-a oci://r.example/p/r/r.example/p/r:1 g-killed"}) {
		t.Errorf("changes %q", got)
	}
	if len(p.Notices) != 1 || p.Notices[0].GlanceImageID != "g-member" {
		t.Errorf("notices %+v", p.Notices)
	}
}
