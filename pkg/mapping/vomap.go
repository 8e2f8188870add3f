package mapping

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

// ParseFile reads a mapping file in the format its name says: atrope's
// vo_map.yaml for .yaml and .yml, cloudkeeper-os's mapping.json otherwise.
func ParseFile(name string, data []byte) (Mapping, error) {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".yaml", ".yml":
		return ParseVOMap(data)
	}
	return Parse(data)
}

// ParseVOMap reads atrope's vo_map.yaml, {VO: {project_id: ID}}, as EGI's
// fedcloud-catchall-operations writes it from a site's shares. An entry
// may also name a clouds.yaml "cloud" for that VO (ck's addition, for the
// per-project credentials atrope keeps in [glance_<project_id>]). Unknown
// keys, an empty or repeated VO and an empty project_id are errors that
// name the VO and the key.
func ParseVOMap(data []byte) (Mapping, error) {
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return Mapping{}, nil
		}
		return nil, fmt.Errorf("vo_map: %v", err)
	}
	top := doc.Content[0]
	if top.Kind == yaml.ScalarNode && top.Tag == "!!null" {
		return Mapping{}, nil
	}
	if top.Kind != yaml.MappingNode {
		return nil, errors.New("vo_map: want a mapping of VO names to {project_id: ID}")
	}
	m := Mapping{}
	for i := 0; i < len(top.Content); i += 2 {
		vo, node := top.Content[i].Value, top.Content[i+1]
		if vo == "" {
			return nil, errors.New("vo_map: empty VO name")
		}
		if _, dup := m[vo]; dup {
			return nil, fmt.Errorf("vo_map: VO %q: defined twice", vo)
		}
		if node.Kind != yaml.MappingNode {
			return nil, fmt.Errorf("vo_map: VO %q: want {project_id: ID}", vo)
		}
		e := Entry{VO: vo}
		for j := 0; j < len(node.Content); j += 2 {
			key, val := node.Content[j].Value, node.Content[j+1]
			var dst *string
			switch key {
			case "project_id":
				dst = &e.Project
			case keyCloud:
				dst = &e.Cloud
			default:
				return nil, fmt.Errorf("vo_map: VO %q: unknown key %q (want project_id, and optionally cloud)", vo, key)
			}
			if val.Kind != yaml.ScalarNode || val.Value == "" {
				return nil, fmt.Errorf("vo_map: VO %q: key %q: want a non-empty string", vo, key)
			}
			*dst = val.Value
		}
		if e.Project == "" {
			return nil, fmt.Errorf("vo_map: VO %q: project_id is missing", vo)
		}
		m[vo] = e
	}
	return m, nil
}
