package plan_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
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

const (
	pa   = "project-a"
	pb   = "project-b"
	srcA = "https://lists.example.org/a.list"
	srcB = "https://lists.example.org/b.list"
)

var (
	now   = pt.Now
	month = pt.Now.Add(30 * 24 * time.Hour)
	t0    = pt.Now.Add(-10 * 24 * time.Hour)
	pol   = plan.Policy{ManagedProjects: []string{pa, pb}, MaxRetire: -1, FullSet: true, SealKey: pt.SealKey}
)

// brief renders a plan's changes as "action reason project list/image glance-id".
func brief(p *plan.Plan) []string {
	out := []string{}
	for _, c := range p.Changes {
		out = append(out, strings.TrimSpace(fmt.Sprintf("%s %s %s %s/%s %s", c.Action, c.Reason, c.Project, c.ListID, c.ImageID, c.GlanceImageID)))
	}
	return out
}

// notices renders a plan's notices as "notice kind project list/image glance-id".
func notices(p *plan.Plan) []string {
	out := []string{}
	for _, n := range p.Notices {
		out = append(out, fmt.Sprintf("notice %s %s %s/%s %s", n.Kind, n.Project, n.ListID, n.ImageID, n.GlanceImageID))
	}
	return out
}

func valid(src, project string, l *imagelist.List) plan.ListInput {
	return plan.ListInput{Source: src, Status: plan.ListValid, List: l, Project: project}
}

func ck(l *imagelist.List, img imagelist.Image, project, id string) glance.Image {
	return pt.CKImage(l, img, srcA, project, id, t0, pol)
}

func retiredImg(g glance.Image) glance.Image {
	g.Properties[plan.PropRetired] = t0.Format(time.RFC3339)
	g.Hidden = true
	return g
}

// skipped returns a copy of l with entries the parser skipped as malformed.
func skipped(l *imagelist.List, errs ...imagelist.ImageError) *imagelist.List {
	c := *l
	c.Skipped = append(slices.Clone(l.Skipped), errs...)
	return &c
}

func badSHA(id string) imagelist.ImageError {
	return imagelist.ImageError{Index: 0, ID: id, Field: "sl:checksum:sha512", Reason: "not 128 hex digits"}
}

func dupOf(id string) imagelist.ImageError {
	return imagelist.ImageError{Index: 1, ID: id, Field: "dc:identifier", Reason: "duplicate of image #0; the first entry wins"}
}

func noID() imagelist.ImageError {
	return imagelist.ImageError{Index: 3, Field: "dc:identifier", Reason: "missing"}
}

func mutate(img imagelist.Image, f func(*imagelist.Image)) imagelist.Image {
	f(&img)
	return pt.WithRaw(img)
}

