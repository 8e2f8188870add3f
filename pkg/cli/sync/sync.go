// Package sync is `ck sync`: build the plan as diff does, show it, then
// apply it to Glance — one streaming, verified pass per image.
package sync

import (
	"context"

	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/ck-sync/ck/pkg/apply"
	"github.com/ck-sync/ck/pkg/cli/cmdutil"
	"github.com/ck-sync/ck/pkg/cli/diff"
	"github.com/ck-sync/ck/pkg/imagelist"
	"github.com/ck-sync/ck/pkg/ociref"
	"github.com/ck-sync/ck/pkg/plan"
	"github.com/ck-sync/ck/pkg/progress"
	"github.com/ck-sync/ck/pkg/transfer"
)

// Options are the inputs of a sync run.
type Options struct {
	diff.Options
	DryRun       bool
	PlanFile     string
	UploadMethod string
	ConvertTo    string // raw or qcow2: convert disks with qemu-img first
	WorkDir      string // conversion's temporary files
}

// NewCmd returns `ck sync`. runF replaces the run function in tests.
func NewCmd(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{Options: diff.Options{Factory: f}}
	cmd := &cobra.Command{
		Use:   "sync [LIST...]",
		Short: "Bring Glance in line with the lists: create, replace, update and retire images",
		Long: `Verify the lists, build the plan (exactly what ck diff shows), print it, and
apply it: each new or changed image is streamed from its hv:uri through a
sha512 and size check straight into Glance (no temporary file); bad bytes abort
the upload before Glance accepts it, and a failed or interrupted transfer
deletes the image it was making. A replaced image is retired (hidden, marked
ck_retired) only after its successor is active. Metadata changes are patched
in place. One failing image never stops the others.

--dry-run stops after printing the plan (= ck diff). --plan FILE applies a plan
saved by ck diff --out FILE, after checking that neither the lists nor ck's
images changed since; a stale plan is refused with what changed.

Under -o json, stdout carries JSON lines: {"type":"plan",...}, one
{"type":"change",...} per applied change, then {"type":"summary",...}.

` + cmdutil.ExitCodesHelp,
		Example: `  ck sync --dry-run
  ck sync
  ck sync --parallel 4 --log-format json --progress never
  ck diff --out plan.json && ck sync --plan plan.json`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Lists = args
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return Run(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&opts.DryRun, "dry-run", false, "print the plan and stop (= ck diff)")
	fl.BoolVar(&opts.ExitCode, "exit-code", false, "with --dry-run: exit 2 when the plan is not empty")
	fl.StringVar(&opts.PlanFile, "plan", "", "apply the plan saved in `FILE` by ck diff --out, if still current")
	fl.StringVar(&opts.UploadMethod, "upload-method", string(apply.MethodUpload), "how bytes reach Glance: upload, glance-direct or web-download")
	fl.StringVar(&opts.ConvertTo, "convert-to", "", "convert disks of other formats to `FORMAT` (raw or qcow2, e.g. raw for Ceph) with qemu-img before upload")
	fl.StringVar(&opts.WorkDir, "work-dir", "", "`DIR` for conversion's temporary files (default $TMPDIR); needs the source plus the converted disk free")
	diff.BindPlanFlags(fl, &opts.Options)
	return cmd
}

// Run builds, shows and applies the plan.
func Run(ctx context.Context, opts *Options) error {
	f := opts.Factory
	method, err := apply.ParseMethod(opts.UploadMethod)
	if err != nil {
		return &cmdutil.UsageError{Flag: "--upload-method", Reason: err.Error()}
	}
	if _, err := transfer.ParseTarget(opts.ConvertTo); err != nil {
		return &cmdutil.UsageError{Flag: "--convert-to", Reason: err.Error()}
	}
	if opts.PlanFile != "" && opts.DryRun {
		return &cmdutil.UsageError{Flag: "--plan", Reason: "cannot be combined with --dry-run (use ck diff)"}
	}
	saved, err := readPlan(opts.PlanFile)
	if err != nil {
		return err
	}
	ctx, cancel := f.RunContext(ctx)
	defer cancel()

	c, err := diff.Compute(ctx, &opts.Options)
	if err != nil {
		return err
	}
	p := c.Plan
	if saved != nil {
		if err := plan.CheckStale(saved.Inputs, p.Inputs); err != nil {
			return fmt.Errorf("--plan %s: refusing a stale plan: %w", opts.PlanFile, err)
		}
		// The file is a reviewed copy, not an authority: what is applied is
		// the plan ck builds now from the verified lists, and only when it
		// makes the same changes (an edited or mixed-up file is refused).
		if err := plan.SameChanges(saved, p); err != nil {
			return fmt.Errorf("--plan %s: refusing the plan: %w", opts.PlanFile, err)
		}
	}
	if err := cmdutil.PlanLine(f, p, c.Site.ProjectNames); err != nil {
		return err
	}
	if c.Guard != nil {
		return c.Guard
	}
	if opts.DryRun {
		return diff.Outcome(p, opts.ExitCode)
	}

	bars := progress.Choose(f.Globals.Progress, f.IO.ErrOut, f.IO.ErrTTY, f.Logger)
	logger := f.Logger
	if w := progress.LogWriter(bars, f.IO.ErrOut); w != f.IO.ErrOut {
		// Log lines go above the progress bars, not through them.
		if logger, err = cmdutil.NewLogger(w, f.Globals); err != nil {
			return err
		}
	}
	res, err := apply.Apply(ctx, p, apply.Options{
		Glance: func(project string) (apply.Glance, error) {
			if svc := c.Site.Conns[project]; svc != nil {
				return svc, nil
			}
			return nil, fmt.Errorf("no Glance connection for project %s", project)
		},
		Open:     opener(f),
		Method:   method,
		Parallel: f.Globals.Parallel,
		Progress: bars,
		// Bars say which project an image goes to, by name.
		ProjectNames: c.Site.ProjectNames,
		Logger:       logger,
		Now:          f.Now,
		ConvertTo:    opts.ConvertTo,
		// Per-list convert_to from the config file's lists:.
		ConvertToByList: convertByList(f.Globals, p),
		SealKey:         c.Site.SealKey,
		WorkDir:         opts.WorkDir,
	})
	if err != nil {
		return err
	}
	f.RecordApplied(res) // --metrics-file
	if err := result(f, res, c.Site.ProjectNames); err != nil {
		return err
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if n := res.Failed(); n > 0 {
		return &cmdutil.PartialError{Summary: fmt.Sprintf("%d of %d changes failed", n, len(res.Outcomes))}
	}
	return diff.ListsOutcome(p)
}

// opener downloads images with the global timeouts and CA settings.
func opener(f *cmdutil.Factory) func(context.Context, transfer.Source) (io.ReadCloser, error) {
	client, err := transfer.NewHTTPClient(transfer.HTTPOptions{
		ExtraCAFile: f.Globals.ExtraCAFile,
		UserAgent:   cmdutil.UserAgent(),
	})
	return func(ctx context.Context, src transfer.Source) (io.ReadCloser, error) {
		if err != nil {
			return nil, err
		}
		opts := transfer.Options{Client: client, IdleTimeout: f.Globals.Timeout}
		if ociref.IsRegistry(src.URL) {
			// A registry blob, fetched by the digest the plan recorded
			// with its source's credentials; the stream is the same.
			u, c, err := f.RegistryBlob(client, src.URL)
			if err != nil {
				return nil, err
			}
			src.URL, opts.Client = u, c
		}
		return transfer.Open(ctx, src, opts)
	}
}

func readPlan(path string) (*plan.Plan, error) {
	if path == "" {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &cmdutil.UsageError{Flag: "--plan", Reason: err.Error()}
	}
	p, err := plan.Parse(data)
	if err != nil {
		return nil, &cmdutil.UsageError{Flag: "--plan", Reason: fmt.Sprintf("%s: %v", path, err)}
	}
	if p.Blocked != nil {
		return nil, &cmdutil.UsageError{Flag: "--plan", Reason: path + ": the saved plan is blocked by its retire guard"}
	}
	return p, nil
}

// convertByList maps the source of each planned change (apply looks it up
// by plan.Change.Source) to the convert_to of the lists: entry that matches
// it by imagelist.Key, so that the entry applies however either is written.
func convertByList(g *cmdutil.Globals, p *plan.Plan) map[string]string {
	m := map[string]string{}
	for _, c := range p.Changes {
		if _, done := m[c.Source]; done || c.Source == "" {
			continue
		}
		key, err := imagelist.Key(c.Source)
		if err != nil {
			continue // not a source ck reads: no entry can be its
		}
		if e, ok := g.ListEntry(key); ok && e.ConvertTo != "" {
			m[c.Source] = e.ConvertTo
		}
	}
	return m
}
