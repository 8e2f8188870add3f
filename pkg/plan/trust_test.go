package plan_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ck-sync/ck/pkg/glance"
	"github.com/ck-sync/ck/pkg/imagelist"
	"github.com/ck-sync/ck/pkg/plan"
	pt "github.com/ck-sync/ck/pkg/plan/plantest"
)

// Issue 11 item 1: ck's tag and its ck_* properties can be written by any
// member of a project on an image of their own. Only what Glance computed
// of the bytes (os_hash_algo sha512, os_hash_value, size) says what an
// image holds; an image whose marks Glance does not back is reported and
// left alone.
func TestBuildTrustsOnlyWhatGlanceProves(t *testing.T) {
	i1 := pt.Image("i1", "Image one", "1")
	lA := pt.List("LA", "vo.a", month, i1)
	lEmpty := pt.List("LA", "vo.a", month)
	genuine := ck(lA, i1, pa, "g-genuine")
	// forged copies ck's marks onto other bytes, and is newer than ck's
	// image, which made it win as "newest" before.
	forged := func(id string, edit func(*glance.Image)) glance.Image {
		g := pt.WithGlanceHash(ck(lA, i1, pa, id), "sha512", pt.SHA("forged"), 4096)
		g.CreatedAt = now.Add(-time.Hour)
		if edit != nil {
			edit(&g)
		}
		return g
	}
	// converted is an image ck stored converted (qcow2 → raw): Glance's
	// hash is of the raw bytes, ck's record links them to the list's.
	// ck seals it, having verified the bytes; unsealed, only a download
	// (re-made and compared) proves it.
	unsealedConverted := func(id string, created time.Time) glance.Image {
		g := pt.WithGlanceHash(ck(lA, i1, pa, id), "sha512", pt.SHA("raw of i1"), 8<<30)
		g.DiskFormat, g.Properties[plan.PropSourceFormat], g.CreatedAt = "raw", "qcow2", created
		delete(g.Properties, plan.PropSeal)
		return g
	}
	converted := func(id string, created time.Time) glance.Image { return pt.Sealed(unsealedConverted(id, created)) }

	tests := []struct {
		name     string
		lists    []plan.ListInput
		observed []glance.Image
		want     []string // changes, then notices
		stats    func(plan.Stats) bool
	}{
		{
			name:     "a newer forgery does not retire the genuine image and gets no patch",
			lists:    []plan.ListInput{valid(srcA, pa, lA)},
			observed: []glance.Image{genuine, forged("g-forged", func(g *glance.Image) { g.Visibility = "community"; g.Name = "Image one!" })},
			want:     []string{"notice unproven project-a LA/i1 g-forged"},
			stats:    func(s plan.Stats) bool { return s.Unchanged == 1 && s.Unproven == 1 && s.Retire == 0 },
		},
		{
			name:     "a forgery whose size alone differs is unproven too",
			lists:    []plan.ListInput{valid(srcA, pa, lA)},
			observed: []glance.Image{genuine, forged("g-forged", func(g *glance.Image) { g.HashValue, g.Size = i1.SHA512, i1.Size+1 })},
			want:     []string{"notice unproven project-a LA/i1 g-forged"},
		},
		{
			name:  "an image Glance hashed with another algorithm proves nothing",
			lists: []plan.ListInput{valid(srcA, pa, lA)},
			observed: []glance.Image{forged("g-md5", func(g *glance.Image) {
				g.HashAlgo, g.HashValue, g.Size = "md5", "0123456789abcdef0123456789abcdef", i1.Size
			})},
			want: []string{"create new project-a LA/i1", "notice unproven project-a LA/i1 g-md5"},
		},
		{
			name:     "the only image of a key unproven: a genuine one is created, the other left alone",
			lists:    []plan.ListInput{valid(srcA, pa, lA)},
			observed: []glance.Image{forged("g-forged", nil)},
			want:     []string{"create new project-a LA/i1", "notice unproven project-a LA/i1 g-forged"},
			stats:    func(s plan.Stats) bool { return s.Create == 1 && s.Unproven == 1 },
		},
		{
			name:     "an unproven image of a key no list wants is not retired",
			lists:    []plan.ListInput{valid(srcA, pa, lEmpty)},
			observed: []glance.Image{forged("g-forged", nil)},
			want:     []string{"notice unproven project-a LA/i1 g-forged"},
		},
		{
			name:     "an unproven image with ck_retired is not republished",
			lists:    []plan.ListInput{valid(srcA, pa, lA)},
			observed: []glance.Image{retiredImg(forged("g-forged", nil))},
			want:     []string{"create new project-a LA/i1", "notice unproven project-a LA/i1 g-forged"},
		},
		{
			name:     "an image ck stored converted is vouched for by ck's record",
			lists:    []plan.ListInput{valid(srcA, pa, lA)},
			observed: []glance.Image{converted("g-raw", t0)},
			want:     []string{},
			stats:    func(s plan.Stats) bool { return s.Unchanged == 1 && s.Unproven == 0 },
		},
		{
			name:     "an unsealed converted image next to a proven one is left alone, whichever is newer",
			lists:    []plan.ListInput{valid(srcA, pa, lA)},
			observed: []glance.Image{genuine, unsealedConverted("g-raw", now.Add(-time.Minute))},
			want:     []string{"notice unproven project-a LA/i1 g-raw"},
			stats:    func(s plan.Stats) bool { return s.Unchanged == 1 && s.Retire == 0 },
		},
		{
			name:     "of two sealed converted images the newer is kept, as before",
			lists:    []plan.ListInput{valid(srcA, pa, lA)},
			observed: []glance.Image{converted("g-raw-old", t0), converted("g-raw-new", t0.Add(time.Hour))},
			want:     []string{"retire duplicate project-a LA/i1 g-raw-old"},
		},
		{
			name:     "an unsealed converted image is proven by a download, then sealed",
			lists:    []plan.ListInput{valid(srcA, pa, lA)},
			observed: []glance.Image{unsealedConverted("g-raw", t0)},
			want:     []string{"update-metadata unsealed project-a LA/i1 g-raw"},
		},
		{
			name:     "a newer unsealed converted image (a member's, with ck's marks) does not beat a sealed one",
			lists:    []plan.ListInput{valid(srcA, pa, lA)},
			observed: []glance.Image{converted("g-raw", t0), unsealedConverted("g-forged", t0.Add(time.Hour))},
			want:     []string{"notice unproven project-a LA/i1 g-forged"},
		},
		{
			name:  "a seal copied onto another image does not hold",
			lists: []plan.ListInput{valid(srcA, pa, lA)},
			observed: []glance.Image{converted("g-raw", t0), func() glance.Image {
				g := unsealedConverted("g-copy", t0.Add(time.Hour))
				g.Properties[plan.PropSeal] = converted("g-raw", t0).Properties[plan.PropSeal]
				return g
			}()},
			want: []string{"notice unproven project-a LA/i1 g-copy"},
		},
		{
			name:     "duplicates Glance proves are still retired, newest kept",
			lists:    []plan.ListInput{valid(srcA, pa, lA)},
			observed: []glance.Image{genuine, func() glance.Image { g := ck(lA, i1, pa, "g-newer"); g.CreatedAt = t0.Add(time.Hour); return g }()},
			want:     []string{"retire duplicate project-a LA/i1 g-genuine"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := plan.Build(tt.lists, tt.observed, pol, now)
			if err != nil {
				t.Fatal(err)
			}
			if got := append(brief(p), notices(p)...); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("changes and notices:\n got  %q\n want %q", got, tt.want)
			}
			if tt.stats != nil && !tt.stats(p.Stats) {
				t.Errorf("stats = %+v", p.Stats)
			}
			for _, c := range p.Changes {
				if strings.Contains(c.GlanceImageID, "forged") || strings.Contains(c.GlanceImageID, "md5") {
					t.Errorf("change %s %s touches the unproven image %s", c.Action, c.Reason, c.GlanceImageID)
				}
			}
			for _, n := range p.Notices {
				if n.Project != pa || n.Detail == "" || n.Name == "" {
					t.Errorf("notice lacks its project, name or detail: %+v", n)
				}
			}
			assertIdempotent(t, tt.lists, tt.observed, pol, p)
		})
	}
}

