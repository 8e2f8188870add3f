// Package atrope reads the files of an atrope site (EGI-Federation/atrope
// 2.x) as they are: sources.yaml, the image sources, HEPiX lists and Harbor
// projects; vo_map.yaml is read by pkg/mapping. It is pure: what each
// setting becomes in ck is decided by the caller (pkg/cli/cmdutil), and
// docs/migrating.md "From atrope" says it key by key.
package atrope

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// The kinds of source (sources.yaml `type`).
const (
	KindHEPiX  = "hepix"
	KindHarbor = "harbor"
)

// Source is one entry of sources.yaml, with the top-level `harbor:`
// defaults merged into Harbor entries as atrope merges them.
type Source struct {
	Name    string // the entry's key: atrope's image_list property
	Kind    string // KindHEPiX or KindHarbor
	Enabled bool   // `enabled`, default true

	// HEPiX lists.
	URL        string // `url`
	FilePath   string // `file_path`: a local copy, read instead of url
	Token      string // `token`: AppDB's, sent as Basic TOKEN:x-oauth-basic
	EndorserDN string // `endorser.dn`
	EndorserCA string // `endorser.ca`

	// Harbor projects.
	APIURL           string   // `api_url`, e.g. https://registry.egi.eu/api/v2.0
	RegistryHost     string   // `registry_host`; default the host of api_url
	Project          string   // `project`: the Harbor project (HEPiX: a Glance property only)
	TagPattern       string   // `tag_pattern` (Python re.match: anchored at the start)
	AuthUser         string   // `auth_user`
	AuthPassword     string   // `auth_password`; never printed
	SubscribedImages []string // `subscribed_images`: tags or manifest digests

	// Both kinds.
	Images       []string // `images`: a HEPiX list's subscribed dc:identifiers
	Prefix       string   // `prefix`: put before the image names of this source
	VOs          []string // `vos`: the VOs whose projects the images are shared with
	SharingModel string   // `sharing_model`: private (default), shared, community, public
}

// String names the source as an operator finds it in the file.
func (s Source) String() string { return fmt.Sprintf("sources.yaml %q", s.Name) }

// keys are the settings ck understands, by kind. Anything else is refused
// by name: a setting silently dropped could change which images a site
// gets. Keys atrope itself ignores, or that would weaken what ck checks,
// are refused with a reason (see refused).
var keys = map[string][]string{
	KindHEPiX:  {"type", "enabled", "url", "file_path", "token", "endorser", "images", "prefix", "vos", "project", "sharing_model"},
	KindHarbor: {"type", "enabled", "api_url", "registry_host", "project", "tag_pattern", "auth_user", "auth_password", "subscribed_images", "images", "prefix", "vos", "sharing_model", "page_size", "verify_ssl"},
}

// refused are keys atrope knows that ck will not take, and why.
var refused = map[string]string{
	"auth_token": "atrope ignores it (it reads `token`); give the robot account as auth_user and auth_password",
}