func TestBuild(t *testing.T) {
	i1 := pt.Image("i1", "Image one", "1")
	i2 := pt.Image("i2", "Image two", "1")
	lA := pt.List("LA", "vo.a", month, i1)
	lA2 := pt.List("LA", "vo.a", month, i1, i2)
	lB := pt.List("LB", "vo.b", month, i1) // same image id as in LA
	lAexpired := pt.List("LA", "vo.a", now.Add(-time.Minute), i1)
	i1exp := mutate(i1, func(i *imagelist.Image) { i.Expires = now.Add(-time.Second) })
	lAimgExpired := pt.List("LA", "vo.a", month, i1exp)
	lEmpty := pt.List("LA", "vo.a", month)
	gi1 := ck(lA, i1, pa, "g1")
	newer := func(g glance.Image, id string, d time.Duration) glance.Image {
		g = ck(lA, i1, pa, id)
		g.CreatedAt = t0.Add(d)
		return g
	}
	withProp := func(g glance.Image, k, v string) glance.Image {
		g.Properties[k] = v
		return g
	}

	tests := []struct {
		name      string
		lists     []plan.ListInput
		observed  []glance.Image
		policy    *plan.Policy
		want      []string
		wantStats func(plan.Stats) bool
	}{
		{
			name:  "new image is created",
			lists: []plan.ListInput{valid(srcA, pa, lA)},
			want:  []string{"create new project-a LA/i1"},
		},
		{
			name:      "up to date image is unchanged",
			lists:     []plan.ListInput{valid(srcA, pa, lA)},
			observed:  []glance.Image{gi1},
			want:      []string{},
			wantStats: func(s plan.Stats) bool { return s.Unchanged == 1 && s.Managed == 1 },
		},
		{
			name:     "changed sha512 replaces",
			lists:    []plan.ListInput{valid(srcA, pa, pt.List("LA", "vo.a", month, mutate(i1, func(i *imagelist.Image) { i.SHA512 = pt.SHA("other") })))},
			observed: []glance.Image{gi1},
			want:     []string{"replace content-changed project-a LA/i1 g1"},
		},
		{
			name:     "changed size replaces",
			lists:    []plan.ListInput{valid(srcA, pa, pt.List("LA", "vo.a", month, mutate(i1, func(i *imagelist.Image) { i.Size++ })))},
			observed: []glance.Image{gi1},
			want:     []string{"replace content-changed project-a LA/i1 g1"},
		},
		{
			name:     "new hv:version with the same bytes updates metadata",
			lists:    []plan.ListInput{valid(srcA, pa, pt.List("LA", "vo.a", month, mutate(i1, func(i *imagelist.Image) { i.Version = "2" })))},
			observed: []glance.Image{gi1},
			want:     []string{"update-metadata metadata-changed project-a LA/i1 g1"},
		},
		{
			name: "changed hv:uri alone changes nothing",
			lists: []plan.ListInput{valid(srcA, pa, pt.List("LA", "vo.a", month, func() imagelist.Image {
				i := i1
				i.URI = "https://mirror.example.org/i1.qcow2" // Raw unchanged: the parser keeps what was received
				return i
			}()))},
			observed: []glance.Image{gi1},
			want:     []string{},
		},
		{
			name:     "new title renames",
			lists:    []plan.ListInput{valid(srcA, pa, pt.List("LA", "vo.a", month, mutate(i1, func(i *imagelist.Image) { i.Title = "Renamed" })))},
			observed: []glance.Image{gi1},
			want:     []string{"update-metadata metadata-changed project-a LA/i1 g1"},
		},
		{
			name:     "visibility differing from policy updates",
			lists:    []plan.ListInput{valid(srcA, pa, lA)},
			observed: []glance.Image{func() glance.Image { g := ck(lA, i1, pa, "g1"); g.Visibility = "public"; return g }()},
			want:     []string{"update-metadata metadata-changed project-a LA/i1 g1"},
		},
		{
			name:     "properties ck does not write are left alone",
			lists:    []plan.ListInput{valid(srcA, pa, lA)},
			observed: []glance.Image{withProp(ck(lA, i1, pa, "g1"), "hw_disk_bus", "scsi")},
			want:     []string{},
		},
		{
			name:     "image removed from its list retires",
			lists:    []plan.ListInput{valid(srcA, pa, lEmpty)},
			observed: []glance.Image{gi1},
			want:     []string{"retire removed-from-list project-a LA/i1 g1"},
		},
		{
			name:      "an already retired image is not retired again",
			lists:     []plan.ListInput{valid(srcA, pa, lEmpty)},
			observed:  []glance.Image{retiredImg(ck(lA, i1, pa, "g1"))},
			want:      []string{},
			wantStats: func(s plan.Stats) bool { return s.Retired == 1 },
		},
		{
			name:     "a retired image listed again with the same bytes is republished",
			lists:    []plan.ListInput{valid(srcA, pa, lA)},
			observed: []glance.Image{retiredImg(ck(lA, i1, pa, "g1"))},
			want:     []string{"update-metadata republished project-a LA/i1 g1"},
		},
		{
			name:      "a retired image with other bytes is not republished",
			lists:     []plan.ListInput{valid(srcA, pa, lA)},
			observed:  []glance.Image{retiredImg(ck(pt.List("LA", "vo.a", month, pt.Image("i1", "Image one", "0")), pt.Image("i1", "Image one", "0"), pa, "g0"))},
			want:      []string{"create new project-a LA/i1"},
			wantStats: func(s plan.Stats) bool { return s.Retired == 1 },
		},
		{
			name:     "expired list retires its images and creates nothing",
			lists:    []plan.ListInput{{Source: srcA, Status: plan.ListExpired, List: pt.List("LA", "vo.a", now.Add(-time.Hour), i1, i2), Project: pa}},
			observed: []glance.Image{gi1},
			want:     []string{"retire list-expired project-a LA/i1 g1"},
		},
		{
			name:     "a list passed as valid but past its expiry is expired",
			lists:    []plan.ListInput{valid(srcA, pa, lAexpired)},
			observed: []glance.Image{gi1},
			want:     []string{"retire list-expired project-a LA/i1 g1"},
		},
		{
			name:     "expired list known only by id retires by id",
			lists:    []plan.ListInput{{Source: srcA, Status: plan.ListExpired, ListID: "LA", Project: pa}},
			observed: []glance.Image{gi1},
			want:     []string{"retire list-expired project-a LA/i1 g1"},
		},
		{
			name:     "expired image retires",
			lists:    []plan.ListInput{valid(srcA, pa, lAimgExpired)},
			observed: []glance.Image{gi1},
			want:     []string{"retire image-expired project-a LA/i1 g1"},
		},
		{
			name:  "expired image is not created",
			lists: []plan.ListInput{valid(srcA, pa, lAimgExpired)},
			want:  []string{},
		},
		{
			name:      "failed list keeps its images although nothing desires them",
			lists:     []plan.ListInput{{Source: srcA, Status: plan.ListFailed, ListID: "LA", Project: pa, Reason: "timeout"}},
			observed:  []glance.Image{gi1},
			want:      []string{},
			wantStats: func(s plan.Stats) bool { return s.Kept == 1 },
		},
		{
			name:      "failed list without id keeps its images by ck_list_url",
			lists:     []plan.ListInput{{Source: srcA, Status: plan.ListFailed, Reason: "404"}},
			observed:  []glance.Image{gi1},
			want:      []string{},
			wantStats: func(s plan.Stats) bool { return s.Kept == 1 },
		},
		{
			name: "failed list without id blocks every unsubscribed retirement",
			lists: []plan.ListInput{
				{Source: "https://lists.example.org/broken.list", Status: plan.ListFailed, Reason: "404"},
			},
			observed:  []glance.Image{gi1},
			want:      []string{},
			wantStats: func(s plan.Stats) bool { return s.OutOfScope == 1 },
		},
		{
			name:      "skipped list keeps its images",
			lists:     []plan.ListInput{{Source: srcA, Status: plan.ListValid, List: lA}}, // no project: VO unmapped
			observed:  []glance.Image{gi1},
			want:      []string{},
			wantStats: func(s plan.Stats) bool { return s.Kept == 1 },
		},
		{
			name:      "an entry skipped as malformed keeps its image: neither retired nor changed",
			lists:     []plan.ListInput{valid(srcA, pa, skipped(pt.List("LA", "vo.a", month, i2), badSHA("i1")))},
			observed:  []glance.Image{gi1, ck(lA2, i2, pa, "g2")},
			want:      []string{},
			wantStats: func(s plan.Stats) bool { return s.Kept == 1 && s.Unchanged == 1 },
		},
		{
			name:      "an entry skipped as malformed keeps every current image of its key",
			lists:     []plan.ListInput{valid(srcA, pa, skipped(lEmpty, badSHA("i1")))},
			observed:  []glance.Image{gi1, newer(gi1, "g1b", time.Hour)},
			want:      []string{},
			wantStats: func(s plan.Stats) bool { return s.Kept == 2 },
		},
		{
			name:      "an entry skipped as malformed protects only its own key",
			lists:     []plan.ListInput{valid(srcA, pa, skipped(lEmpty, badSHA("i1")))},
			observed:  []glance.Image{gi1, ck(lA2, i2, pa, "g2")},
			want:      []string{"retire removed-from-list project-a LA/i2 g2"},
			wantStats: func(s plan.Stats) bool { return s.Kept == 1 },
		},
		{
			name:      "a skipped later duplicate of a valid entry protects nothing: the first entry wins",
			lists:     []plan.ListInput{valid(srcA, pa, skipped(pt.List("LA", "vo.a", month, mutate(i1, func(i *imagelist.Image) { i.SHA512 = pt.SHA("other") })), dupOf("i1")))},
			observed:  []glance.Image{gi1},
			want:      []string{"replace content-changed project-a LA/i1 g1"},
			wantStats: func(s plan.Stats) bool { return s.Kept == 0 },
		},
		{
			name:      "an entry skipped without an id blocks removed-from-list for its list",
			lists:     []plan.ListInput{valid(srcA, pa, skipped(pt.List("LA", "vo.a", month, i2), noID()))},
			observed:  []glance.Image{gi1, ck(lA2, i2, pa, "g2")},
			want:      []string{},
			wantStats: func(s plan.Stats) bool { return s.Kept == 1 && s.Unchanged == 1 },
		},
		{
			name:     "an entry skipped without an id does not keep images of an expired list",
			lists:    []plan.ListInput{valid(srcA, pa, skipped(lAexpired, noID()))},
			observed: []glance.Image{gi1},
			want:     []string{"retire list-expired project-a LA/i1 g1"},
		},
		{
			name:     "an entry skipped without an id does not keep an expired image",
			lists:    []plan.ListInput{valid(srcA, pa, skipped(lAimgExpired, noID()))},
			observed: []glance.Image{gi1},
			want:     []string{"retire image-expired project-a LA/i1 g1"},
		},
		{
			name: "an entry skipped without an id does not protect another list",
			lists: []plan.ListInput{
				valid(srcA, pa, skipped(lEmpty, noID())),
				valid(srcB, pa, pt.List("LB", "vo.a", month)),
			},
			observed:  []glance.Image{gi1, pt.CKImage(lB, i1, srcB, pa, "gB", t0, pol)},
			want:      []string{"retire removed-from-list project-a LB/i1 gB"},
			wantStats: func(s plan.Stats) bool { return s.Kept == 1 },
		},
		{
			name:     "images of a list no longer subscribed retire when the run has the full set",
			lists:    []plan.ListInput{valid(srcB, pa, pt.List("LB", "vo.b", month))},
			observed: []glance.Image{gi1},
			want:     []string{"retire unsubscribed project-a LA/i1 g1"},
		},
		{
			name:      "images of lists not named on the command line are out of scope",
			lists:     []plan.ListInput{valid(srcB, pa, pt.List("LB", "vo.b", month))},
			observed:  []glance.Image{gi1},
			policy:    &plan.Policy{ManagedProjects: []string{pa}, MaxRetire: -1, FullSet: false},
			want:      []string{},
			wantStats: func(s plan.Stats) bool { return s.OutOfScope == 1 },
		},
		{
			name:     "duplicates keep the newest and retire the others",
			lists:    []plan.ListInput{valid(srcA, pa, lA)},
			observed: []glance.Image{newer(gi1, "g-old", 0), newer(gi1, "g-new", time.Hour), newer(gi1, "g-mid", time.Minute)},
			want: []string{
				"retire duplicate project-a LA/i1 g-mid",
				"retire duplicate project-a LA/i1 g-old",
			},
			wantStats: func(s plan.Stats) bool { return s.Unchanged == 1 },
		},
		{
			name:     "two lists holding the same image id do not collide",
			lists:    []plan.ListInput{valid(srcA, pa, lA), valid(srcB, pa, lB)},
			observed: []glance.Image{gi1},
			want:     []string{"create new project-a LB/i1"},
		},
		{
			// Identical lists go to one project (it follows from the VO):
			// two projects mean two lists disagree on what the id is.
			name:      "one list id sent to two projects fails and changes nothing",
			lists:     []plan.ListInput{valid(srcA, pa, lA2), valid(srcB, pb, lA2)},
			observed:  []glance.Image{gi1},
			want:      []string{},
			wantStats: func(s plan.Stats) bool { return s.Kept == 1 },
		},
		{
			name:     "a list moved to another project retires its images in the old one",
			lists:    []plan.ListInput{valid(srcA, pb, lA)},
			observed: []glance.Image{gi1},
			want: []string{
				"retire project-changed project-a LA/i1 g1",
				"create new project-b LA/i1",
			},
		},
		{
			name:      "an image that never finished uploading is not current",
			lists:     []plan.ListInput{valid(srcA, pa, lA)},
			observed:  []glance.Image{func() glance.Image { g := ck(lA, i1, pa, "g1"); g.Status = "killed"; return g }()},
			want:      []string{"create new project-a LA/i1"},
			wantStats: func(s plan.Stats) bool { return s.Unusable == 1 },
		},
		{
			name:  "the same list given twice for one project is planned once",
			lists: []plan.ListInput{valid(srcA, pa, lA), valid(srcB, pa, lA)},
			want:  []string{"create new project-a LA/i1"},
		},
		{
			name:  "foreign images are ignored",
			lists: []plan.ListInput{valid(srcA, pa, lEmpty)},
			observed: []glance.Image{
				{ID: "no-tag", Owner: pa, Status: "active", Properties: gi1.Properties},
				{ID: "tag-no-props", Owner: pa, Status: "active", Tags: []string{"ck"}},
				{ID: "tag-list-only", Owner: pa, Status: "active", Tags: []string{"ck"}, Properties: map[string]string{plan.PropListID: "LA"}},
				ck(lA, i1, "someone-else", "other-owner"),
				withProp(ck(lA, i1, pa, "snap"), "image_type", "snapshot"),
				func() glance.Image { g := ck(lA, i1, pa, "other-tag"); g.Tags = []string{"atrope"}; return g }(),
			},
			want:      []string{},
			wantStats: func(s plan.Stats) bool { return s.Ignored == 6 && s.Managed == 0 },
		},
		{
			name:      "a custom tag decides ownership",
			lists:     []plan.ListInput{valid(srcA, pa, lEmpty)},
			observed:  []glance.Image{gi1},
			policy:    &plan.Policy{Tag: "egi", ManagedProjects: []string{pa}, MaxRetire: -1, FullSet: true},
			want:      []string{},
			wantStats: func(s plan.Stats) bool { return s.Ignored == 1 },
		},
		{
			name:     "a list's project is managed without being listed in the policy",
			lists:    []plan.ListInput{valid(srcA, pa, lEmpty)},
			observed: []glance.Image{gi1},
			policy:   &plan.Policy{MaxRetire: -1},
			want:     []string{"retire removed-from-list project-a LA/i1 g1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := pol
			if tt.policy != nil {
				p = *tt.policy
			}
			got, err := plan.Build(tt.lists, tt.observed, p, now)
			if err != nil {
				t.Fatalf("Build() error = %v", err)
			}
			if !reflect.DeepEqual(brief(got), tt.want) {
				t.Errorf("Build() changes:\n  got  %q\n  want %q", brief(got), tt.want)
			}
			if tt.wantStats != nil && !tt.wantStats(got.Stats) {
				t.Errorf("Build() stats = %+v", got.Stats)
			}
			assertIdempotent(t, tt.lists, tt.observed, p, got)
		})
	}
}

