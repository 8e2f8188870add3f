package cmdutil

import (
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"

	"github.com/ck-sync/ck/pkg/atrope"
	"github.com/ck-sync/ck/pkg/registry"
)

// atropeSite is what an atrope sources.yaml says, in ck's terms.
type atropeSite struct {
	// subscriptions are the enabled sources as subscription lines (a HEPiX
	// list's token in its URL, as AppDB's lists are written for ck).
	subscriptions []string
	// disabled names the sources atrope would not read either.
	disabled []string
	// ignored are settings atrope reads but does not act on, which ck
	// ignores likewise (logged, so that nobody relies on them).
	ignored []string
	// shares is set when a source has vos: atrope then keeps one copy in
	// its own project shared with each VO's project, which is ck's
	// --share-mode members.
	shares bool
}

// ShareMembersByDefault reports whether the atrope sources ask for
// atrope's sharing model (a source with vos): --share-mode members, unless
// the operator set --share-mode.
func (g *Globals) ShareMembersByDefault() bool { return g.atrope != nil && g.atrope.shares }

// loadAtrope reads --atrope-sources: each enabled source becomes a
// subscription and a lists: entry with its settings (docs/migrating.md "From
// atrope", key by key). An entry of the config file's own lists: may not
// name the same source: its settings belong in sources.yaml.
func (g *Globals) loadAtrope() error {
	if g.ImageListsFile != DefaultImageListsFile {
		return &UsageError{Flag: "--atrope-sources", Reason: "set --image-lists-file or --atrope-sources, not both: atrope's sources are the subscriptions"}
	}
	data, err := os.ReadFile(g.AtropeSources)
	if err != nil {
		return &UsageError{Flag: "--atrope-sources", Reason: err.Error()}
	}
	srcs, err := atrope.ParseSources(data)
	if err != nil {
		return &UsageError{Flag: "--atrope-sources", Reason: fmt.Sprintf("%s: %v", g.AtropeSources, err)}
	}
	site := &atropeSite{}
	var entries []ListEntry
	for _, s := range srcs {
		if !s.Enabled {
			site.disabled = append(site.disabled, s.Name)
			continue
		}
		if s.Kind == atrope.KindHEPiX && s.SharingModel != "private" {
			site.ignored = append(site.ignored, fmt.Sprintf("%s: sharing_model %s (atrope applies it to Harbor sources only)", s, s.SharingModel))
			s.SharingModel = "private"
		}
		if s.Kind == atrope.KindHarbor && len(s.Images) > 0 {
			site.ignored = append(site.ignored, fmt.Sprintf("%s: images (atrope filters Harbor sources by subscribed_images only)", s))
			s.Images = nil
		}
		e, sub, err := entryOf(s)
		if err != nil {
			return &UsageError{Flag: "--atrope-sources", Reason: fmt.Sprintf("%s: %s: %v", g.AtropeSources, s, err)}
		}
		site.subscriptions = append(site.subscriptions, sub)
		site.shares = site.shares || len(s.VOs) > 0
		entries = append(entries, e)
	}
	if err := checkListEntries(entries); err != nil {
		return &UsageError{Flag: "--atrope-sources", Reason: fmt.Sprintf("%s: %v", g.AtropeSources, err)}
	}
	for _, e := range entries {
		if _, dup := g.ListEntry(e.Key()); dup {
			return &UsageError{Flag: "--config", Reason: fmt.Sprintf("%s: lists: an entry for %s, which %s defines (%s): set it there", g.Config, e.Key(), g.AtropeSources, e.Origin)}
		}
	}
	g.ListEntries = append(g.ListEntries, entries...)
	g.atrope = site
	return nil
}

// entryOf maps one atrope source onto ck's settings and its subscription.
func entryOf(s atrope.Source) (ListEntry, string, error) {
	e := ListEntry{Origin: "atrope " + s.String(), AtropeName: s.Name, VOs: s.VOs, Prefix: s.Prefix, Images: s.Images}
	if s.SharingModel != "private" {
		e.Visibility = s.SharingModel
	}
	switch s.Kind {
	case atrope.KindHarbor:
		e.URL = "harbor://" + s.RegistryHost + "/" + s.Project
		if api := strings.TrimSuffix(s.APIURL, "/"); api != "" && api != registry.HarborAPI(strings.ToLower(s.RegistryHost)) {
			e.HarborAPI = api
		}
		if s.TagPattern != "" {
			// atrope matches with Python's re.match: anchored at the start.
			e.TagPattern = `^(?:` + s.TagPattern + `)`
		}
		if len(s.SubscribedImages) > 0 {
			// atrope takes a subscribed tag (or digest) whatever the
			// pattern says.
			e.TagPattern = ".*"
			e.Images = append(e.Images, s.SubscribedImages...)
		}
		e.Username, e.Password = s.AuthUser, s.AuthPassword
		return e, e.URL, nil
	}
	if s.FilePath != "" {
		// atrope reads file_path instead of url when both are given.
		e.URL = s.FilePath
		return withPins(e, s), s.FilePath, nil
	}
	u, err := url.Parse(s.URL)
	if err != nil || u.Host == "" {
		return ListEntry{}, "", fmt.Errorf("url: not a URL with a host")
	}
	if s.Token != "" {
		u.User = url.UserPassword(s.Token, "x-oauth-basic") // AppDB's form, as atrope sends it
	}
	e.URL = u.String()
	return withPins(e, s), e.URL, nil
}

// withPins makes a HEPiX source's endorser a pin, as atrope checks it.
func withPins(e ListEntry, s atrope.Source) ListEntry {
	e.EndorserDN, e.EndorserCA = s.EndorserDN, s.EndorserCA
	return e
}

// logDisabled says which sources are not read, as atrope would not.
func (a *atropeSite) logDisabled(l *slog.Logger) {
	if l == nil {
		return
	}
	for _, name := range a.disabled {
		l.Info("atrope source disabled (enabled: false): not read", "source", name)
	}
	for _, what := range a.ignored {
		l.Warn("atrope setting ignored, as atrope ignores it", "setting", what)
	}
}