// Issue 11 item 1, prune side: an image carrying ck's marks whose bytes
// Glance does not prove is never deleted, however long ago its (forgeable)
// ck_retired says it was retired.
func TestBuildPruneNeverDeletesUnprovenImages(t *testing.T) {
	i1 := pt.Image("i1", "Image one", "1")
	lA := pt.List("LA", "vo.a", month, i1)
	old := now.Add(-30 * 24 * time.Hour).Format(time.RFC3339)
	retiredGenuine := ck(lA, i1, pa, "g-genuine")
	retiredGenuine.Properties[plan.PropRetired] = old
	retiredForged := pt.WithGlanceHash(ck(lA, i1, pa, "g-forged"), "sha512", pt.SHA("forged"), 4096)
	retiredForged.Properties[plan.PropRetired] = old
	unverifiedForged := pt.WithGlanceHash(ck(lA, i1, pa, "g-unverified"), "sha512", pt.SHA("forged"), 4096)
	unverifiedForged.Properties[plan.PropUnverified] = "true"
	unverifiedForged.CreatedAt = now.Add(-48 * time.Hour)

	p, err := plan.BuildPrune(nil, []glance.Image{retiredGenuine, retiredForged, unverifiedForged}, plan.PrunePolicy{Managed: []string{pa}, Grace: plan.DefaultGrace, MaxDelete: -1}, now)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"delete grace-over project-a LA/i1 g-genuine",
		"notice unproven project-a LA/i1 g-forged",
		"notice unproven project-a LA/i1 g-unverified",
	}
	if got := append(brief(p), notices(p)...); !reflect.DeepEqual(got, want) {
		t.Errorf("changes and notices:\n got  %q\n want %q", got, want)
	}
	if p.Stats.Unproven != 2 {
		t.Errorf("stats = %+v, want 2 unproven", p.Stats)
	}
}