// assertIdempotent applies p in memory and checks that planning again
// finds nothing left to do.
func assertIdempotent(t *testing.T, lists []plan.ListInput, observed []glance.Image, pol plan.Policy, p *plan.Plan) {
	t.Helper()
	after, err := pt.Apply(observed, p, now)
	if err != nil {
		t.Fatalf("pt.Apply() error = %v", err)
	}
	again, err := plan.Build(lists, after, pol, now.Add(time.Minute))
	if err != nil {
		t.Fatalf("Build() after apply: %v", err)
	}
	if !again.Empty() {
		t.Errorf("plan after apply is not empty: %q", brief(again))
	}
}

func TestBuildScenarioHasEveryActionAndReason(t *testing.T) {
	lists, observed, pol := pt.Scenario()
	p, err := plan.Build(lists, observed, pol, pt.Now)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"create new " + pt.ProjectAlpha + " list-alpha/a-atrope",
		"adopt cloudkeeper-os " + pt.ProjectAlpha + " list-alpha/a-ckos g-ckos",
		"replace content-changed " + pt.ProjectAlpha + " list-alpha/a-content g-content",
		"retire duplicate " + pt.ProjectAlpha + " list-alpha/a-dup g-dup-old",
		"retire image-expired " + pt.ProjectAlpha + " list-alpha/a-exp g-exp",
		"retire removed-from-list " + pt.ProjectAlpha + " list-alpha/a-gone g-gone",
		"update-metadata metadata-changed " + pt.ProjectAlpha + " list-alpha/a-meta g-meta",
		"create new " + pt.ProjectAlpha + " list-alpha/a-new",
		"update-metadata republished " + pt.ProjectAlpha + " list-alpha/a-repub g-repub",
		"retire unsubscribed " + pt.ProjectAlpha + " list-old/o-1 g-old",
		"retire project-changed " + pt.ProjectBeta + " list-alpha/a-same g-moved",
		"retire list-expired " + pt.ProjectBeta + " list-beta/b-1 g-beta",
	}
	if got := brief(p); !reflect.DeepEqual(got, want) {
		t.Errorf("changes:\n got  %q\n want %q", got, want)
	}
	wantStats := plan.Stats{Create: 2, Replace: 1, Update: 2, Retire: 6, Adopt: 1, Unchanged: 2, Managed: 16, Ignored: 4, Kept: 1, Retired: 1, Unusable: 2, Unproven: 1, Deactivated: 1}
	if p.Stats != wantStats {
		t.Errorf("stats = %+v, want %+v", p.Stats, wantStats)
	}
	wantNotices := []string{
		"notice legacy-unproven " + pt.ProjectAlpha + " list-alpha/a-atrope g-atrope",
		"notice deactivated " + pt.ProjectAlpha + " list-alpha/a-deact g-deact",
		"notice unproven " + pt.ProjectAlpha + " list-alpha/a-same g-impostor",
	}
	if got := notices(p); !reflect.DeepEqual(got, wantNotices) {
		t.Errorf("notices:\n got  %q\n want %q", got, wantNotices)
	}
	var statuses []string
	for _, l := range p.Lists {
		statuses = append(statuses, l.ListID+":"+string(l.Status))
	}
	if want := []string{"list-alpha:valid", "list-beta:expired", "list-delta:skipped", "list-gamma:failed"}; !reflect.DeepEqual(statuses, want) {
		t.Errorf("lists = %v, want %v", statuses, want)
	}
	assertIdempotent(t, lists, observed, pol, p)
}

