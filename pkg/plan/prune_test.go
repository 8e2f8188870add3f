package plan_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/ck-sync/ck/pkg/glance"
	"github.com/ck-sync/ck/pkg/imagelist"
	"github.com/ck-sync/ck/pkg/plan"
	pt "github.com/ck-sync/ck/pkg/plan/plantest"
)

func TestBuildPrune(t *testing.T) {
	day := 24 * time.Hour
	l := pt.List("l", "alpha.vo", month, pt.Image("i1", "One", "1"), pt.Image("i2", "Two", "1"))
	retiredFor := func(id string, age time.Duration) glance.Image {
		g := ck(l, l.Images[0], pa, id)
		g.Properties[plan.PropRetired] = now.Add(-age).Format(time.RFC3339)
		g.Hidden = true
		return g
	}
	current := ck(l, l.Images[1], pa, "g-current")
	old := retiredFor("g-old", 8*day)
	young := retiredFor("g-young", 6*day)
	unreadable := retiredFor("g-unreadable", 0)
	unreadable.Properties[plan.PropRetired] = "last tuesday"
	snapshot := retiredFor("g-snapshot", 30*day)
	snapshot.Properties[plan.PropImageType] = "snapshot"
	foreign := retiredFor("g-foreign", 30*day)
	foreign.Tags = []string{"someone-else"}
	otherProject := retiredFor("g-other", 30*day)
	otherProject.Owner = "not-managed"
	deactivated := retiredFor("g-deactivated", 9*day)
	deactivated.Status = "deactivated" // a previous prune could not delete it
	protected := retiredFor("g-protected", 9*day)
	protected.Protected = true // planned: Glance refuses, apply reports it
	failedList := retiredFor("g-failed-list", 9*day)
	failedList.Properties[plan.PropListID] = "l-failed"
	failedURL := retiredFor("g-failed-url", 9*day)
	failedURL.Properties[plan.PropListURL] = srcB
	otherList := retiredFor("g-other-list", 9*day)
	otherList.Properties[plan.PropListID] = "l2"
	otherI2 := retiredFor("g-other-i2", 9*day)
	otherI2.Properties[plan.PropImageID] = "i2"
	otherOwner := retiredFor("g-other-owner", 9*day)
	otherOwner.Owner = pb
	base := &plan.Plan{Changes: []plan.Change{
		{Action: plan.ActionRetire, Reason: plan.ReasonUnsubscribed, Project: pa, ListID: "l", ImageID: "i2", GlanceImageID: "g-current"},
		{Action: plan.ActionCreate, Reason: plan.ReasonNew, Project: pa, ListID: "l", ImageID: "i3"},
	}, Lists: []plan.ListSummary{{Source: srcA, ListID: "l", Status: plan.ListValid}}}
	all := []glance.Image{current, old, young, unreadable, snapshot, foreign, otherProject, deactivated, protected}

	tests := []struct {
		name      string
		base      *plan.Plan
		observed  []glance.Image
		pol       plan.PrunePolicy
		want      []string
		wantStats plan.Stats
		blocked   bool
	}{
		{
			name:     "after grace deleted, before grace kept, others untouched",
			observed: all,
			pol:      plan.PrunePolicy{Managed: []string{pa}, Grace: 7 * day, MaxDelete: -1},
			want: []string{
				"delete grace-over " + pa + " l/i1 g-deactivated",
				"delete grace-over " + pa + " l/i1 g-old",
				"delete grace-over " + pa + " l/i1 g-protected",
			},
			wantStats: plan.Stats{Delete: 3, Managed: 6, Ignored: 3, Retired: 2},
		},
		{
			name:     "retirements of the base plan are kept, creates dropped",
			base:     base,
			observed: all,
			pol:      plan.PrunePolicy{Managed: []string{pa}, Grace: 7 * day, MaxDelete: -1},
			want: []string{
				"delete grace-over " + pa + " l/i1 g-deactivated",
				"delete grace-over " + pa + " l/i1 g-old",
				"delete grace-over " + pa + " l/i1 g-protected",
				"retire unsubscribed " + pa + " l/i2 g-current",
			},
			wantStats: plan.Stats{Retire: 1, Delete: 3, Managed: 6, Ignored: 3, Retired: 2},
		},
		{
			name:     "zero grace deletes what this run retires",
			base:     base,
			observed: []glance.Image{current, young},
			pol:      plan.PrunePolicy{Managed: []string{pa}, MaxDelete: -1},
			want: []string{
				"delete grace-over " + pa + " l/i1 g-young",
				"retire unsubscribed " + pa + " l/i2 g-current",
				"delete grace-over " + pa + " l/i2 g-current",
			},
			wantStats: plan.Stats{Retire: 1, Delete: 2, Managed: 2},
		},
		{
			name: "an image base republishes, and the images of a list base could not read, are kept",
			base: &plan.Plan{
				Changes: []plan.Change{{Action: plan.ActionUpdateMetadata, Reason: plan.ReasonRepublished, Project: pa, ListID: "l", ImageID: "i1", GlanceImageID: "g-old"}},
				Lists:   []plan.ListSummary{{Source: srcB, ListID: "l-failed", Status: plan.ListFailed}},
			},
			observed:  []glance.Image{old, failedList, failedURL, deactivated},
			pol:       plan.PrunePolicy{Managed: []string{pa}, Grace: 7 * day, MaxDelete: -1},
			want:      []string{"delete grace-over " + pa + " l/i1 g-deactivated"},
			wantStats: plan.Stats{Delete: 1, Managed: 4, Kept: 3},
		},
		{
			name: "the images of list entries base could not read are kept",
			base: &plan.Plan{Lists: []plan.ListSummary{{Source: srcA, ListID: "l", Project: pa, Status: plan.ListValid,
				Skipped: []plan.SkippedImage{{Index: 0, ImageID: "i1", Field: "hv:size", Reason: "negative"}}}}},
			observed:  []glance.Image{old, deactivated, otherList},
			pol:       plan.PrunePolicy{Managed: []string{pa, pb}, Grace: 7 * day, MaxDelete: -1},
			want:      []string{"delete grace-over " + pa + " l2/i1 g-other-list"},
			wantStats: plan.Stats{Delete: 1, Managed: 3, Kept: 2},
		},
		{
			name: "an entry base could not read the id of keeps every retired image of its list in its project",
			base: &plan.Plan{Lists: []plan.ListSummary{{Source: srcA, ListID: "l", Project: pa, Status: plan.ListValid,
				Skipped: []plan.SkippedImage{{Index: 4, Field: "dc:identifier", Reason: "missing"}}}}},
			observed:  []glance.Image{old, otherI2, otherList, otherOwner},
			pol:       plan.PrunePolicy{Managed: []string{pa, pb}, Grace: 7 * day, MaxDelete: -1},
			want:      []string{"delete grace-over " + pa + " l2/i1 g-other-list", "delete grace-over " + pb + " l/i1 g-other-owner"},
			wantStats: plan.Stats{Delete: 2, Managed: 4, Kept: 2},
		},
		{
			// The filter keeps the current images it leaves out; a retired
			// one (retired before the filter was set) is prune's as usual.
			name: "an image filter carries its counts over, and does not keep retired images",
			base: &plan.Plan{Lists: []plan.ListSummary{{Source: srcA, ListID: "l", Project: pa, Status: plan.ListValid,
				Filter: &plan.FilterSummary{Entries: []string{"i2"}, FilteredOut: 1}}}, Stats: plan.Stats{Kept: 1, Filtered: 1}},
			observed:  []glance.Image{old},
			pol:       plan.PrunePolicy{Managed: []string{pa}, Grace: 7 * day, MaxDelete: -1},
			want:      []string{"delete grace-over " + pa + " l/i1 g-old"},
			wantStats: plan.Stats{Delete: 1, Managed: 1, Kept: 1, Filtered: 1},
		},
		{
			name:      "default guard: 25% of 6 ck images is 1",
			observed:  all,
			pol:       plan.PrunePolicy{Managed: []string{pa}, Grace: 7 * day},
			want:      []string{"delete grace-over " + pa + " l/i1 g-deactivated", "delete grace-over " + pa + " l/i1 g-old", "delete grace-over " + pa + " l/i1 g-protected"},
			wantStats: plan.Stats{Delete: 3, Managed: 6, Ignored: 3, Retired: 2},
			blocked:   true,
		},
		{
			name:      "absolute guard within the limit",
			observed:  all,
			pol:       plan.PrunePolicy{Managed: []string{pa}, Grace: 7 * day, MaxDelete: 3},
			want:      []string{"delete grace-over " + pa + " l/i1 g-deactivated", "delete grace-over " + pa + " l/i1 g-old", "delete grace-over " + pa + " l/i1 g-protected"},
			wantStats: plan.Stats{Delete: 3, Managed: 6, Ignored: 3, Retired: 2},
		},
		{
			name:      "nothing retired, nothing to do",
			observed:  []glance.Image{current},
			pol:       plan.PrunePolicy{Managed: []string{pa}, Grace: 7 * day},
			want:      []string{},
			wantStats: plan.Stats{Managed: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := plan.BuildPrune(tt.base, tt.observed, tt.pol, now)
			var guard *plan.GuardError
			if tt.blocked != errors.As(err, &guard) || (err != nil && guard == nil) {
				t.Fatalf("err = %v, want blocked %v", err, tt.blocked)
			}
			if tt.blocked && (p.Blocked == nil || p.Blocked.Action != plan.ActionDelete || guard.Flag() != "--max-delete") {
				t.Errorf("blocked = %+v, want a delete guard naming --max-delete", p.Blocked)
			}
			if got := brief(p); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("changes:\n got  %q\n want %q", got, tt.want)
			}
			if p.Stats != tt.wantStats {
				t.Errorf("stats = %+v\n want  %+v", p.Stats, tt.wantStats)
			}
		})
	}
}