// Issue 11 item 6: an image an operator deactivated is reported, and its
// key is left as it is: no upload next to it, no retirement, no patch.
func TestBuildLeavesDeactivatedImagesAlone(t *testing.T) {
	i1 := pt.Image("i1", "Image one", "1")
	lA := pt.List("LA", "vo.a", month, i1)
	deactivated := func(l *imagelist.List, img imagelist.Image) glance.Image {
		g := ck(l, img, pa, "g-deact")
		g.Status = "deactivated"
		return g
	}
	newer := mutate(i1, func(i *imagelist.Image) { i.SHA512, i.Version = pt.SHA("i1@2"), "2" })
	tests := []struct {
		name     string
		lists    []plan.ListInput
		observed []glance.Image
	}{
		{"listed, same bytes", []plan.ListInput{valid(srcA, pa, lA)}, []glance.Image{deactivated(lA, i1)}},
		{"listed with new bytes", []plan.ListInput{valid(srcA, pa, pt.List("LA", "vo.a", month, newer))}, []glance.Image{deactivated(lA, i1)}},
		{"removed from its list", []plan.ListInput{valid(srcA, pa, pt.List("LA", "vo.a", month))}, []glance.Image{deactivated(lA, i1)}},
		{"its list expired", []plan.ListInput{{Source: srcA, Status: plan.ListExpired, List: pt.List("LA", "vo.a", now.Add(-time.Hour), i1), Project: pa}}, []glance.Image{deactivated(lA, i1)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := plan.Build(tt.lists, tt.observed, pol, now)
			if err != nil {
				t.Fatal(err)
			}
			want := []string{"notice deactivated project-a LA/i1 g-deact"}
			if got := append(brief(p), notices(p)...); !reflect.DeepEqual(got, want) {
				t.Errorf("changes and notices:\n got  %q\n want %q", got, want)
			}
			if p.Stats.Deactivated != 1 || p.Stats.Unusable != 1 {
				t.Errorf("stats = %+v, want 1 deactivated (a part of unusable)", p.Stats)
			}
		})
	}
	// Prune deactivates the retired images it could not delete: those stay
	// its business, not frozen.
	g := retiredImg(deactivated(lA, i1))
	p, err := plan.Build([]plan.ListInput{valid(srcA, pa, lA)}, []glance.Image{g}, pol, now)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := brief(p), []string{"create new project-a LA/i1"}; !reflect.DeepEqual(got, want) || len(p.Notices) != 0 {
		t.Errorf("retired, deactivated by prune: changes %q notices %+v, want %q and none", got, p.Notices, want)
	}
}
