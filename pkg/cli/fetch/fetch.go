// Package fetch is `ck fetch`: download lists and say what each is, without
// judging it (that is `ck verify`); --save keeps the raw bytes.
package fetch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ck-sync/ck/pkg/cli/cmdutil"
	"github.com/ck-sync/ck/pkg/imagelist"
	"github.com/ck-sync/ck/pkg/registry"
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
list, named after its URL without credentials, mode 0600), for offline use:
ck verify DIR/*.list works on them later. A file of an earlier run is
replaced; a symbolic link in DIR is never followed (the list is not saved),
and when two lists of one run map to the same file name, the second is not
saved (an error; exit 3).

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
	// Registry is what a registry source held; --save writes it as JSON.
	Registry *registry.Listing `json:"-"`
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
		if err := os.MkdirAll(opts.SaveDir, 0o700); err != nil {
			return &cmdutil.UsageError{Flag: "--save", Reason: err.Error()}
		}
	}
	fetched := f.FetchAll(ctx, &imagelist.Fetcher{Client: client}, sources)
	results := make([]Result, len(fetched))
	saved := map[string]imagelist.Source{} // file name → the list saved under it in this run
	failed := 0
	for i, r := range fetched {
		results[i] = describe(r)
		if r.Err == nil && opts.SaveDir != "" {
			name := FileName(r.Source)
			path := filepath.Join(opts.SaveDir, name)
			var err error
			if first, taken := saved[name]; taken && first.Key() != r.Source.Key() {
				// Two lists whose names map to one file: the first stays,
				// the second is not saved (a list never overwrites another).
				err = fmt.Errorf("%s already holds list %s from this run; not overwriting it with this list (both names map to %s)", path, first, name)
			} else {
				data := r.Data
				if r.Listing != nil {
					data, err = json.MarshalIndent(r.Listing, "", "  ")
				}
				if err == nil {
					err = saveList(opts.SaveDir, name, data)
				}
			}
			if err != nil {
				results[i].Error = strings.TrimPrefix(results[i].Error+"; save: "+err.Error(), "; ")
			} else {
				saved[name] = r.Source
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
		if r.Check != "" {
			res.Error = r.Check + ": " + res.Error
		}
		return res
	}
	if r.Listing != nil {
		// A registry source: what it holds, as ck verify would use it.
		res.Envelope, res.List, res.Registry = "registry", r.Listing.List(), r.Listing
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

// saveList writes data to dir/name with mode 0600, without ever writing
// through a symbolic link planted at dir/name: an existing link (or other
// non-regular file) there is refused, and the bytes go to a temporary file
// created exclusively (O_EXCL, which never follows a link), then renamed
// over the name (rename replaces a link made in between, never follows it).
// A reader of dir never sees half a list.
func saveList(dir, name string, data []byte) error {
	path := filepath.Join(dir, name)
	switch fi, err := os.Lstat(path); {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return err
	case fi.Mode()&fs.ModeSymlink != 0:
		return fmt.Errorf("%s is a symbolic link; not following it (remove it to save the list here)", path)
	case !fi.Mode().IsRegular():
		return fmt.Errorf("%s exists and is not a regular file", path)
	}
	tmp, err := os.CreateTemp(dir, "."+name+".*.tmp") // mode 0600
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
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
	if _, ok := s.Registry(); ok {
		name += ".json" // the listing, not a list
	} else if !strings.HasSuffix(name, ".list") {
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
		if g := r.Registry; g != nil {
			fmt.Fprintf(tw, "\tid\t%s\n", l.ID)
			fmt.Fprintf(tw, "\timages\t%d (%d skipped, %d tag(s) not selected, %d referrer(s) ignored)\n", len(l.Images), len(l.Skipped), g.Unselected, g.Referrers)
			for _, img := range l.Images {
				fmt.Fprintf(tw, "\t\t%s  %s  %d bytes\n", img.ID, img.Digest, img.Size)
			}
			if r.SavedTo != "" {
				fmt.Fprintf(tw, "\tsaved to\t%s\n", r.SavedTo)
			}
			continue
		}
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