// ParseSources reads sources.yaml: a mapping from source name to its
// settings, plus an optional top-level `harbor:` block of defaults for the
// Harbor entries. Entries come back in file order. Errors name the entry
// and the key, never a token or password.
func ParseSources(data []byte) ([]Source, error) {
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil // an empty file: no sources
		}
		return nil, fmt.Errorf("sources.yaml: %v", yamlProblem(err))
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	top := doc.Content[0]
	if top.Kind != yaml.MappingNode {
		return nil, errors.New("sources.yaml: want a mapping of source names to their settings")
	}
	var defaults map[string]*yaml.Node
	for i := 0; i < len(top.Content); i += 2 {
		if top.Content[i].Value == "harbor" {
			d, err := fields("sources.yaml harbor:", top.Content[i+1])
			if err != nil {
				return nil, err
			}
			defaults = d
		}
	}
	var out []Source
	seen := map[string]bool{}
	for i := 0; i < len(top.Content); i += 2 {
		name := top.Content[i].Value
		if name == "harbor" {
			continue
		}
		if seen[name] {
			return nil, fmt.Errorf("sources.yaml %q: defined twice", name)
		}
		seen[name] = true
		s, err := parseSource(name, top.Content[i+1], defaults)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

func parseSource(name string, node *yaml.Node, defaults map[string]*yaml.Node) (Source, error) {
	where := fmt.Sprintf("sources.yaml %q", name)
	f, err := fields(where, node)
	if err != nil {
		return Source{}, err
	}
	s := Source{Name: name, Kind: KindHEPiX, Enabled: true, SharingModel: "private"}
	if err := str(f, "type", &s.Kind, where); err != nil {
		return Source{}, err
	}
	s.Kind = strings.ToLower(s.Kind)
	allowed, ok := keys[s.Kind]
	if !ok {
		return Source{}, fmt.Errorf("%s: type %q: want hepix or harbor", where, s.Kind)
	}
	if s.Kind == KindHarbor {
		// atrope merges the top-level harbor: block under each entry.
		merged := map[string]*yaml.Node{}
		for k, v := range defaults {
			merged[k] = v
		}
		for k, v := range f {
			merged[k] = v
		}
		f = merged
	}
	for _, k := range sortedKeys(f) {
		if k == "token" && s.Kind == KindHarbor {
			return Source{}, fmt.Errorf("%s: token: atrope sends it as a raw Authorization header; give the robot account as auth_user and auth_password", where)
		}
		if why, no := refused[k]; no {
			return Source{}, fmt.Errorf("%s: %s: %s", where, k, why)
		}
		if !slices.Contains(allowed, k) {
			return Source{}, fmt.Errorf("%s: unknown key %q for a %s source (ck reads %s)", where, k, s.Kind, strings.Join(allowed, ", "))
		}
	}
	if err := boolean(f, "enabled", &s.Enabled, where); err != nil {
		return Source{}, err
	}
	for _, p := range []struct {
		key string
		dst *string
	}{
		{"url", &s.URL}, {"file_path", &s.FilePath}, {"token", &s.Token}, {"api_url", &s.APIURL},
		{"registry_host", &s.RegistryHost}, {"project", &s.Project}, {"tag_pattern", &s.TagPattern},
		{"auth_user", &s.AuthUser}, {"auth_password", &s.AuthPassword}, {"prefix", &s.Prefix},
		{"sharing_model", &s.SharingModel},
	} {
		if err := str(f, p.key, p.dst, where); err != nil {
			return Source{}, err
		}
	}
	for _, p := range []struct {
		key string
		dst *[]string
	}{{"images", &s.Images}, {"vos", &s.VOs}, {"subscribed_images", &s.SubscribedImages}} {
		if err := list(f, p.key, p.dst, where); err != nil {
			return Source{}, err
		}
	}
	if n := f["endorser"]; n != nil && !isNull(n) {
		e, err := fields(where+" endorser", n)
		if err != nil {
			return Source{}, err
		}
		for k := range e {
			if k != "dn" && k != "ca" {
				return Source{}, fmt.Errorf("%s: endorser: unknown key %q (want dn and ca)", where, k)
			}
		}
		if err := str(e, "dn", &s.EndorserDN, where+" endorser"); err != nil {
			return Source{}, err
		}
		if err := str(e, "ca", &s.EndorserCA, where+" endorser"); err != nil {
			return Source{}, err
		}
	}
	verify := true
	if err := boolean(f, "verify_ssl", &verify, where); err != nil {
		return Source{}, err
	}
	if !verify {
		return Source{}, fmt.Errorf("%s: verify_ssl: false: ck always verifies TLS; give a private CA with --extra-ca-file", where)
	}
	if n := f["page_size"]; n != nil && n.Tag != "!!int" && !isNull(n) {
		return Source{}, fmt.Errorf("%s: page_size: want a number", where)
	}
	switch s.SharingModel {
	case "private", "shared", "community", "public":
	default:
		return Source{}, fmt.Errorf("%s: sharing_model %q: want private, shared, community or public", where, s.SharingModel)
	}
	return s, s.check(where)
}

// check refuses what cannot name a source, only for enabled sources: a
// disabled one is never read, by atrope or by ck.
func (s *Source) check(where string) error {
	if !s.Enabled {
		return nil
	}
	switch s.Kind {
	case KindHEPiX:
		if s.URL == "" && s.FilePath == "" {
			return fmt.Errorf("%s: neither url nor file_path", where)
		}
	case KindHarbor:
		if s.Project == "" {
			return fmt.Errorf("%s: project is required for a harbor source", where)
		}
		if s.RegistryHost == "" {
			u, err := url.Parse(s.APIURL)
			if err != nil || u.Host == "" {
				return fmt.Errorf("%s: neither registry_host nor an api_url with a host", where)
			}
			s.RegistryHost = u.Host
		}
		if (s.AuthUser == "") != (s.AuthPassword == "") {
			return fmt.Errorf("%s: auth_user and auth_password go together", where)
		}
	}
	return nil
}
