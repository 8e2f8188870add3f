package atrope

import (
	"errors"
	"fmt"
	"sort"

	"gopkg.in/yaml.v3"
)

// fields reads a mapping node into its keys; a null node is an empty
// mapping (atrope's `foo:` with nothing under it).
func fields(where string, n *yaml.Node) (map[string]*yaml.Node, error) {
	if isNull(n) {
		return map[string]*yaml.Node{}, nil
	}
	if n.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s: want a mapping of settings", where)
	}
	out := map[string]*yaml.Node{}
	for i := 0; i < len(n.Content); i += 2 {
		k := n.Content[i].Value
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("%s: key %q given twice", where, k)
		}
		out[k] = n.Content[i+1]
	}
	return out, nil
}

func isNull(n *yaml.Node) bool { return n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null") }

// str reads a scalar string; null leaves dst as it is. Values are never
// quoted back in errors: they may be a token or a password.
func str(f map[string]*yaml.Node, key string, dst *string, where string) error {
	n := f[key]
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("%s: %s: want a string", where, key)
	}
	*dst = n.Value
	return nil
}

func boolean(f map[string]*yaml.Node, key string, dst *bool, where string) error {
	n := f[key]
	if isNull(n) {
		return nil
	}
	var b bool
	if n.Kind != yaml.ScalarNode || n.Decode(&b) != nil {
		return fmt.Errorf("%s: %s: want true or false", where, key)
	}
	*dst = b
	return nil
}

func list(f map[string]*yaml.Node, key string, dst *[]string, where string) error {
	n := f[key]
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		return fmt.Errorf("%s: %s: want a list", where, key)
	}
	for _, item := range n.Content {
		if item.Kind != yaml.ScalarNode || item.Value == "" {
			return fmt.Errorf("%s: %s: want non-empty strings", where, key)
		}
		*dst = append(*dst, item.Value)
	}
	return nil
}

func sortedKeys(m map[string]*yaml.Node) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// yamlProblem keeps the line of a YAML error, never the text around it
// (which may be a password).
func yamlProblem(err error) string {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		return "a value has the wrong type"
	}
	msg := err.Error()
	if len(msg) > 120 {
		msg = msg[:120] + "…"
	}
	return msg
}
