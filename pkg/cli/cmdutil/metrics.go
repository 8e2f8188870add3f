package cmdutil

import (
	"fmt"

	"github.com/ck-sync/ck/pkg/apply"
	"github.com/ck-sync/ck/pkg/metrics"
)

// StartMetrics begins recording the run of command in f.Metrics when
// --metrics-file is set and command is one the metrics describe (sync,
// diff, verify, prune), with the --site label when set. Commands fill the
// record; WriteMetrics ends it.
func (f *Factory) StartMetrics(command string) {
	if f.Globals.MetricsFile == "" || !metrics.Commands[command] {
		return
	}
	f.Metrics = metrics.New(command, f.Now())
	f.Metrics.SetSite(f.Globals.Site)
}

// WriteMetrics finishes the record with the run's exit code and writes it
// to --metrics-file. A run succeeded when it exited 0, or 2 (a non-empty
// plan under --exit-code: the command did its job). Without a record it
// does nothing.
func (f *Factory) WriteMetrics(code int) error {
	if f.Metrics == nil {
		return nil
	}
	f.Metrics.Finish(f.Now(), code == ExitOK || code == ExitChanges)
	if err := f.Metrics.WriteFile(f.Globals.MetricsFile); err != nil {
		return &UsageError{Flag: "--metrics-file", Reason: fmt.Sprintf("cannot write the metrics: %v", err)}
	}
	return nil
}

// RecordApplied adds an applied plan's per-change outcomes and bytes to the
// metrics record (sync, prune); without --metrics-file it does nothing.
func (f *Factory) RecordApplied(res apply.Result) {
	for _, o := range res.Outcomes {
		f.Metrics.AddImage(string(o.Change.Action), string(o.Status))
	}
	f.Metrics.SetTransferred(res.Bytes())
}
