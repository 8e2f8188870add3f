package apply

import (
	"context"
	"testing"
	"time"

	"github.com/ck-sync/ck/pkg/glance"
	"github.com/ck-sync/ck/pkg/plan"
)

// Issue 11 item 6: ck_retired says when the image was retired, i.e. when
// the plan was applied; a plan saved by ck diff --out may be applied hours
// after it was computed, and prune's grace period runs from ck_retired.
func TestRetiredRecordsTheTimeOfApplying(t *testing.T) {
	planned := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	applied := planned.Add(5 * time.Hour)
	data := payload(10 << 10)
	g := newFake()
	for _, id := range []string{"r", "old"} {
		g.images[id] = &glance.Image{ID: id, Status: "active", Properties: map[string]string{}}
	}
	retire := plan.Change{Action: plan.ActionRetire, Reason: plan.ReasonRemovedFromList, GlanceImageID: "r",
		Patch: plan.RetirePatch(*g.images["r"], planned)}
	replace := createChange("a", "http://x/a", data, data)
	replace.Action, replace.Reason, replace.GlanceImageID = plan.ActionReplace, plan.ReasonContentChanged, "old"
	replace.Patch = plan.RetirePatch(*g.images["old"], planned)
	republish := plan.Change{Action: plan.ActionUpdateMetadata, Reason: plan.ReasonRepublished, GlanceImageID: "repub",
		Patch: []plan.PatchOp{{Op: plan.OpRemove, Path: "/" + plan.PropRetired, Old: planned.Format(time.RFC3339)}}}
	g.images["repub"] = &glance.Image{ID: "repub", Status: "active", Properties: map[string]string{plan.PropRetired: "x"}}

	res, err := Apply(context.Background(), &plan.Plan{Created: planned, Changes: []plan.Change{retire, replace, republish}}, Options{
		Glance: func(string) (Glance, error) { return g, nil },
		Open:   server{"http://x/a": data}.open,
		Now:    func() time.Time { return applied },
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range res.Outcomes {
		if o.Status != Done {
			t.Fatalf("%s: %v", o.Change.Action, o.Err)
		}
	}
	want := applied.Format(time.RFC3339)
	for _, id := range []string{"r", "old"} {
		if got := g.images[id].Properties[plan.PropRetired]; got != want {
			t.Errorf("image %s: ck_retired = %q, want the time of applying %q (the plan was computed at %s)", id, got, want, planned.Format(time.RFC3339))
		}
	}
	if _, ok := g.images["repub"].Properties[plan.PropRetired]; ok {
		t.Errorf("republished image still carries ck_retired")
	}
}
