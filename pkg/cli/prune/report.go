package prune

import (
	"errors"
	"fmt"

	"github.com/ck-sync/ck/pkg/apply"
	"github.com/ck-sync/ck/pkg/cli/cmdutil"
	"github.com/ck-sync/ck/pkg/plan"
)

// Under -o json prune writes JSON lines, as sync does: {"type":"plan"},
// then one {"type":"change"} per applied change and a {"type":"summary"}.

// summaryLine closes prune's JSON lines.
type summaryLine struct {
	Type    string `json:"type"` // "summary"
	Retired int    `json:"retired"`
	Deleted int    `json:"deleted"`
	Refused int    `json:"refused"`
	Failed  int    `json:"failed"`
	Skipped int    `json:"skipped"`
}

// report writes the outcome of every applied change and a summary.
func report(f *cmdutil.Factory, res apply.Result, names map[string]string) error {
	sum := summaryLine{Type: "summary"}
	lines := make([]cmdutil.ChangeLine, 0, len(res.Outcomes))
	for _, o := range res.Outcomes {
		l := cmdutil.NewChangeLine(o)
		switch {
		case o.Status == apply.Done && o.Change.Action == plan.ActionDelete:
			sum.Deleted++
		case o.Status == apply.Done:
			sum.Retired++
		case errors.Is(o.Err, apply.ErrNotDeleted):
			// Glance would not delete it (protected, in use): it is left
			// hidden and deactivated.
			l.Status = "refused"
			sum.Refused++
		case o.Status == apply.Failed:
			sum.Failed++
		default:
			sum.Skipped++
		}
		lines = append(lines, l)
	}
	text := fmt.Sprintf("Prune: %d retired, %d deleted, %d refused by Glance (left hidden and deactivated), %d failed, %d skipped.",
		sum.Retired, sum.Deleted, sum.Refused, sum.Failed, sum.Skipped)
	return cmdutil.WriteApplied(f, lines, sum, text, names)
}
