package sync

import (
	"fmt"

	"github.com/ck-sync/ck/pkg/apply"
	"github.com/ck-sync/ck/pkg/cli/cmdutil"
)

// summaryLine closes a sync's JSON lines.
type summaryLine struct {
	Type    string `json:"type"` // "summary"
	Changes int    `json:"changes"`
	Done    int    `json:"done"`
	Failed  int    `json:"failed"`
	Skipped int    `json:"skipped"`
	Bytes   int64  `json:"bytes"`
}

// result writes one line per applied change and the summary.
func result(f *cmdutil.Factory, res apply.Result, names map[string]string) error {
	sum := summaryLine{Type: "summary", Changes: len(res.Outcomes), Bytes: res.Bytes()}
	lines := make([]cmdutil.ChangeLine, 0, len(res.Outcomes))
	for _, o := range res.Outcomes {
		switch o.Status {
		case apply.Done:
			sum.Done++
		case apply.Failed:
			sum.Failed++
		default:
			sum.Skipped++
		}
		lines = append(lines, cmdutil.NewChangeLine(o))
	}
	text := fmt.Sprintf("Sync: %d done, %d failed, %d skipped; %s transferred.", sum.Done, sum.Failed, sum.Skipped, human(sum.Bytes))
	return cmdutil.WriteApplied(f, lines, sum, text, names)
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