func TestBuildIsStableUnderShuffledInputs(t *testing.T) {
	lists, observed, pol := pt.Scenario()
	want, err := plan.Build(lists, observed, pol, pt.Now)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 50 {
		l := append([]plan.ListInput(nil), lists...)
		o := append([]glance.Image(nil), observed...)
		rng.Shuffle(len(l), func(a, b int) { l[a], l[b] = l[b], l[a] })
		rng.Shuffle(len(o), func(a, b int) { o[a], o[b] = o[b], o[a] })
		got, err := plan.Build(l, o, pol, pt.Now)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("shuffle %d: plan differs:\n got  %q\n want %q", i, brief(got), brief(want))
		}
	}
}

func TestBuildRetireGuard(t *testing.T) {
	imgs := []imagelist.Image{pt.Image("i1", "1", "1"), pt.Image("i2", "2", "1"), pt.Image("i3", "3", "1"), pt.Image("i4", "4", "1")}
	full := pt.List("LA", "vo.a", month, imgs...)
	var observed []glance.Image
	for i, img := range imgs {
		observed = append(observed, ck(full, img, pa, fmt.Sprintf("g%d", i)))
	}
	tests := []struct {
		name      string
		keep      int // images still listed
		policy    plan.Policy
		wantBlock *plan.GuardError
	}{
		{name: "default 25% of 4 allows 1", keep: 3, policy: plan.Policy{ManagedProjects: []string{pa}}},
		{name: "default 25% of 4 blocks 2", keep: 2, policy: plan.Policy{ManagedProjects: []string{pa}}, wantBlock: &plan.GuardError{Action: plan.ActionRetire, Count: 2, Limit: 1}},
		{name: "percentage 50 allows 2", keep: 2, policy: plan.Policy{ManagedProjects: []string{pa}, MaxRetirePercent: 50}},
		{name: "absolute limit 3 allows 3", keep: 1, policy: plan.Policy{ManagedProjects: []string{pa}, MaxRetire: 3}},
		{name: "absolute limit 3 blocks 4", keep: 0, policy: plan.Policy{ManagedProjects: []string{pa}, MaxRetire: 3}, wantBlock: &plan.GuardError{Action: plan.ActionRetire, Count: 4, Limit: 3}},
		{name: "no limit", keep: 0, policy: plan.Policy{ManagedProjects: []string{pa}, MaxRetire: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lists := []plan.ListInput{valid(srcA, pa, pt.List("LA", "vo.a", month, imgs[:tt.keep]...))}
			p, err := plan.Build(lists, observed, tt.policy, now)
			if tt.wantBlock == nil {
				if err != nil || p.Blocked != nil {
					t.Fatalf("Build() error = %v, blocked = %v", err, p.Blocked)
				}
				return
			}
			var ge *plan.GuardError
			if !errors.As(err, &ge) || *ge != *tt.wantBlock {
				t.Fatalf("Build() error = %v, want %+v", err, tt.wantBlock)
			}
			if p == nil || p.Blocked == nil || *p.Blocked != *tt.wantBlock {
				t.Fatalf("plan.Blocked = %+v, want %+v", p.Blocked, tt.wantBlock)
			}
		})
	}
}

