package prune

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/ck-sync/ck/pkg/apply"
	"github.com/ck-sync/ck/pkg/cli/cmdutil"
	"github.com/ck-sync/ck/pkg/cli/diff"
	"github.com/ck-sync/ck/pkg/plan"
)

// Under -o json prune writes JSON lines, as sync does: {"type":"plan"},
// then one {"type":"change"} per applied change and a {"type":"summary"}.

// printPlan writes the plan: the human diff, or the first JSON line.
func printPlan(f *cmdutil.Factory, p *plan.Plan, names map[string]string) error {
	if f.Globals.Output != "json" {
		return diff.Output(f, p, names)
	}
	return writeLine(f.IO.Out, struct {
		Type string     `json:"type"`
		Plan *plan.Plan `json:"plan"`
	}{"plan", p})
}

// changeLine is one applied change under -o json.
type changeLine struct {
	Type     string `json:"type"` // "change"
	Action   string `json:"action"`
	Reason   string `json:"reason"`
	Project  string `json:"project"`
	ListID   string `json:"list_id"`
	ImageID  string `json:"image_id"`
	Title    string `json:"title"`
	GlanceID string `json:"glance_id"`
	// Status is done, failed, skipped, or refused: Glance would not delete
	// the image (protected, in use), which is left hidden and deactivated.
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
}

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
	lines := make([]changeLine, 0, len(res.Outcomes))
	for _, o := range res.Outcomes {
		c := o.Change
		l := changeLine{
			Type: "change", Action: string(c.Action), Reason: string(c.Reason), Project: c.Project,
			ListID: c.ListID, ImageID: c.ImageID, Title: c.Title, GlanceID: c.GlanceImageID, Status: string(o.Status),
		}
		switch {
		case o.Status == apply.Done && c.Action == plan.ActionDelete:
			sum.Deleted++
		case o.Status == apply.Done:
			sum.Retired++
		case errors.Is(o.Err, apply.ErrNotDeleted):
			l.Status = "refused"
			sum.Refused++
		case o.Status == apply.Failed:
			sum.Failed++
		default:
			sum.Skipped++
		}
		if o.Err != nil {
			l.Error = o.Err.Error()
		}
		lines = append(lines, l)
	}
	if f.Globals.Output == "json" {
		for _, l := range lines {
			if err := writeLine(f.IO.Out, l); err != nil {
				return err
			}
		}
		return writeLine(f.IO.Out, sum)
	}
	if len(lines) == 0 {
		return nil
	}
	w := tabwriter.NewWriter(f.IO.Out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "\nApplied:")
	for _, l := range lines {
		project := l.Project
		if n := names[project]; n != "" {
			project = n
		}
		fmt.Fprintf(w, "  %s\t%s\t%q\t%s\t%s\n", l.Status, l.Action, l.Title, project, l.GlanceID)
		if l.Error != "" {
			fmt.Fprintf(w, "  \t\terror: %s\n", l.Error)
		}
	}
	fmt.Fprintf(w, "Prune: %d retired, %d deleted, %d refused by Glance (left hidden and deactivated), %d failed, %d skipped.\n",
		sum.Retired, sum.Deleted, sum.Refused, sum.Failed, sum.Skipped)
	return w.Flush()
}

func writeLine(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
