// Package prune is `ck prune`: retire the images of lists that are no
// longer subscribed or have expired, and delete ck's images that have been
// retired for longer than the grace period (spec §7).
package prune

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ck-sync/ck/pkg/apply"
	"github.com/ck-sync/ck/pkg/cli/cmdutil"
	"github.com/ck-sync/ck/pkg/cli/diff"
	"github.com/ck-sync/ck/pkg/plan"
	"github.com/ck-sync/ck/pkg/site"
)

// Options are the inputs of a prune run.
type Options struct {
	diff.Options
	DryRun    bool
	Grace     string // Go duration or Nd
	MaxDelete string // N, N% or none
}

// NewCmd returns `ck prune`. runF replaces the run function in tests.
func NewCmd(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{Options: diff.Options{Factory: f}}
	cmd := &cobra.Command{
		Use:   "prune",
		Short: "Retire images of unsubscribed or expired lists; delete images retired longer than --grace",
		Long: `Verify every subscribed list (--image-lists-file) and plan as ck diff does, but
keep only the retirements: the images of lists that are no longer subscribed, that
expired, or that no longer hold them are hidden and marked ck_retired. Then every
image of ck's that has been retired for longer than --grace (default 7 days) is
deactivated and deleted.

A list that cannot be fetched or verified causes nothing: its images are kept.
Only ck's images are touched (its tag, ck_list_id and ck_image_id, a managed
owner, not a server snapshot). An image Glance refuses to delete (protected, in
use, a Ceph clone) is reported and left hidden and deactivated; prune goes on
with the rest and exits 3. A run that would delete more than --max-delete (or
retire more than --max-retire) images changes nothing.

--dry-run prints the plan (actions "- retire" and "x delete") and stops.

` + cmdutil.ExitCodesHelp,
		Example: `  ck prune --dry-run
  ck prune --grace 14d
  ck prune --grace 0 --max-delete 10 -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return Run(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&opts.DryRun, "dry-run", false, "print the plan and stop")
	fl.StringVar(&opts.Grace, "grace", "7d", "delete images retired longer ago than this: a duration such as 168h, or Nd")
	fl.StringVar(&opts.MaxDelete, "max-delete", "25%", "most images one run may delete: N, N% of ck's images (at least 1), or none")
	diff.BindPlanFlags(fl, &opts.Options)
	return cmd
}

// ParseGrace reads a Go duration ("36h") or a number of days ("7d"); it
// must not be negative.
func ParseGrace(s string) (time.Duration, error) {
	v := strings.TrimSpace(s)
	if days, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.ParseFloat(days, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("%q: want a number of days like 7d, or a duration like 36h", s)
		}
		return time.Duration(n * float64(24*time.Hour)), nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q: want a number of days like 7d, or a duration like 36h", s)
	}
	return d, nil
}

// Run plans, prints and (unless --dry-run) applies the prune.
func Run(ctx context.Context, opts *Options) error {
	f := opts.Factory
	grace, err := ParseGrace(opts.Grace)
	if err != nil {
		return &cmdutil.UsageError{Flag: "--grace", Reason: err.Error()}
	}
	md, err := site.ParseMaxRetire(opts.MaxDelete)
	if err != nil {
		return &cmdutil.UsageError{Flag: "--max-delete", Reason: strings.TrimPrefix(err.Error(), "max-retire: ")}
	}
	ctx, cancel := f.RunContext(ctx)
	defer cancel()

	opts.Lists = nil // always the full subscription set: only then is a list "unsubscribed"
	c, err := diff.Compute(ctx, &opts.Options)
	if err != nil {
		return err
	}
	if c.Guard != nil {
		if err := cmdutil.PlanLine(f, c.Plan, c.Site.ProjectNames); err != nil {
			return err
		}
		return c.Guard
	}
	p, err := plan.BuildPrune(c.Plan, c.Site.Observed, plan.PrunePolicy{
		Tag: f.Globals.Tag, Managed: c.Site.Managed, Grace: grace,
		MaxDelete: md.Count, MaxDeletePercent: md.Percent, SealKey: c.Site.SealKey,
	}, f.Now())
	var guard *plan.GuardError
	if err != nil && !errors.As(err, &guard) {
		return err
	}
	if err := cmdutil.PlanLine(f, p, c.Site.ProjectNames); err != nil {
		return err
	}
	if guard != nil {
		return guard
	}
	if opts.DryRun {
		return diff.ListsOutcome(p)
	}

	res, err := apply.Apply(ctx, p, apply.Options{
		Glance: func(project string) (apply.Glance, error) {
			if svc := c.Site.Conns[project]; svc != nil {
				return svc, nil
			}
			return nil, fmt.Errorf("no Glance connection for project %s", project)
		},
		Logger: f.Logger,
		Now:    f.Now,
	})
	if err != nil {
		return err
	}
	f.RecordApplied(res) // --metrics-file
	if err := report(f, res, c.Site.ProjectNames); err != nil {
		return err
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if n := res.Failed(); n > 0 {
		return &cmdutil.PartialError{Summary: fmt.Sprintf("%d of %d changes failed (see the report)", n, len(res.Outcomes))}
	}
	return diff.ListsOutcome(p)
}
