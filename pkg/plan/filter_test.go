package plan_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ck-sync/ck/pkg/glance"
	"github.com/ck-sync/ck/pkg/imagelist"
	"github.com/ck-sync/ck/pkg/plan"
	pt "github.com/ck-sync/ck/pkg/plan/plantest"
)

// A subscription's image filter (ListInput.Images): only the images it
// names are created or retired by the list; ck's images of the others are
// kept, whatever the list says of them.
func TestBuildImageFilter(t *testing.T) {
	i1 := pt.Image("i1", "Image one", "1")
	i2 := pt.Image("i2", "Image two", "1")
	i3 := pt.Image("i3", "Image three", "1")
	l12 := pt.List("LA", "vo.a", month, i1, i2)
	l1 := pt.List("LA", "vo.a", month, i1)
	expired := pt.List("LA", "vo.a", now.Add(-time.Minute), i1, i2)
	i2exp := mutate(i2, func(i *imagelist.Image) { i.Expires = now.Add(-time.Second) })
	l1exp2 := pt.List("LA", "vo.a", month, i1, i2exp)
	g1, g2, g3 := ck(l12, i1, pa, "g1"), ck(l12, i2, pa, "g2"), ck(pt.List("LA", "vo.a", month, i3), i3, pa, "g3")
	filtered := func(in plan.ListInput, images ...string) plan.ListInput {
		in.Images = images
		return in
	}

	tests := []struct {
		name     string
		lists    []plan.ListInput
		observed []glance.Image
		want     []string
		// kept is Stats.Kept and filtered Stats.Filtered.
		kept, filtered int
		// summary is the first list's filter summary; nil: none.
		summary *plan.FilterSummary
	}{
		{
			name:    "only the filtered-in image is created",
			lists:   []plan.ListInput{filtered(valid(srcA, pa, l12), "i1")},
			want:    []string{"create new project-a LA/i1"},
			summary: &plan.FilterSummary{Entries: []string{"i1"}, FilteredOut: 1},
		},
		{
			name:     "ck's image of a filtered-out listed image is kept, not retired",
			lists:    []plan.ListInput{filtered(valid(srcA, pa, l12), "i1")},
			observed: []glance.Image{g2},
			want:     []string{"create new project-a LA/i1"},
			kept:     1, filtered: 1,
			summary: &plan.FilterSummary{Entries: []string{"i1"}, FilteredOut: 1},
		},
		{
			name:     "filter narrowed: the newly filtered-out image is kept, the other stays as it is",
			lists:    []plan.ListInput{filtered(valid(srcA, pa, l12), "i2")},
			observed: []glance.Image{g1, g2},
			want:     []string{},
			kept:     1, filtered: 1,
			summary: &plan.FilterSummary{Entries: []string{"i2"}, FilteredOut: 1},
		},
		{
			name:     "filter switched: the new one is created, the old one kept",
			lists:    []plan.ListInput{filtered(valid(srcA, pa, l12), "i2")},
			observed: []glance.Image{g1},
			want:     []string{"create new project-a LA/i2"},
			kept:     1, filtered: 1,
			summary: &plan.FilterSummary{Entries: []string{"i2"}, FilteredOut: 1},
		},
		{
			name:     "a filtered-in id absent from the valid list retires as removed-from-list, and is reported",
			lists:    []plan.ListInput{filtered(valid(srcA, pa, l1), "i1", "i3")},
			observed: []glance.Image{g1, g3},
			want:     []string{"retire removed-from-list project-a LA/i3 g3"},
			summary:  &plan.FilterSummary{Entries: []string{"i1", "i3"}, Unmatched: []string{"i3"}},
		},
		{
			name:     "an id neither listed nor filtered in is kept: the list does not claim it",
			lists:    []plan.ListInput{filtered(valid(srcA, pa, l1), "i1")},
			observed: []glance.Image{g1, g3},
			want:     []string{},
			kept:     1, filtered: 1,
			summary: &plan.FilterSummary{Entries: []string{"i1"}},
		},
		{
			name:     "a filtered-out image past its own expiry is kept, not retired",
			lists:    []plan.ListInput{filtered(valid(srcA, pa, l1exp2), "i1")},
			observed: []glance.Image{g1, g2},
			want:     []string{},
			kept:     1, filtered: 1,
			summary: &plan.FilterSummary{Entries: []string{"i1"}, FilteredOut: 1},
		},
		{
			name:     "an expired list retires only its filtered-in images",
			lists:    []plan.ListInput{filtered(valid(srcA, pa, expired), "i1")},
			observed: []glance.Image{g1, g2},
			want:     []string{"retire list-expired project-a LA/i1 g1"},
			kept:     1, filtered: 1,
			summary: &plan.FilterSummary{Entries: []string{"i1"}, FilteredOut: 1},
		},
		{
			name:     "project changed: only the filtered-in image moves, the other stays in the old project",
			lists:    []plan.ListInput{filtered(valid(srcA, pb, l12), "i1")},
			observed: []glance.Image{g1, g2},
			want:     []string{"retire project-changed project-a LA/i1 g1", "create new project-b LA/i1"},
			kept:     1, filtered: 1,
			summary: &plan.FilterSummary{Entries: []string{"i1"}, FilteredOut: 1},
		},
		{
			name:     "a failed list's filter protects nothing more: all its images are kept",
			lists:    []plan.ListInput{filtered(plan.ListInput{Source: srcA, Status: plan.ListFailed, ListID: "LA", Project: pa, Reason: "fetch: 500"}, "i1")},
			observed: []glance.Image{g1, g2},
			want:     []string{},
			kept:     2,
			summary:  &plan.FilterSummary{Entries: []string{"i1"}},
		},
		{
			name:     "a filtered-in entry skipped as malformed is kept and is not reported as naming nothing",
			lists:    []plan.ListInput{filtered(valid(srcA, pa, skipped(l1, badSHA("i2"))), "i1", "i2")},
			observed: []glance.Image{g1, g2},
			want:     []string{},
			kept:     1,
			summary:  &plan.FilterSummary{Entries: []string{"i1", "i2"}},
		},
		{
			name:     "without a filter nothing changes: the unlisted image retires",
			lists:    []plan.ListInput{valid(srcA, pa, l1)},
			observed: []glance.Image{g1, g2},
			want:     []string{"retire removed-from-list project-a LA/i2 g2"},
		},
		{
			name:     "a list no longer subscribed still retires as unsubscribed (no filter applies)",
			lists:    []plan.ListInput{filtered(valid(srcB, pa, pt.List("LB", "vo.a", month, i1)), "i1")},
			observed: []glance.Image{g1, g2},
			want:     []string{"retire unsubscribed project-a LA/i1 g1", "retire unsubscribed project-a LA/i2 g2", "create new project-a LB/i1"},
			summary:  &plan.FilterSummary{Entries: []string{"i1"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := plan.Build(tt.lists, tt.observed, pol, now)
			if err != nil {
				t.Fatal(err)
			}
			if got := brief(p); !slices.Equal(got, tt.want) {
				t.Errorf("changes = %q, want %q", got, tt.want)
			}
			if p.Stats.Kept != tt.kept || p.Stats.Filtered != tt.filtered {
				t.Errorf("kept, filtered = %d, %d; want %d, %d", p.Stats.Kept, p.Stats.Filtered, tt.kept, tt.filtered)
			}
			if got := p.Lists[0].Filter; !reflect.DeepEqual(got, tt.summary) {
				t.Errorf("filter summary = %+v, want %+v", got, tt.summary)
			}
			if p.Lists[0].Status == plan.ListValid {
				assertIdempotent(t, tt.lists, tt.observed, pol, p)
			}
		})
	}
}

// A registry source's filter names images by id, by a tail of the id
// (REPO:TAG) or by tag, across the repositories of a harbor:// source.
func TestBuildImageFilterRegistry(t *testing.T) {
	const src = "harbor://registry.example/egi_vm_images"
	u24 := pt.RegistryImage("registry.example/egi_vm_images/ubuntu:24.04", "u24", 3<<20)
	u22 := pt.RegistryImage("registry.example/egi_vm_images/ubuntu:22.04", "u22", 3<<20)
	a9 := pt.RegistryImage("registry.example/egi_vm_images/alma:9", "a9", 3<<20)
	l := &imagelist.List{ID: src, Title: src, Images: []imagelist.Image{u24, u22, a9}}
	in := func(images ...string) []plan.ListInput {
		return []plan.ListInput{{Source: src, ListID: src, Status: plan.ListValid, List: l, Project: pa, Images: images}}
	}
	have22 := pt.CKImage(l, u22, src, pa, "g-u22", t0, pol)
	tests := []struct {
		name   string
		images []string
		want   []string
	}{
		{"a tag in every repository", []string{"24.04", "9"}, []string{
			"create new project-a " + src + "/" + a9.ID, "create new project-a " + src + "/" + u24.ID}},
		{"REPO:TAG", []string{"ubuntu:24.04"}, []string{"create new project-a " + src + "/" + u24.ID}},
		{"the full id", []string{u24.ID}, []string{"create new project-a " + src + "/" + u24.ID}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := plan.Build(in(tt.images...), []glance.Image{have22}, pol, now)
			if err != nil {
				t.Fatal(err)
			}
			if got := brief(p); !slices.Equal(got, tt.want) {
				t.Errorf("changes = %q, want %q", got, tt.want)
			}
			if p.Stats.Filtered != 1 || p.Stats.Kept != 1 {
				t.Errorf("ubuntu:22.04 is not kept as filtered out: stats = %+v", p.Stats)
			}
		})
	}
}