func TestDefaultLimit(t *testing.T) {
	tests := []struct {
		name    string
		images  int
		percent float64
		want    int
	}{
		{name: "no images still allows one", images: 0, percent: 25, want: 1},
		{name: "small site allows one", images: 3, percent: 25, want: 1},
		{name: "quarter of 100", images: 100, percent: 25, want: 25},
		{name: "rounds down", images: 10, percent: 25, want: 2},
		{name: "everything", images: 7, percent: 100, want: 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := plan.DefaultLimit(tt.images, tt.percent); got != tt.want {
				t.Errorf("DefaultLimit(%d, %v) = %d, want %d", tt.images, tt.percent, got, tt.want)
			}
		})
	}
}

func TestBuildRejectsImpossibleInputs(t *testing.T) {
	tests := []struct {
		name string
		in   plan.ListInput
		want string
	}{
		{name: "valid without a list", in: plan.ListInput{Source: srcA, Status: plan.ListValid, Project: pa}, want: "status valid without a parsed list"},
		{name: "unknown status", in: plan.ListInput{Source: srcA, Status: "bogus"}, want: `unknown status "bogus"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := plan.Build([]plan.ListInput{tt.in}, nil, pol, now)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Build() error = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestBuildReportsSkippedEntries(t *testing.T) {
	i1 := pt.Image("i1", "Image one", "1")
	l := skipped(pt.List("LA", "vo.a", month, i1), badSHA("i2"), noID())
	p, err := plan.Build([]plan.ListInput{valid(srcA, pa, l)}, nil, pol, now)
	if err != nil {
		t.Fatal(err)
	}
	want := []plan.SkippedImage{
		{Index: 0, ImageID: "i2", Field: "sl:checksum:sha512", Reason: "not 128 hex digits"},
		{Index: 3, Field: "dc:identifier", Reason: "missing"},
	}
	if len(p.Lists) != 1 || p.Lists[0].Images != 1 || !reflect.DeepEqual(p.Lists[0].Skipped, want) {
		t.Errorf("lists = %+v, want one valid list with 1 image and skipped %+v", p.Lists, want)
	}
}
