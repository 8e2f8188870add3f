package cmdutil

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/ck-sync/ck/pkg/imagelist"
	"github.com/ck-sync/ck/pkg/verdict"
)

// ListEntry is one entry of the config file's lists:, the settings of the
// one subscription whose url it matches. Entries and subscriptions are
// matched by imagelist.Key (credentials removed, scheme and host in lower
// case, default port dropped, file:// URL = path), never as strings.
//
// A new per-source setting is a field with its yaml tag, and a case in
// check when its values are restricted: decoding is strict, matching and
// the "matches no subscription" error come with the entry.
type ListEntry struct {
	// URL names the subscription as the image-lists file or a LIST argument
	// does, in any spelling of it, credentials allowed. It is never printed
	// (use Key).
	URL        string `yaml:"url"`
	EndorserDN string `yaml:"endorser_dn"` // pin: expected hv:dn (and signer subject)
	EndorserCA string `yaml:"endorser_ca"` // pin: expected hv:ca (and signer issuer)
	ListID     string `yaml:"list_id"`     // pin: expected dc:identifier
	// ConvertTo overrides --convert-to for this list's images: raw, qcow2,
	// or none (upload them as they are).
	ConvertTo string `yaml:"convert_to"`

	key string // imagelist.Key(URL), set by checkListEntries
}

// Key is the entry's subscription key: its URL without credentials, safe
// to print.
func (e ListEntry) Key() string { return e.key }

// Pin returns what the entry pins about the list (endorser, CA, list id),
// or nil when it pins nothing. A pinned list must be signed, even under
// --insecure-allow-unsigned: only a signature makes a pin mean anything.
func (e ListEntry) Pin() *verdict.Pin {
	if e.EndorserDN == "" && e.EndorserCA == "" && e.ListID == "" {
		return nil
	}
	return &verdict.Pin{EndorserDN: e.EndorserDN, EndorserCA: e.EndorserCA, ListID: e.ListID}
}

// ListEntry returns the lists: entry that applies to the subscription with
// the given key (imagelist.Key or Source.Key).
func (g *Globals) ListEntry(key string) (ListEntry, bool) {
	for _, e := range g.ListEntries {
		if e.key == key {
			return e, true
		}
	}
	return ListEntry{}, false
}

// checkListEntries validates the entries and computes their keys. Errors
// name the entry by index and key, never by its URL as written, which may
// hold a token.
func checkListEntries(entries []ListEntry) error {
	seen := map[string]int{}
	for i := range entries {
		e := &entries[i]
		where := fmt.Sprintf("lists[%d]", i)
		if strings.TrimSpace(e.URL) == "" {
			return errors.New(where + ": url is required")
		}
		key, err := imagelist.Key(e.URL)
		if err != nil {
			return fmt.Errorf("%s: url: %w", where, err)
		}
		where += " (" + key + ")"
		// A relative path would mean another list from every working
		// directory; the subscriptions' relative paths are made absolute
		// before they are compared, so an absolute pin still matches them.
		if imagelist.IsPath(e.URL) && !filepath.IsAbs(strings.TrimSpace(e.URL)) {
			return fmt.Errorf("%s: url: a path must be absolute, not %q", where, strings.TrimSpace(e.URL))
		}
		if j, dup := seen[key]; dup {
			return fmt.Errorf("%s: names the same list as lists[%d]; merge the two entries", where, j)
		}
		seen[key] = i
		switch e.ConvertTo {
		case "", "raw", "qcow2", "none":
		default:
			return fmt.Errorf("%s: convert_to must be raw, qcow2 or none, not %q", where, e.ConvertTo)
		}
		e.key = key
	}
	return nil
}

// checkEntriesMatch fails on the first lists: entry that matches none of
// the subscriptions: a pin for a list ck does not read (a typo, an old URL)
// would otherwise protect nothing, silently.
func (g *Globals) checkEntriesMatch(sources []imagelist.Source) error {
	keys := make(map[string]bool, len(sources))
	for _, s := range sources {
		keys[s.Key()] = true
	}
	for i, e := range g.ListEntries {
		if !keys[e.key] {
			return &UsageError{Flag: "--config", Reason: fmt.Sprintf(
				"%s: lists[%d] (%s) matches no subscription in %s (compared without credentials, with scheme and host in lower case and default ports dropped)",
				g.Config, i, e.key, g.ImageListsFile)}
		}
	}
	return nil
}
