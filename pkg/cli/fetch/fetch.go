// Package fetch is `ck fetch`: download lists and say what each is, without
// judging it (that is `ck verify`); --save keeps the raw bytes.
package fetch

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ck-sync/ck/pkg/cli/cmdutil"
	"github.com/ck-sync/ck/pkg/imagelist"
	"github.com/ck-sync/ck/pkg/trust"
)

// Options are the inputs of a fetch run.
type Options struct {
	Factory *cmdutil.Factory
	Lists   []string
	SaveDir string
}

// NewCmd returns `ck fetch`. runF replaces the run function in tests.
func NewCmd(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{Factory: f}
	cmd := &cobra.Command{
		Use:   "fetch [LIST...]",
		Short: "Download lists and print what each is (id, title, endorser, expiry, images)",
		Long: `Download each image list and print what it is: its id, title, endorser,
expiry and number of images, and the kind of envelope it came in. fetch does not
verify signatures: use ck verify for a verdict.

With --save DIR the raw bytes of each list are written to DIR (one file per
list, named after its URL without credentials), for offline use:
ck verify DIR/*.list works on them later.

` + cmdutil.ExitCodesHelp,
		Example: `  ck fetch
  ck fetch --save ./lists https://vmcaster.appdb.egi.eu/store/vo/fedcloud.egi.eu/image.list
  ck fetch -o json ./image.list`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Lists = args
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return Run(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.SaveDir, "save", "", "write each list's raw bytes into this directory")
	return cmd
}

// Result is what fetch learned about one list.
type Result struct {
	Source   string          `json:"source"`
	Error    string          `json:"error,omitempty"`
	Bytes    int             `json:"bytes"`
	Envelope string          `json:"envelope,omitempty"` // multipart, opaque, pem, der, unsigned
	SavedTo  string          `json:"saved_to,omitempty"`
	List     *imagelist.List `json:"-"`
}

// Run fetches, describes and optionally saves every list.
func Run(ctx context.Context, opts *Options) error {
	f := opts.Factory
	sources, _, err := f.Sources(opts.Lists)
	if err != nil {
		return err
	}
	client, err := f.HTTPClient()
	if err != nil {
		return err
	}
	if opts.SaveDir != "" {
		if err := os.MkdirAll(opts.SaveDir, 0o755); err != nil {
			return &cmdutil.UsageError{Flag: "--save", Reason: err.Error()}
		}
	}
	fetched := cmdutil.FetchAll(ctx, &imagelist.Fetcher{Client: client}, sources, f.Globals.Parallel)
	results := make([]Result, len(fetched))
	failed := 0
	for i, r := range fetched {
		results[i] = describe(r)
		if r.Err == nil && opts.SaveDir != "" {
			path := filepath.Join(opts.SaveDir, FileName(r.Source))
			if err := os.WriteFile(path, r.Data, 0o644); err != nil {
				results[i].Error = "save: " + err.Error()
			} else {
				results[i].SavedTo = path
			}
		}
		if results[i].Error != "" {
			failed++
			f.Logger.Error("list not read", "list", results[i].Source, "error", results[i].Error)
		}
	}
	if f.Globals.Output == "json" {
		err = writeJSON(f.IO.Out, results)
	} else {
		err = writeText(f.IO.Out, results)
	}
	if err != nil {
		return err
	}
	if failed > 0 {
		return &cmdutil.PartialError{Summary: fmt.Sprintf("%d of %d lists could not be read", failed, len(results))}
	}
	return nil
}

func describe(r cmdutil.Fetched) Result {
	res := Result{Source: r.Source.String(), Bytes: len(r.Data)}
	if r.Err != nil {
		res.Error = r.Err.Error()
		return res
	}
	payload, envelope, err := trust.Extract(r.Data)
	if err != nil {
		res.Error = err.Error()
		return res
	}
	res.Envelope = envelope
	list, err := imagelist.Parse(payload)
	if err != nil {
		res.Error = err.Error()
		return res
	}
	res.List = list
	return res
}

// FileName names a saved list after its source, without credentials, so
// that AppDB's many lists all called image.list do not collide.
func FileName(s imagelist.Source) string {
	name := s.String()
	if i := strings.Index(name, "://"); i >= 0 {
		name = name[i+3:]
	}
	name = strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-':
			return r
		}
		return '_'
	}, strings.Trim(name, "/"))
	if !strings.HasSuffix(name, ".list") {
		name += ".list"
	}
	return name
}

type listJSON struct {
	Result
	ID         string    `json:"id,omitempty"`
	Title      string    `json:"title,omitempty"`
	VO         string    `json:"vo,omitempty"`
	EndorserDN string    `json:"endorser_dn,omitempty"`
	EndorserCA string    `json:"endorser_ca,omitempty"`
	Expires    time.Time `json:"expires,omitzero"`
	Images     int       `json:"images"`
	Skipped    int       `json:"skipped_images"`
}

func writeJSON(w io.Writer, results []Result) error {
	doc := struct {
		FormatVersion string     `json:"format_version"`
		Lists         []listJSON `json:"lists"`
	}{FormatVersion: "1", Lists: []listJSON{}}
	for _, r := range results {
		l := listJSON{Result: r}
		if r.List != nil {
			l.ID, l.Title, l.VO = r.List.ID, r.List.Title, r.List.VO
			l.EndorserDN, l.EndorserCA = r.List.Endorser.DN, r.List.Endorser.CA
			l.Expires, l.Images, l.Skipped = r.List.Expires.UTC(), len(r.List.Images), len(r.List.Skipped)
		}
		doc.Lists = append(doc.Lists, l)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

func writeText(w io.Writer, results []Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, r := range results {
		fmt.Fprintf(tw, "%s\n", r.Source)
		if r.Error != "" {
			fmt.Fprintf(tw, "\terror\t%s\n", r.Error)
			continue
		}
		l := r.List
		fmt.Fprintf(tw, "\tid\t%s\n\ttitle\t%s\n", l.ID, l.Title)
		if l.VO != "" {
			fmt.Fprintf(tw, "\tvo\t%s\n", l.VO)
		}
		fmt.Fprintf(tw, "\tendorser\t%s\n\tendorser CA\t%s\n", l.Endorser.DN, l.Endorser.CA)
		fmt.Fprintf(tw, "\texpires\t%s\n", l.Expires.UTC().Format(time.RFC3339))
		fmt.Fprintf(tw, "\timages\t%d (%d skipped)\n", len(l.Images), len(l.Skipped))
		fmt.Fprintf(tw, "\tenvelope\t%s, %d bytes (not verified: see ck verify)\n", r.Envelope, r.Bytes)
		if r.SavedTo != "" {
			fmt.Fprintf(tw, "\tsaved to\t%s\n", r.SavedTo)
		}
	}
	return tw.Flush()
}