// An entry of a list that became malformed must turn neither into a
// retirement (Build) nor into a deletion (BuildPrune), even with no grace.
func TestPruneKeepsImagesOfSkippedEntries(t *testing.T) {
	i1, i2 := pt.Image("i1", "One", "1"), pt.Image("i2", "Two", "1")
	full := pt.List("l", "alpha.vo", month, i1, i2)
	g1 := ck(full, i1, pa, "g1")
	g1old := retiredImg(ck(full, pt.Image("i1", "One", "0"), pa, "g1-old"))
	g2 := ck(full, i2, pa, "g2")
	for _, tt := range []struct {
		name string
		skip imagelist.ImageError
		want []string
	}{
		{"entry with an id", badSHA("i1"), []string{
			"retire removed-from-list " + pa + " l/i2 g2",
			"delete grace-over " + pa + " l/i2 g2",
		}},
		{"entry without an id", noID(), []string{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			lists := []plan.ListInput{valid(srcA, pa, skipped(pt.List("l", "alpha.vo", month), tt.skip))}
			observed := []glance.Image{g1, g1old, g2}
			base, err := plan.Build(lists, observed, pol, now)
			if err != nil {
				t.Fatal(err)
			}
			p, err := plan.BuildPrune(base, observed, plan.PrunePolicy{Managed: []string{pa}, MaxDelete: -1}, now)
			if err != nil {
				t.Fatal(err)
			}
			if got := brief(p); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("changes:\n got  %q\n want %q", got, tt.want)
			}
		})
	}
}

