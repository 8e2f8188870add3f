// Package diff is `ck diff`: verify the lists, read what ck has in Glance,
// and print the plan that would bring Glance in line — changing nothing.
package diff

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/ck-sync/ck/pkg/cli/cmdutil"
	"github.com/ck-sync/ck/pkg/cli/verify"
	"github.com/ck-sync/ck/pkg/imagelist"
	"github.com/ck-sync/ck/pkg/ociref"
	"github.com/ck-sync/ck/pkg/plan"
	"github.com/ck-sync/ck/pkg/plan/render"
	"github.com/ck-sync/ck/pkg/site"
	"github.com/ck-sync/ck/pkg/verdict"
)

// Options are the inputs of a diff run.
type Options struct {
	Factory        *cmdutil.Factory
	Lists          []string // LIST arguments; empty = --image-lists-file
	ExitCode       bool     // exit 2 when the plan is not empty
	Out            string   // write the JSON plan here too
	DefaultProject string
	MaxRetire      string // N, N% or none
	NamePrefix     string
	Visibility     string
	PageSize       int    // Glance list page size (hidden; tests)
	Adopt          bool   // take over cloudkeeper-os's and atrope's images (--adopt)
	ShareMode      string // copies or members (--share-mode)
}

// NewCmd returns `ck diff`. runF replaces the run function in tests.
func NewCmd(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{Factory: f}
	cmd := &cobra.Command{
		Use:   "diff [LIST...]",
		Short: "Show what sync would change in Glance, and why; change nothing",
		Long: `Verify each list (as ck verify does), find each list's project through
--mapping-file, read ck's images in every managed project, and print the plan:
one line per change with its action (+ create, -/+ replace, ~ update-metadata,
= adopt, - retire), the image, the project and the reason, then a summary.
Nothing in Glance is changed.

Images that cloudkeeper-os or atrope made for a listed image are adopted (ck's
tag and properties added, no download) when they hold the listed bytes, and
replaced then retired otherwise; --adopt=false turns this off.

A list that cannot be fetched or verified causes no retirement: its images are
kept and the list is reported. A list whose VO has no entry in the mapping file
is skipped unless --default-project is set; lists without ad:vo go to
--default-project (default: the project of the clouds.yaml cloud).

mapping.json maps a VO to {"project": ID}, {"project": NAME, "domain": DOMAIN}
or {"project": ..., "cloud": CLOUD} (a clouds.yaml entry for that VO).

--out FILE also writes the JSON plan, for a later ck sync --plan FILE.
With --exit-code, a plan with changes exits 2, so CI can ask "in sync?".

` + cmdutil.ExitCodesHelp,
		Example: `  ck diff
  ck diff --exit-code >/dev/null || echo "Glance is not in sync"
  ck diff -o json | jq '.changes[] | {action, reason, title}'
  ck diff --out plan.json --mapping-file ./mapping.json --os-cloud site
  ck diff --max-retire 5 --default-project ops https://vmcaster.appdb.egi.eu/store/vo/fedcloud.egi.eu/image.list`,
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
	fl.BoolVar(&opts.ExitCode, "exit-code", false, "exit 2 when the plan is not empty")
	fl.StringVar(&opts.Out, "out", "", "also write the JSON plan to `FILE` (for ck sync --plan)")
	BindPlanFlags(fl, opts)
	return cmd
}

// BindPlanFlags registers the flags that shape a plan; sync shares them.
func BindPlanFlags(fl *pflag.FlagSet, opts *Options) {
	fl.StringVar(&opts.DefaultProject, "default-project", "", "project (id or name) for lists without ad:vo and of unmapped VOs (default: the clouds.yaml project, for lists without ad:vo only)")
	fl.StringVar(&opts.MaxRetire, "max-retire", "25%", "most images one run may retire: N, N% of ck's current images (at least 1), or none")
	fl.StringVar(&opts.NamePrefix, "name-prefix", "", "prefix of image names (before dc:title)")
	fl.StringVar(&opts.Visibility, "visibility", plan.DefaultVisibility, "visibility of ck's images: private, shared, community or public")
	fl.BoolVar(&opts.Adopt, "adopt", true, "adopt the images cloudkeeper-os or atrope made for a listed image, when they hold its bytes, instead of downloading it again")
	// No default value, so "copies" and an unset flag are the same mode.
	fl.StringVar(&opts.ShareMode, "share-mode", "", "copies (when unset): one image per VO project; members: one shared image in the clouds.yaml project, each VO project an image member (atrope's model)")
	fl.IntVar(&opts.PageSize, "page-size", 0, "Glance list page size (0: the default)")
	_ = fl.MarkHidden("page-size")
}

// policy checks the flags and turns them into the plan's policy.
func (opts *Options) policy(full bool) (plan.Policy, error) {
	switch opts.Visibility {
	case "private", "shared", "community", "public":
	default:
		return plan.Policy{}, &cmdutil.UsageError{Flag: "--visibility", Reason: fmt.Sprintf("must be private, shared, community or public, not %q", opts.Visibility)}
	}
	mr, err := site.ParseMaxRetire(opts.MaxRetire)
	if err != nil {
		return plan.Policy{}, &cmdutil.UsageError{Flag: "--max-retire", Reason: strings.TrimPrefix(err.Error(), "max-retire: ")}
	}
	switch opts.ShareMode {
	case "", "copies", site.ShareMembers:
	default:
		return plan.Policy{}, &cmdutil.UsageError{Flag: "--share-mode", Reason: fmt.Sprintf("must be copies or members, not %q", opts.ShareMode)}
	}
	if opts.PageSize < 0 {
		return plan.Policy{}, &cmdutil.UsageError{Flag: "--page-size", Reason: "must not be negative"}
	}
	return plan.Policy{
		Tag:              opts.Factory.Globals.Tag,
		NamePrefix:       opts.NamePrefix,
		Visibility:       opts.Visibility,
		MaxRetire:        mr.Count,
		MaxRetirePercent: mr.Percent,
		FullSet:          full,
		Adopt:            opts.Adopt,
	}, nil
}

// Computed is a plan and the site it was computed against.
type Computed struct {
	Plan  *plan.Plan
	Site  *site.State
	Guard *plan.GuardError // set when the plan is blocked: show it, apply nothing
}

// Compute verifies the lists, observes the site and builds the plan; it is
// the part of diff that sync shares. A blocked plan is not an error here.
func Compute(ctx context.Context, opts *Options) (*Computed, error) {
	f := opts.Factory
	pol, err := opts.policy(len(opts.Lists) == 0)
	if err != nil {
		return nil, err
	}
	verdicts, err := verify.Verdicts(ctx, f, opts.Lists)
	if err != nil {
		return nil, err
	}
	shareMode := opts.ShareMode
	if shareMode == "" && f.Globals.ShareMembersByDefault() {
		// atrope's sources with vos: one shared copy, as atrope made it.
		shareMode = site.ShareMembers
	}
	inputs := Inputs(verdicts)
	for i := range inputs {
		// A source's own name prefix and visibility (lists: entries,
		// atrope's prefix and sharing_model), and its atrope name.
		if key, err := imagelist.Key(inputs[i].Source); err == nil {
			if e, ok := f.Globals.ListEntry(key); ok {
				inputs[i].NamePrefix, inputs[i].Visibility, inputs[i].AtropeName = e.Prefix, e.Visibility, e.AtropeName
			}
		}
	}
	st, err := site.Observe(ctx, site.Config{
		Cloud:          f.Globals.OSCloud,
		MappingFile:    f.Globals.MappingFile,
		DefaultProject: opts.DefaultProject,
		Tag:            f.Globals.Tag,
		PageSize:       opts.PageSize,
		UserAgent:      cmdutil.UserAgent(),
		// Glance answers get at least 30 s: a short --timeout is for
		// stalled image servers, not for a busy Glance.
		Timeout:   max(f.Globals.Timeout, 30*time.Second),
		Adopt:     opts.Adopt,
		ShareMode: shareMode,
		// Only ck's default mapping file may be missing (see site.Config).
		MappingFileIsDefault: f.Globals.MappingFile == cmdutil.DefaultMappingFile,
	}, inputs)
	var cfgErr *site.ConfigError
	switch {
	case errors.As(err, &cfgErr):
		return nil, &cmdutil.UsageError{Flag: cfgErr.Flag, Reason: cfgErr.Err.Error()}
	case err != nil:
		return nil, err
	}
	pol.ManagedProjects = st.Managed
	for _, p := range st.Problems {
		f.Logger.Warn("mapping entry not usable: its VO's lists fail and its images are left alone", "problem", p)
	}
	pol.CanAccept = st.CanAccept
	key, err := f.SealKey()
	if err != nil {
		return nil, err
	}
	if key != nil {
		st.SealKey = key
	}
	pol.SealKey = st.SealKey
	if st.SealKey == nil {
		f.Logger.Warn("no seal key (no --seal-key-file, and the cloud authenticates without a password or application-credential secret): images whose bytes only ck's seal can prove (registry images on a sha512 Glance, unpacked or converted images) are proven by a download on every run, and when retired never deleted by prune")
	}

	p, err := plan.Build(st.Lists, st.Observed, pol, f.Now())
	c := &Computed{Plan: p, Site: st}
	if err != nil && !errors.As(err, &c.Guard) {
		return nil, err
	}
	return c, nil
}

// Run builds and renders the plan. The error decides the exit code: a
// blocked plan is an error (1), a failed or skipped list partial (3), and
// under --exit-code a non-empty plan is 2.
func Run(ctx context.Context, opts *Options) error {
	f := opts.Factory
	ctx, cancel := f.RunContext(ctx)
	defer cancel()
	c, err := Compute(ctx, opts)
	if err != nil {
		return err
	}
	if err := Output(f, c.Plan, c.Site.ProjectNames); err != nil {
		return err
	}
	if c.Guard != nil {
		return c.Guard
	}
	if opts.Out != "" {
		if err := writePlan(opts.Out, c.Plan); err != nil {
			return err
		}
	}
	return Outcome(c.Plan, opts.ExitCode)
}

// Inputs turns verdicts into the planner's list inputs: an invalid list
// (unreachable, bad signature, ...) is failed and retires nothing; an
// expired one retires its images. Each carries its subscription's image
// filter (plan.ListInput.Images).
//
// A registry source's list id is its canonical name (the source itself),
// known even when it could not be read, so that its images are protected
// by id. A source with a vos setting sends its images to those VOs'
// projects, one input per VO, whatever a list's ad:vo says; a registry
// source without one, to its registry project's VO when the mapping file
// has that name, else to the default project (plan.ListInput.VOGuess).
func Inputs(verdicts []verdict.Verdict) []plan.ListInput {
	out := make([]plan.ListInput, 0, len(verdicts))
	for _, v := range verdicts {
		in := plan.ListInput{Source: v.Source, List: v.List, Digest: v.Digest, Images: v.Filter}
		switch v.Status {
		case verdict.Valid:
			in.Status = plan.ListValid
		case verdict.Expired:
			in.Status = plan.ListExpired
			in.Reason = v.Reason
		default:
			in.Status = plan.ListFailed
			in.Reason = v.Check + ": " + v.Reason
		}
		if v.List != nil {
			in.ListID = v.List.ID
		}
		if ociref.IsRegistry(v.Source) {
			in.ListID = v.Source
		}
		switch {
		case in.List == nil:
			out = append(out, in)
			continue
		case len(v.VOs) == 0 && v.Listing != nil:
			l := *in.List
			l.VO, in.List, in.VOGuess = v.Listing.Ref.Project, &l, true
			out = append(out, in)
			continue
		case len(v.VOs) == 0:
			out = append(out, in)
			continue
		}
		for _, vo := range v.VOs {
			l := *in.List
			l.VO, in.List = vo, &l
			out = append(out, in)
		}
	}
	return out
}

// Output renders the plan on stdout: the human diff, or the JSON plan.
func Output(f *cmdutil.Factory, p *plan.Plan, names map[string]string) error {
	if f.Globals.Output == "json" {
		return render.JSON(f.IO.Out, p)
	}
	return render.Text(f.IO.Out, p, render.TextOptions{Color: f.IO.OutTTY, ProjectNames: names})
}

// writePlan writes the JSON plan through a temporary file, so that a
// pipeline never picks up half a plan.
func writePlan(path string, p *plan.Plan) error {
	var buf bytes.Buffer
	if err := render.JSON(&buf, p); err != nil {
		return fmt.Errorf("--out %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return &cmdutil.UsageError{Flag: "--out", Reason: err.Error()}
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(buf.Bytes()); err != nil {
		tmp.Close()
		return fmt.Errorf("--out %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("--out %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("--out %s: %w", path, err)
	}
	return nil
}

// Outcome is a *cmdutil.PartialError (exit 3) when some list was not
// fully planned (the plan output already names each one), else, under
// --exit-code, a *cmdutil.ChangesError (exit 2) when the plan has changes.
func Outcome(p *plan.Plan, exitCode bool) error {
	if err := ListsOutcome(p); err != nil {
		return err
	}
	if exitCode && !p.Empty() {
		return &cmdutil.ChangesError{Count: len(p.Changes)}
	}
	return nil
}

// ListsOutcome is a *cmdutil.PartialError when some list was failed,
// expired or skipped.
func ListsOutcome(p *plan.Plan) error {
	var failed, expired, skipped int
	for _, l := range p.Lists {
		switch l.Status {
		case plan.ListFailed:
			failed++
		case plan.ListExpired:
			expired++
		case plan.ListSkipped:
			skipped++
		}
	}
	if failed+expired+skipped == 0 {
		return nil
	}
	return &cmdutil.PartialError{Summary: fmt.Sprintf("%d of %d lists not fully planned (%d failed, %d expired, %d skipped)",
		failed+expired+skipped, len(p.Lists), failed, expired, skipped)}
}
