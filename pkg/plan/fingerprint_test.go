package plan_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ck-sync/ck/pkg/plan"
	pt "github.com/ck-sync/ck/pkg/plan/plantest"
)

func TestCheckStale(t *testing.T) {
	base := plan.Inputs{
		Lists:  []plan.ListFingerprint{{Source: srcA, ListID: "LA", Status: plan.ListValid, Digest: "aa"}},
		Images: []plan.ImageFingerprint{{ID: "g1", UpdatedAt: t0}},
	}
	tests := []struct {
		name   string
		change func(*plan.Inputs)
		want   []string
	}{
		{name: "unchanged", change: func(*plan.Inputs) {}},
		{name: "list bytes changed", change: func(in *plan.Inputs) { in.Lists[0].Digest = "bb" }, want: []string{"list " + srcA + " changed"}},
		{name: "list now failing", change: func(in *plan.Inputs) { in.Lists[0].Status = plan.ListFailed }, want: []string{"list " + srcA + " changed"}},
		{name: "list added", change: func(in *plan.Inputs) { in.Lists = append(in.Lists, plan.ListFingerprint{Source: srcB}) }, want: []string{"list " + srcB + " was added"}},
		{name: "list removed", change: func(in *plan.Inputs) { in.Lists = nil }, want: []string{"list " + srcA + " was removed"}},
		{name: "image updated", change: func(in *plan.Inputs) { in.Images[0].UpdatedAt = t0.Add(time.Second) }, want: []string{"image g1 was updated"}},
		{name: "image appeared", change: func(in *plan.Inputs) { in.Images = append(in.Images, plan.ImageFingerprint{ID: "g2"}) }, want: []string{"image g2 appeared"}},
		{name: "image disappeared", change: func(in *plan.Inputs) { in.Images = nil }, want: []string{"image g1 disappeared"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cur := plan.Inputs{Lists: append([]plan.ListFingerprint(nil), base.Lists...), Images: append([]plan.ImageFingerprint(nil), base.Images...)}
			tt.change(&cur)
			err := plan.CheckStale(base, cur)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("CheckStale() = %v, want nil", err)
				}
				return
			}
			var se *plan.StaleError
			if !errors.As(err, &se) || !reflect.DeepEqual(se.Changes, tt.want) {
				t.Fatalf("CheckStale() = %v, want changes %q", err, tt.want)
			}
		})
	}
}

func TestSavedPlanRoundTrip(t *testing.T) {
	lists, observed, pol := pt.Scenario()
	p, err := plan.Build(lists, observed, pol, pt.Now)
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	back, err := plan.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, p) {
		t.Errorf("Parse(Marshal(p)) differs from p")
	}
	if err := plan.CheckStale(back.Inputs, p.Inputs); err != nil {
		t.Errorf("CheckStale(saved, same inputs) = %v", err)
	}
	// After applying, the same inputs are stale: the images were updated.
	after, err := pt.Apply(observed, p, pt.Now.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	fresh, _ := plan.Build(lists, after, pol, pt.Now.Add(time.Hour))
	if err := plan.CheckStale(back.Inputs, fresh.Inputs); err == nil || !strings.Contains(err.Error(), "saved plan is stale") {
		t.Errorf("CheckStale(saved, after apply) = %v, want stale", err)
	}
}

func TestParseRefusesOtherVersions(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{name: "future version", in: `{"format_version": "2"}`, want: `format_version "2" is not supported`},
		{name: "no version", in: `{}`, want: `format_version "" is not supported`},
		{name: "not JSON", in: `plan`, want: "plan:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := plan.Parse([]byte(tt.in)); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse() error = %v, want %q", err, tt.want)
			}
		})
	}
}
