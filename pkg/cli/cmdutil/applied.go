package cmdutil

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/ck-sync/ck/pkg/apply"
	"github.com/ck-sync/ck/pkg/plan"
	"github.com/ck-sync/ck/pkg/plan/render"
)

// The commands that apply a plan (sync, prune) share one output shape:
// under -o json, JSON lines — {"type":"plan"}, one {"type":"change"} per
// applied change, then a {"type":"summary"} of the command's own — and in
// text, the human diff, then an "Applied:" table and a summary line.

// PlanLine writes the plan: the human diff, or the first JSON line (with
// image-URL credentials withheld, as in every printed plan).
func PlanLine(f *Factory, p *plan.Plan, names map[string]string) error {
	if f.Globals.Output != "json" {
		return render.Text(f.IO.Out, p, render.TextOptions{Color: f.IO.OutTTY, ProjectNames: names})
	}
	return WriteJSONLine(f.IO.Out, struct {
		Type string     `json:"type"`
		Plan *plan.Plan `json:"plan"`
	}{"plan", render.Shareable(p)})
}

// ChangeLine is one applied change.
type ChangeLine struct {
	Type     string `json:"type"` // "change"
	Action   string `json:"action"`
	Reason   string `json:"reason"`
	Project  string `json:"project"`
	ListID   string `json:"list_id"`
	ImageID  string `json:"image_id"`
	Title    string `json:"title"`
	GlanceID string `json:"glance_id,omitempty"` // the image made, or acted on
	// Status is done, failed or skipped; prune also says refused (Glance
	// would not delete the image, left hidden and deactivated).
	Status  string  `json:"status"`
	Bytes   int64   `json:"bytes"`
	Seconds float64 `json:"seconds"`
	Error   string  `json:"error,omitempty"`
}

// NewChangeLine describes one outcome.
func NewChangeLine(o apply.Outcome) ChangeLine {
	c := o.Change
	l := ChangeLine{
		Type: "change", Action: string(c.Action), Reason: string(c.Reason), Project: c.Project,
		ListID: c.ListID, ImageID: c.ImageID, Title: c.Title, Status: string(o.Status),
		GlanceID: o.NewImage, Bytes: o.Bytes, Seconds: o.Duration.Seconds(),
	}
	if l.GlanceID == "" {
		l.GlanceID = c.GlanceImageID
	}
	if o.Err != nil {
		l.Error = o.Err.Error()
	}
	return l
}

// WriteApplied writes the change lines and summary: JSON lines under -o
// json, else the "Applied:" table (project names where known) followed by
// the summary line text.
func WriteApplied(f *Factory, lines []ChangeLine, summary any, text string, names map[string]string) error {
	if f.Globals.Output == "json" {
		for _, l := range lines {
			if err := WriteJSONLine(f.IO.Out, l); err != nil {
				return err
			}
		}
		return WriteJSONLine(f.IO.Out, summary)
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
	fmt.Fprintln(w, text)
	return w.Flush()
}

// WriteJSONLine writes v as one compact JSON line.
func WriteJSONLine(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
