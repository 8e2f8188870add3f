package cmdutil

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/ck-sync/ck/pkg/imagefilter"
	"github.com/ck-sync/ck/pkg/imagelist"
	"github.com/ck-sync/ck/pkg/ociref"
	"github.com/ck-sync/ck/pkg/registry"
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
	// Images is the subscription's image filter, for every kind of
	// source: only the images it names are created or retired by it (a
	// HEPiX dc:identifier; for a registry source HOST/PATH/REPO:TAG,
	// REPO:TAG or TAG; see pkg/imagefilter). Empty means every image.
	Images []string `yaml:"images"`

	// VOs are the VOs whose projects (through the mapping file) receive
	// the source's images, instead of a list's ad:vo; for a registry source
	// without vos, the registry project's name when the mapping file has
	// it, else the default project.
	VOs []string `yaml:"vos"`

	// Registry sources only (oci://, harbor://; spec §11).
	//
	// TagPattern (RE2) selects the tags of a repository or project source;
	// empty means registry.DefaultTagPattern (^[^-]*$, the moving tags).
	TagPattern string `yaml:"tag_pattern"`
	// Username + PasswordFile (a Harbor robot account), or DockerConfig (a
	// Docker config file); none means anonymous, or REGISTRY_AUTH_FILE.
	Username     string `yaml:"username"`
	PasswordFile string `yaml:"password_file"`
	DockerConfig string `yaml:"docker_config"`
	// HarborAPI is the base of Harbor's REST API for a harbor:// source;
	// empty means https://HOST/api/v2.0.
	HarborAPI string `yaml:"harbor_api"`

	// Every kind of source.
	//
	// Prefix is put before the names of this source's images, after
	// --name-prefix (atrope's per-source prefix).
	Prefix string `yaml:"prefix"`
	// Visibility of this source's images instead of --visibility.
	Visibility string `yaml:"visibility"`

	// Password is a registry password given inline (atrope's
	// auth_password), never in ck's own config file.
	Password string `yaml:"-"`
	// Origin says where an entry not written in the config file comes
	// from, e.g. `atrope sources.yaml "egi_vm_images"`.
	Origin string `yaml:"-"`
	// AtropeName is the entry's source name in atrope's sources.yaml
	// (atrope's image_list property), for --atrope-sources entries.
	AtropeName string `yaml:"-"`

	key   string         // imagelist.Key(URL), set by checkListEntries
	tagRE *regexp.Regexp // TagPattern compiled
}

// Registry returns the settings a registry source reads with.
func (e ListEntry) Registry() RegistrySettings {
	return RegistrySettings{
		VOs: e.VOs, TagPattern: e.tagRE, HarborAPI: e.HarborAPI,
		Auth: registry.Auth{Username: e.Username, PasswordFile: e.PasswordFile, Password: e.Password, DockerConfig: e.DockerConfig},
	}
}

// RegistrySettings are a registry source's settings from its lists: entry
// (the zero value when it has none).
type RegistrySettings struct {
	VOs        []string
	TagPattern *regexp.Regexp // nil: registry.DefaultTagPattern
	HarborAPI  string
	Auth       registry.Auth
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
		if err := e.checkRegistry(key); err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		for j, img := range e.Images {
			if err := imagefilter.Check(key, img); err != nil {
				return fmt.Errorf("%s: images[%d]: %w", where, j, err)
			}
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

// checkRegistry checks the settings that belong to one kind of source: a
// registry source has no signature to pin, a HEPiX list no registry
// settings; a tag pattern must compile and only applies where there are
// tags to choose from; files are absolute paths.
func (e *ListEntry) checkRegistry(key string) error {
	switch e.Visibility {
	case "", "private", "shared", "community", "public":
	default:
		return fmt.Errorf("visibility must be private, shared, community or public, not %q", e.Visibility)
	}
	for _, vo := range e.VOs {
		if strings.TrimSpace(vo) == "" {
			return errors.New("vos: an empty VO name")
		}
	}
	if !ociref.IsRegistry(key) {
		for name, set := range map[string]bool{
			"tag_pattern": e.TagPattern != "", "username": e.Username != "",
			"password_file": e.PasswordFile != "", "docker_config": e.DockerConfig != "", "harbor_api": e.HarborAPI != "",
		} {
			if set {
				return fmt.Errorf("%s applies to registry sources (oci://, harbor://) only", name)
			}
		}
		return nil
	}
	ref, err := ociref.Parse(key)
	if err != nil {
		return err
	}
	if e.Pin() != nil {
		return errors.New("endorser_dn, endorser_ca and list_id pin signed HEPiX lists; a registry source has no signature to pin")
	}
	if e.TagPattern != "" {
		if ref.Kind != ociref.KindRepository && ref.Kind != ociref.KindProject {
			return errors.New("tag_pattern applies to oci://HOST/REPO and harbor:// sources, not to one tag or digest")
		}
		re, err := regexp.Compile(e.TagPattern)
		if err != nil {
			return fmt.Errorf("tag_pattern: %v", err)
		}
		e.tagRE = re
	}
	if e.HarborAPI != "" {
		if ref.Kind != ociref.KindProject {
			return errors.New("harbor_api applies to harbor:// sources only")
		}
		if u, err := url.Parse(e.HarborAPI); err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil {
			return errors.New("harbor_api: want an https:// URL without credentials")
		}
	}
	for name, p := range map[string]string{"password_file": e.PasswordFile, "docker_config": e.DockerConfig} {
		if p != "" && !filepath.IsAbs(p) {
			return fmt.Errorf("%s: a path must be absolute, not %q", name, p)
		}
	}
	return nil
}
