// Package mapping reads cloudkeeper-os's mapping.json, which maps a VO name
// to the OpenStack project (and optionally the domain and clouds.yaml
// entry) that receives that VO's images (spec §6). It is pure: resolving
// project names to ids through Keystone happens elsewhere.
package mapping

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
)

// Mapping maps a VO name (exactly as in the lists' ad:vo) to its entry.
type Mapping map[string]Entry

// Entry is one VO's destination.
//
// How a resolver should read Project: when Domain is set, Project is a
// project name inside that domain (ByName reports true). Otherwise Project
// may be either an id or a name; the resolver tries it as an id first and
// then as a name in the "Default" domain, as the EGI appliance's patched
// cloudkeeper-os did, so every mapping.json that worked there works here.
type Entry struct {
	VO      string // the mapping key
	Project string // project id, or name (see ByName)
	Domain  string // project's domain name; "" when Project may be an id
	Cloud   string // clouds.yaml entry to use for this VO; "" = the global one
}

// ByName reports whether Project must be resolved as a name within Domain;
// when false, Project is tried as an id first, then as a name in the
// default domain.
func (e Entry) ByName() bool { return e.Domain != "" }

// Lookup returns the entry for vo. VO names are matched exactly.
func (m Mapping) Lookup(vo string) (Entry, bool) {
	e, ok := m[vo]
	return e, ok
}

// VOs returns the mapped VO names in sorted order.
func (m Mapping) VOs() []string {
	vos := make([]string, 0, len(m))
	for vo := range m {
		vos = append(vos, vo)
	}
	sort.Strings(vos)
	return vos
}

// Entries returns every entry, sorted by VO name.
func (m Mapping) Entries() []Entry {
	entries := make([]Entry, 0, len(m))
	for _, vo := range m.VOs() {
		entries = append(entries, m[vo])
	}
	return entries
}

// Keys a VO object may hold. Anything else is refused: a misspelt "domian"
// silently ignored would send a VO's images to the wrong project.
const (
	keyProject = "project"
	keyTenant  = "tenant" // cloudkeeper-os's legacy name for project
	keyDomain  = "domain"
	keyCloud   = "cloud"
)

// Parse reads mapping.json. The document must be one JSON object whose
// keys are VO names and whose values are objects with "project" (or the
// legacy "tenant", never both) and optional "domain" and "cloud", all
// strings. A VO that appears twice, an empty project or an unknown key is
// an error that names the VO and the key.
func Parse(data []byte) (Mapping, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := expectDelim(dec, '{'); err != nil {
		return nil, fmt.Errorf("mapping: %w", err)
	}
	m := Mapping{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("mapping: %w", err)
		}
		vo := tok.(string) // object keys are always strings
		if vo == "" {
			return nil, errors.New("mapping: empty VO name")
		}
		if _, dup := m[vo]; dup {
			return nil, fmt.Errorf("mapping: VO %q: defined twice", vo)
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("mapping: VO %q: %w", vo, err)
		}
		e, err := parseEntry(vo, raw)
		if err != nil {
			return nil, err
		}
		m[vo] = e
	}
	if err := expectDelim(dec, '}'); err != nil {
		return nil, fmt.Errorf("mapping: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("mapping: trailing data after the top-level object")
	}
	return m, nil
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("want %q, got %v", string(want), tok)
	}
	return nil
}

func parseEntry(vo string, raw json.RawMessage) (Entry, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		return Entry{}, fmt.Errorf("mapping: VO %q: want an object like {\"project\": \"...\"}, got %s", vo, short(raw))
	}
	e := Entry{VO: vo}
	var tenant string
	for _, key := range sortedKeys(fields) {
		var dst *string
		switch key {
		case keyProject:
			dst = &e.Project
		case keyTenant:
			dst = &tenant
		case keyDomain:
			dst = &e.Domain
		case keyCloud:
			dst = &e.Cloud
		default:
			return Entry{}, fmt.Errorf("mapping: VO %q: unknown key %q (want project, tenant, domain or cloud)", vo, key)
		}
		if err := json.Unmarshal(fields[key], dst); err != nil {
			return Entry{}, fmt.Errorf("mapping: VO %q: key %q: want a string, got %s", vo, key, short(fields[key]))
		}
	}
	_, hasProject := fields[keyProject]
	_, hasTenant := fields[keyTenant]
	switch {
	case hasProject && hasTenant:
		return Entry{}, fmt.Errorf("mapping: VO %q: both %q and %q given; keep only %q", vo, keyProject, keyTenant, keyProject)
	case hasTenant:
		e.Project = tenant
	}
	if e.Project == "" {
		return Entry{}, fmt.Errorf("mapping: VO %q: key %q is missing or empty", vo, keyProject)
	}
	if _, ok := fields[keyDomain]; ok && e.Domain == "" {
		return Entry{}, fmt.Errorf("mapping: VO %q: key %q is empty", vo, keyDomain)
	}
	if _, ok := fields[keyCloud]; ok && e.Cloud == "" {
		return Entry{}, fmt.Errorf("mapping: VO %q: key %q is empty", vo, keyCloud)
	}
	return e, nil
}

func sortedKeys(m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// short keeps error messages one line long whatever the input.
func short(raw json.RawMessage) string {
	const max = 40
	s := string(bytes.TrimSpace(raw))
	if len(s) > max {
		s = s[:max] + "…"
	}
	return s
}
