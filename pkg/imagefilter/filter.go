// Package imagefilter is a subscription's image filter: the `images:` of a
// config `lists:` entry (and atrope's `images`/`subscribed_images`), which
// names the images of one source that ck subscribes to. Images outside the
// filter are neither created nor retired by that source (pkg/plan).
//
// What an entry names depends on the source:
//
//   - a HEPiX list: an image's dc:identifier, compared exactly;
//   - a registry source (oci://, harbor://): an image id HOST/PATH/REPO:TAG
//     as ck prints it; or its tail after any "/" (PATH/REPO:TAG, REPO:TAG),
//     naming that image in whichever registry and project the source reads;
//     or a bare TAG, naming that tag in every repository of the source, as
//     atrope's subscribed_images does. A digest is not an entry: a manifest
//     is subscribed as oci://HOST/PATH/REPO@sha256:….
//
// The planner, the config checks and `ck verify` share this one reading of
// an entry.
package imagefilter

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"

	"github.com/ck-sync/ck/pkg/ociref"
)

// Filter selects a source's images. The zero value passes every image.
type Filter struct {
	entries  []string
	registry bool
}

// New returns the filter of the subscription source (a subscription key or
// canonical name; its scheme says whether it is a registry source) with
// the given entries. No entries means no filter: every image passes.
func New(source string, entries []string) Filter {
	return Filter{entries: slices.Clone(entries), registry: ociref.IsRegistry(source)}
}

// Active reports whether the filter leaves any image out, i.e. has entries.
func (f Filter) Active() bool { return len(f.entries) > 0 }

// Entries returns the filter's entries as configured.
func (f Filter) Entries() []string { return slices.Clone(f.entries) }

// Match reports whether the image with id passes the filter. An inactive
// filter passes every image.
func (f Filter) Match(id string) bool {
	if !f.Active() {
		return true
	}
	return slices.ContainsFunc(f.entries, func(e string) bool { return f.names(e, id) })
}

// Unmatched returns the entries that name none of ids (a source's image
// ids), in the filter's order, each once.
func (f Filter) Unmatched(ids []string) []string {
	var out []string
	for _, e := range f.entries {
		if slices.Contains(out, e) {
			continue
		}
		if !slices.ContainsFunc(ids, func(id string) bool { return f.names(e, id) }) {
			out = append(out, e)
		}
	}
	return out
}

// Equal reports whether two filters pass the same images: the same kind of
// source and the same set of entries.
func (f Filter) Equal(g Filter) bool {
	if f.registry != g.registry {
		return false
	}
	a, b := slices.Clone(f.entries), slices.Clone(g.entries)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}

// names reports whether entry e names the image with id.
func (f Filter) names(e, id string) bool {
	if e == id {
		return true
	}
	if !f.registry {
		return false
	}
	if strings.Contains(e, ":") {
		// A tail of the id: REPO:TAG, PATH/REPO:TAG, … Cut at a "/", so
		// that "buntu:24.04" names nothing.
		return strings.HasSuffix(id, "/"+e)
	}
	return tagOf(id) == e
}

// tagOf returns the tag of a registry image id HOST/PATH/REPO:TAG, or "".
func tagOf(id string) string {
	last := id[strings.LastIndex(id, "/")+1:]
	_, tag, _ := strings.Cut(last, ":")
	return tag
}

// Distribution's grammar for repository path components and tags
// (distribution/reference), the one pkg/ociref applies to subscriptions
// (it keeps its patterns unexported, as parts of its parser).
var (
	pathComponent = regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$`)
	tagPattern    = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
)

// Check validates one entry of source's filter, so that an entry that can
// never name an image is refused when the configuration is read rather
// than found, run after run, to match nothing.
func Check(source, entry string) error {
	switch {
	case strings.TrimSpace(entry) == "":
		return errors.New("an empty image id")
	case strings.TrimSpace(entry) != entry:
		return fmt.Errorf("%q: leading or trailing white space", entry)
	}
	if !ociref.IsRegistry(source) {
		return nil
	}
	if strings.IndexFunc(entry, unicode.IsSpace) >= 0 {
		return fmt.Errorf("%q: white space in a registry image id", entry)
	}
	if strings.Contains(entry, "@") || strings.HasPrefix(entry, "sha256:") {
		return fmt.Errorf("%q: a digest names one manifest, not an image to follow; subscribe to oci://HOST/PATH/REPO@sha256:… for that", entry)
	}
	if strings.Contains(entry, "-sha256:") {
		return fmt.Errorf("%q: atrope's HOST/PROJECT/REPO:TAG-sha256:DIGEST names one build; name the image as HOST/PROJECT/REPO:TAG, REPO:TAG or TAG", entry)
	}
	slash := strings.LastIndex(entry, "/")
	last := entry[slash+1:]
	repo, tag, tagged := strings.Cut(last, ":")
	if !tagged {
		if slash >= 0 {
			return fmt.Errorf("%q: no tag; name an image as REPO:TAG (for every tag of a repository, subscribe to oci://HOST/PATH/REPO)", entry)
		}
		repo, tag = "", last // a bare TAG
	} else if !pathComponent.MatchString(repo) {
		return fmt.Errorf("%q: repository %q is not a valid repository name (lower-case letters, digits and . _ - separators)", entry, repo)
	}
	if !tagPattern.MatchString(tag) {
		return fmt.Errorf("%q: %q is not a valid tag (letters, digits, . _ -; at most 128, not starting with . or -)", entry, tag)
	}
	if slash >= 0 && slices.Contains(strings.Split(entry[:slash], "/"), "") {
		return fmt.Errorf("%q: an empty path segment", entry)
	}
	return nil
}