// A sync killed mid-upload leaves a queued or saving image it could not
// delete; prune removes it once it is clearly abandoned, never a running one.
func TestBuildPruneAbandonedUploads(t *testing.T) {
	l := pt.List("l", "alpha.vo", month, pt.Image("i1", "One", "1"))
	upload := func(id, status string, age time.Duration) glance.Image {
		g := ck(l, l.Images[0], pa, id)
		g.Status, g.Hidden, g.CreatedAt = status, true, now.Add(-age)
		return g
	}
	observed := []glance.Image{
		upload("g-queued-old", "queued", 25*time.Hour),
		upload("g-saving-old", "saving", 30*time.Hour),
		upload("g-killed-old", "killed", 48*time.Hour),
		upload("g-queued-running", "queued", 2*time.Hour),
		upload("g-active", "active", 30*24*time.Hour),
	}
	unverified := upload("g-active-unverified", "active", 26*time.Hour) // killed between upload and verification
	unverified.Properties[plan.PropUnverified] = "true"
	observed = append(observed, unverified)
	foreign := upload("g-foreign", "queued", 48*time.Hour)
	foreign.Tags = []string{"someone-else"}
	observed = append(observed, foreign)

	p, err := plan.BuildPrune(nil, observed, plan.PrunePolicy{Managed: []string{pa}, Grace: plan.DefaultGrace, MaxDelete: -1}, now)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range p.Changes {
		got = append(got, string(c.Action)+" "+string(c.Reason)+" "+c.GlanceImageID)
	}
	want := []string{"delete abandoned g-active-unverified", "delete abandoned g-killed-old", "delete abandoned g-queued-old", "delete abandoned g-saving-old"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("changes = %v, want %v", got, want)
	}
}

// An image whose upload was never verified is not current, even when
// Glance says active: the plan uploads the image again.
func TestBuildIgnoresUnverifiedImages(t *testing.T) {
	l := pt.List("l", "alpha.vo", month, pt.Image("i1", "One", "1"))
	g := ck(l, l.Images[0], pa, "g-unverified")
	g.Properties[plan.PropUnverified] = "true"
	p, err := plan.Build([]plan.ListInput{{Source: srcA, Status: plan.ListValid, List: l, ListID: l.ID, Project: pa}}, []glance.Image{g}, plan.Policy{ManagedProjects: []string{pa}}, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Changes) != 1 || p.Changes[0].Action != plan.ActionCreate {
		t.Fatalf("changes = %+v, want one create", p.Changes)
	}
}