// Two subscriptions of one list id with different filters cannot both be
// right: neither is used this run, and each one's images are kept.
func TestBuildImageFilterCopies(t *testing.T) {
	i1, i2 := pt.Image("i1", "Image one", "1"), pt.Image("i2", "Image two", "1")
	l := pt.List("LA", "vo.a", month, i1, i2)
	a, b := valid(srcA, pa, l), valid(srcB, pa, l)
	a.Images, b.Images = []string{"i1"}, []string{"i1", "i2"}
	observed := []glance.Image{ck(l, i1, pa, "g1")}
	p, err := plan.Build([]plan.ListInput{a, b}, observed, pol, now)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Empty() || p.Stats.Kept != 1 {
		t.Errorf("changes = %q, stats = %+v; want none, 1 kept", brief(p), p.Stats)
	}
	for _, s := range p.Lists {
		if s.Status != plan.ListFailed || !strings.Contains(s.Reason, `image filters (lists: images) differ: ["i1"] vs ["i1" "i2"]`) {
			t.Errorf("list %s: %s: %s", s.Source, s.Status, s.Reason)
		}
	}

	// The same filter in another order: one list, read through one copy.
	b.Images = []string{"i1", "i1"}
	p, err = plan.Build([]plan.ListInput{a, b}, observed, pol, now)
	if err != nil {
		t.Fatal(err)
	}
	if got := brief(p); len(got) != 0 || p.Lists[1].Status != plan.ListSkipped || p.Stats.Filtered != 0 {
		t.Errorf("changes = %q, lists = %+v", got, p.Lists)
	}
}
