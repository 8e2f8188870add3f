// Package verify is `ck verify`: fetch each list and give one verdict per
// list — valid, expired or invalid with the failed check.
package verify

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ck-sync/ck/pkg/cli/cmdutil"
	"github.com/ck-sync/ck/pkg/imagelist"
	"github.com/ck-sync/ck/pkg/trust"
	"github.com/ck-sync/ck/pkg/verdict"
)

// Options are the inputs of a verify run.
type Options struct {
	Factory *cmdutil.Factory
	Lists   []string // LIST arguments; empty = --image-lists-file
}

// NewCmd returns `ck verify`. runF replaces the run function in tests.
func NewCmd(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{Factory: f}
	return &cobra.Command{
		Use:   "verify [LIST...]",
		Short: "Fetch lists and check their signature, endorser, expiry and contents",
		Long: `Fetch each image list and run every trust and schema check on it (spec §4):
the S/MIME or PKCS#7 envelope, exactly one signer chaining to a CA in --ca-dir,
CRLs, the signer's subject and issuer against the list's hv:endorser, pins from
the config file, the list's dates, and the HEPiX schema.

One verdict per list: valid, expired, or invalid with the failed check and the
observed and expected values. Every list is checked even when one fails.

LIST is an https/http URL (AppDB tokens as https://TOKEN:x-oauth-basic@host/…),
a file:// URL or a path; without LIST, the lists in --image-lists-file.

` + cmdutil.ExitCodesHelp,
		Example: `  ck verify
  ck verify https://vmcaster.appdb.egi.eu/store/vo/fedcloud.egi.eu/image.list
  ck verify --ca-dir ./certificates --require-crl -o json saved/*.list`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Lists = args
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return Run(cmd.Context(), opts)
		},
	}
}

// Run verifies every list and renders the verdicts.
func Run(ctx context.Context, opts *Options) error {
	f := opts.Factory
	verdicts, err := Verdicts(ctx, f, opts.Lists)
	if err != nil {
		return err
	}
	if err := render(f, verdicts); err != nil {
		return err
	}
	return Outcome(verdicts)
}

// Verdicts fetches and evaluates the lists; it is shared with the commands
// that build on verification (diff, sync).
func Verdicts(ctx context.Context, f *cmdutil.Factory, args []string) ([]verdict.Verdict, error) {
	sources, _, err := f.Sources(args)
	if err != nil {
		return nil, err
	}
	// Registry sources have no signature: a site that reads only those
	// needs no CA directory.
	var cas *trust.CAStore
	if slices.ContainsFunc(sources, func(s imagelist.Source) bool { _, reg := s.Registry(); return !reg }) {
		if cas, err = f.CAStore(); err != nil {
			return nil, err
		}
	}
	client, err := f.HTTPClient()
	if err != nil {
		return nil, err
	}
	if f.Globals.InsecureAllowUnsigned {
		f.Logger.Warn("INSECURE: --insecure-allow-unsigned is set: unsigned lists are accepted without any authenticity check")
	}
	fetched := f.FetchAll(ctx, &imagelist.Fetcher{Client: client}, sources)
	now := f.Now()
	out := make([]verdict.Verdict, len(fetched))
	for i, r := range fetched {
		src := r.Source.String()
		_, reg := r.Source.Registry()
		switch {
		case reg:
			out[i] = verdict.Registry(src, r.Listing, r.Check, r.Err)
		case r.Err != nil:
			out[i] = verdict.FetchFailed(src, r.Err)
		default:
			out[i] = verdict.Evaluate(src, r.Data, policy(f, r.Source, cas), now)
		}
		if e, ok := f.Globals.ListEntry(r.Source.Key()); ok {
			out[i].Filter, out[i].VOs, out[i].Origin = e.Images, e.VOs, e.Origin
		}
		log(f.Logger, out[i])
	}
	n := Count(out)
	f.Metrics.SetLists(n.Valid, n.Expired, n.Invalid) // --metrics-file; a no-op without it
	return out, nil
}

// policy is the site's policy for one list, with the pins of the lists:
// entry that matches it (by imagelist.Key, whatever the spelling of either).
func policy(f *cmdutil.Factory, src imagelist.Source, cas *trust.CAStore) verdict.Policy {
	p := verdict.Policy{CAs: cas, RequireCRL: f.Globals.RequireCRL, AllowUnsigned: f.Globals.InsecureAllowUnsigned}
	if e, ok := f.Globals.ListEntry(src.Key()); ok {
		p.Pin = e.Pin()
	}
	return p
}

func log(l *slog.Logger, v verdict.Verdict) {
	switch v.Status {
	case verdict.Valid:
		l.Debug("list verified", "list", v.Source, "id", v.List.ID, "images", len(v.List.Images))
	case verdict.Expired:
		l.Warn("list expired", "list", v.Source, "expires", v.Observed)
	default:
		args := []any{"list", v.Source, "check", v.Check, "reason", v.Reason}
		if v.Observed != "" || v.Expected != "" {
			args = append(args, "observed", v.Observed, "expected", v.Expected)
		}
		l.Error("list refused", args...)
	}
	if v.List != nil {
		for _, s := range v.List.Skipped {
			if v.Listing != nil {
				l.Warn("artifact skipped", "source", v.Source, "image", s.ID, "manifest", strings.TrimPrefix(s.Field, "manifest "), "reason", s.Reason)
				continue
			}
			l.Warn("image entry skipped", "list", v.Source, "error", s.Error())
		}
		if v.Status == verdict.Valid {
			for _, e := range filterOf(v).unmatched() {
				l.Warn("image filter entry names no image of the list: the image left the list (ck's image of it, if any, retires as removed-from-list) or the entry is misspelt",
					"list", v.Source, "entry", e)
			}
		}
		for _, img := range v.List.Images {
			// The image client sends hv:uri's userinfo as Basic auth; only
			// a valid list's images are ever downloaded.
			if v.Status == verdict.Valid && imagelist.URLSendsCredentialsInClear(img.URI) {
				l.Warn("credentials sent in clear: the image's hv:uri carries credentials over plain http://; anyone on the path can read them when it is downloaded",
					"list", v.Source, "image", img.ID)
			}
		}
	}
}

// Outcome is nil when every list is valid, else a *cmdutil.PartialError
// (exit 3) that counts the others.
func Outcome(verdicts []verdict.Verdict) error {
	n := Count(verdicts)
	if n.Expired+n.Invalid == 0 {
		return nil
	}
	return &cmdutil.PartialError{Summary: fmt.Sprintf("%d of %d lists not valid (%d expired, %d invalid)", n.Expired+n.Invalid, len(verdicts), n.Expired, n.Invalid)}
}

// Counts is the number of lists by verdict.
type Counts struct {
	Valid   int `json:"valid"`
	Expired int `json:"expired"`
	Invalid int `json:"invalid"`
}

// Count tallies verdicts.
func Count(verdicts []verdict.Verdict) Counts {
	var n Counts
	for _, v := range verdicts {
		switch v.Status {
		case verdict.Valid:
			n.Valid++
		case verdict.Expired:
			n.Expired++
		default:
			n.Invalid++
		}
	}
	return n
}
