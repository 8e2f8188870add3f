package sync

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/ck-sync/ck/pkg/apply"
	"github.com/ck-sync/ck/pkg/cli/cmdutil"
	"github.com/ck-sync/ck/pkg/cli/diff"
	"github.com/ck-sync/ck/pkg/plan"
	"github.com/ck-sync/ck/pkg/plan/render"
)

// printer writes sync's stdout: the plan, then one line per applied change
// and a summary — as text, or as JSON lines with a "type" field.
type printer struct {
	f     *cmdutil.Factory
	names map[string]string
}

func newPrinter(f *cmdutil.Factory, names map[string]string) *printer {
	return &printer{f: f, names: names}
}

func (p *printer) json() bool { return p.f.Globals.Output == "json" }

func (p *printer) plan(pl *plan.Plan) error {
	if !p.json() {
		return diff.Output(p.f, pl, p.names)
	}
	return writeLine(p.f.IO.Out, struct {
		Type string     `json:"type"`
		Plan *plan.Plan `json:"plan"`
	}{"plan", render.Shareable(pl)})
}

// changeLine is one applied change under -o json.
type changeLine struct {
	Type     string  `json:"type"` // "change"
	Action   string  `json:"action"`
	Reason   string  `json:"reason"`
	Project  string  `json:"project"`
	ListID   string  `json:"list_id"`
	ImageID  string  `json:"image_id"`
	Title    string  `json:"title"`
	Status   string  `json:"status"` // done, failed, skipped
	GlanceID string  `json:"glance_id,omitempty"`
	Bytes    int64   `json:"bytes"`
	Seconds  float64 `json:"seconds"`
	Error    string  `json:"error,omitempty"`
}

// summaryLine closes a sync's JSON lines.
type summaryLine struct {
	Type    string `json:"type"` // "summary"
	Changes int    `json:"changes"`
	Done    int    `json:"done"`
	Failed  int    `json:"failed"`
	Skipped int    `json:"skipped"`
	Bytes   int64  `json:"bytes"`
}

func (p *printer) result(res apply.Result) error {
	sum := summaryLine{Type: "summary", Changes: len(res.Outcomes), Bytes: res.Bytes()}
	lines := make([]changeLine, 0, len(res.Outcomes))
	for _, o := range res.Outcomes {
		c := o.Change
		l := changeLine{
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
		switch o.Status {
		case apply.Done:
			sum.Done++
		case apply.Failed:
			sum.Failed++
		default:
			sum.Skipped++
		}
		lines = append(lines, l)
	}
	if p.json() {
		for _, l := range lines {
			if err := writeLine(p.f.IO.Out, l); err != nil {
				return err
			}
		}
		return writeLine(p.f.IO.Out, sum)
	}
	if len(lines) == 0 {
		return nil
	}
	w := tabwriter.NewWriter(p.f.IO.Out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "\nApplied:")
	for _, l := range lines {
		project := l.Project
		if n := p.names[project]; n != "" {
			project = n
		}
		fmt.Fprintf(w, "  %s\t%s\t%q\t%s\t%s\n", l.Status, l.Action, l.Title, project, l.GlanceID)
		if l.Error != "" {
			fmt.Fprintf(w, "  \t\terror: %s\n", l.Error)
		}
	}
	fmt.Fprintf(w, "Sync: %d done, %d failed, %d skipped; %s transferred.\n", sum.Done, sum.Failed, sum.Skipped, human(sum.Bytes))
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

func human(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
