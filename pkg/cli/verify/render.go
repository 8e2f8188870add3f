package verify

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ck-sync/ck/pkg/cli/cmdutil"
	"github.com/ck-sync/ck/pkg/imagefilter"
	"github.com/ck-sync/ck/pkg/verdict"
)

// FormatVersion is the version of the JSON document `ck verify -o json`
// writes (docs/json-output.md). Fields may be added; none is removed or
// changes meaning without a new version.
const FormatVersion = "1"

// Document is the JSON form of a verify run.
type Document struct {
	FormatVersion string     `json:"format_version"`
	Lists         []ListJSON `json:"lists"`
	Summary       Counts     `json:"summary"`
}

// ListJSON is one list's verdict.
type ListJSON struct {
	Source        string         `json:"source"`
	Origin        string         `json:"origin,omitempty"`
	Status        verdict.Status `json:"status"`
	Check         string         `json:"check,omitempty"`
	Reason        string         `json:"reason,omitempty"`
	Observed      string         `json:"observed,omitempty"`
	Expected      string         `json:"expected,omitempty"`
	Digest        string         `json:"sha256,omitempty"`
	Signature     *SignatureJSON `json:"signature,omitempty"`
	List          *SummaryJSON   `json:"list,omitempty"`
	ExpiredImages []string       `json:"expired_images,omitempty"`
	// Images are a registry source's images (HEPiX lists: see list).
	Images []ImageJSON `json:"images,omitempty"`
	// Filter is the subscription's image filter (lists: images); absent
	// when it has none.
	Filter *FilterJSON `json:"filter,omitempty"`
}

// FilterJSON is a subscription's image filter and what it passes of the
// list (or registry source) as read.
type FilterJSON struct {
	Entries []string `json:"entries"`
	// Passing are the ids of the images the filter passes, FilteredOut
	// counts the others; both are empty when the list could not be read.
	Passing     []string `json:"passing"`
	FilteredOut int      `json:"filtered_out"`
	// Unmatched are the entries that name no image of the list as read
	// (an entry skipped as malformed counts as an image of the list).
	Unmatched []string `json:"unmatched,omitempty"`
}

// unmatched returns fj's unmatched entries; none for no filter.
func (fj *FilterJSON) unmatched() []string {
	if fj == nil {
		return nil
	}
	return fj.Unmatched
}

// filterOf describes v's image filter, or returns nil when it has none.
func filterOf(v verdict.Verdict) *FilterJSON {
	f := imagefilter.New(v.Source, v.Filter)
	if !f.Active() {
		return nil
	}
	fj := &FilterJSON{Entries: f.Entries(), Passing: []string{}}
	if v.List == nil {
		return fj
	}
	ids := make([]string, 0, len(v.List.Images)+len(v.List.Skipped))
	for _, img := range v.List.Images {
		ids = append(ids, img.ID)
		if f.Match(img.ID) {
			fj.Passing = append(fj.Passing, img.ID)
		} else {
			fj.FilteredOut++
		}
	}
	for _, s := range v.List.Skipped {
		if s.ID != "" {
			ids = append(ids, s.ID)
		}
	}
	fj.Unmatched = f.Unmatched(ids)
	return fj
}

// SignatureJSON describes the verified signature.
type SignatureJSON struct {
	Format        string    `json:"format"`
	SignerDN      string    `json:"signer_dn"`
	IssuerDN      string    `json:"issuer_dn"`
	NotAfter      time.Time `json:"signer_not_after"`
	Canonicalised bool      `json:"canonicalised,omitempty"`
}

// SummaryJSON is what a list is: shared with `ck fetch -o json`.
type SummaryJSON struct {
	ID         string         `json:"id"`
	Title      string         `json:"title"`
	VO         string         `json:"vo,omitempty"`
	EndorserDN string         `json:"endorser_dn"`
	EndorserCA string         `json:"endorser_ca"`
	Created    *time.Time     `json:"created,omitempty"`
	Expires    time.Time      `json:"expires"`
	Images     int            `json:"images"`
	Skipped    []SkippedImage `json:"skipped_images,omitempty"`
}

