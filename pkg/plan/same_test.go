package plan

import "testing"

func TestSameChanges(t *testing.T) {
	create := Change{Action: ActionCreate, Reason: ReasonNew, Project: "p", ListID: "l", ImageID: "a", SHA512: "ab", Size: 1}
	retire := Change{Action: ActionRetire, Reason: ReasonRemovedFromList, Project: "p", ListID: "l", ImageID: "b", GlanceImageID: "g1",
		Patch: []PatchOp{{Op: OpAdd, Path: "/ck_retired", Value: "2026-01-01T00:00:00Z"}}}
	retireLater := retire
	retireLater.Patch = []PatchOp{{Op: OpAdd, Path: "/ck_retired", Value: "2026-01-02T00:00:00Z"}}
	otherTarget := retire
	otherTarget.GlanceImageID = "someone-elses-image"
	deleteIt := retire
	deleteIt.Action = ActionDelete
	tests := []struct {
		name           string
		saved, current []Change
		same           bool
	}{
		{"identical", []Change{create, retire}, []Change{create, retire}, true},
		{"retire time differs", []Change{retire}, []Change{retireLater}, true},
		{"both empty", nil, nil, true},
		{"edited target", []Change{otherTarget}, []Change{retire}, false},
		{"action added to the file", []Change{retire, deleteIt}, []Change{retire}, false},
		{"change missing from the file", []Change{create}, []Change{create, retire}, false},
		{"duplicated in the file", []Change{create, create}, []Change{create}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := SameChanges(&Plan{Changes: tt.saved}, &Plan{Changes: tt.current})
			if (err == nil) != tt.same {
				t.Fatalf("SameChanges = %v, want same=%v", err, tt.same)
			}
		})
	}
}