// SkippedImage is one image entry that was reported and skipped.
type SkippedImage struct {
	Index  int    `json:"index"`
	ID     string `json:"id,omitempty"`
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

func render(f *cmdutil.Factory, verdicts []verdict.Verdict) error {
	if f.Globals.Output == "json" {
		return WriteJSON(f.IO.Out, verdicts)
	}
	return WriteText(f.IO.Out, verdicts)
}

// WriteJSON writes the versioned JSON document.
func WriteJSON(w io.Writer, verdicts []verdict.Verdict) error {
	doc := Document{FormatVersion: FormatVersion, Lists: make([]ListJSON, 0, len(verdicts)), Summary: Count(verdicts)}
	for _, v := range verdicts {
		l := ListJSON{
			Source: v.Source, Origin: v.Origin, Status: v.Status, Check: v.Check, Reason: v.Reason,
			Observed: v.Observed, Expected: v.Expected, Digest: v.Digest, ExpiredImages: v.ExpiredImages,
			Filter: filterOf(v),
		}
		if s := v.Signature; s != nil {
			l.Signature = &SignatureJSON{Format: s.Format, SignerDN: s.SignerDN, IssuerDN: s.IssuerDN, NotAfter: s.NotAfter.UTC(), Canonicalised: s.Canonicalised}
		}
		if v.List != nil {
			l.List = Summarise(v)
		}
		if v.Listing != nil {
			for _, img := range v.List.Images {
				l.Images = append(l.Images, ImageJSON{ID: img.ID, Digest: img.Digest, Size: img.Size, ManifestDigest: img.Version})
			}
		}
		doc.Lists = append(doc.Lists, l)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

// Summarise describes a parsed list.
func Summarise(v verdict.Verdict) *SummaryJSON {
	l := v.List
	s := &SummaryJSON{
		ID: l.ID, Title: l.Title, VO: l.VO, EndorserDN: l.Endorser.DN, EndorserCA: l.Endorser.CA,
		Expires: l.Expires.UTC(), Images: len(l.Images),
	}
	if !l.Created.IsZero() {
		c := l.Created.UTC()
		s.Created = &c
	}
	for _, e := range l.Skipped {
		s.Skipped = append(s.Skipped, SkippedImage{Index: e.Index, ID: e.ID, Field: e.Field, Reason: e.Reason})
	}
	return s
}

// WriteText writes one block per list and a summary line, for people.
func WriteText(w io.Writer, verdicts []verdict.Verdict) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, v := range verdicts {
		fmt.Fprintf(tw, "%s\t%s\n", v.Status, v.Source)
		if v.Origin != "" {
			fmt.Fprintf(tw, "\tfrom %s\n", v.Origin)
		}
		if v.Listing != nil {
			writeRegistry(tw, v)
			writeFilter(tw, v)
			continue
		}
		if v.List != nil {
			l := v.List
			fmt.Fprintf(tw, "\tlist %s %q, %d image(s), expires %s\n", l.ID, l.Title, len(l.Images), l.Expires.UTC().Format(time.RFC3339))
		}
		if s := v.Signature; s != nil {
			fmt.Fprintf(tw, "\tsigned by %s\n\tissued by %s\n", s.SignerDN, s.IssuerDN)
		}
		if v.Status != verdict.Valid {
			fmt.Fprintf(tw, "\t%s\n", explain(v))
		}
		if v.List != nil {
			for _, e := range v.List.Skipped {
				fmt.Fprintf(tw, "\tskipped %s\n", e.Error())
			}
		}
		if len(v.ExpiredImages) > 0 {
			fmt.Fprintf(tw, "\texpired image(s): %s\n", strings.Join(v.ExpiredImages, ", "))
		}
		writeFilter(tw, v)
	}
	n := Count(verdicts)
	fmt.Fprintf(tw, "%d list(s): %d valid, %d expired, %d invalid\n", len(verdicts), n.Valid, n.Expired, n.Invalid)
	return tw.Flush()
}

func explain(v verdict.Verdict) string {
	msg := v.Check + ": " + v.Reason
	if v.Observed != "" || v.Expected != "" {
		msg += fmt.Sprintf("\n\t  got:  %s\n\t  want: %s", v.Observed, v.Expected)
	}
	return msg
}

// writeRegistry shows what a registry source held: each image found (its
// id, layer digest and size, manifest) and each artifact skipped, with why.
func writeRegistry(w io.Writer, v verdict.Verdict) {
	g, l := v.Listing, v.List
	fmt.Fprintf(w, "\tregistry source: %d image(s), %d skipped; %d tag(s) not selected by the tag pattern, %d referrer(s) ignored\n",
		len(l.Images), len(l.Skipped), g.Unselected, g.Referrers)
	for _, img := range l.Images {
		fmt.Fprintf(w, "\timage %s\t%s, %d bytes (manifest %s)\n", img.ID, img.Digest, img.Size, img.Version)
	}
	for _, e := range l.Skipped {
		fmt.Fprintf(w, "\tskipped %s\t(%s): %s\n", e.ID, e.Field, e.Reason)
	}
}

// writeFilter shows the subscription's image filter: which images pass,
// how many do not, and the entries that name no image.
func writeFilter(w io.Writer, v verdict.Verdict) {
	fj := filterOf(v)
	if fj == nil {
		return
	}
	if v.List == nil {
		fmt.Fprintf(w, "\timage filter (lists: images): %d entr%s; the list was not read\n", len(fj.Entries), plural(len(fj.Entries), "y", "ies"))
		return
	}
	fmt.Fprintf(w, "\timage filter (lists: images): %d of %d image(s) pass, %d filtered out\n", len(fj.Passing), len(v.List.Images), fj.FilteredOut)
	for _, id := range fj.Passing {
		fmt.Fprintf(w, "\tpasses %s\n", id)
	}
	for _, e := range fj.Unmatched {
		fmt.Fprintf(w, "\tfilter entry %q names no image of the list\n", e)
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// ImageJSON is one image a registry source holds.
type ImageJSON struct {
	ID             string `json:"id"`
	Digest         string `json:"digest"`
	Size           int64  `json:"size"`
	ManifestDigest string `json:"manifest_digest"`
}
