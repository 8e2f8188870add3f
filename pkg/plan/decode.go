package plan

import (
	"encoding/json"
	"fmt"
)

// Parse reads a plan saved as JSON (pkg/plan/render.JSON), refusing any
// other format version. JSON numbers in patch values come back as Go ints,
// as Build made them.
func Parse(data []byte) (*Plan, error) {
	var p Plan
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, fmt.Errorf("plan: %w", err)
	}
	if p.FormatVersion != FormatVersion {
		return nil, fmt.Errorf("plan: format_version %q is not supported (want %q)", p.FormatVersion, FormatVersion)
	}
	for i := range p.Changes {
		for j := range p.Changes[i].Patch {
			op := &p.Changes[i].Patch[j]
			op.Value, op.Old = intIfWhole(op.Value), intIfWhole(op.Old)
			if op.Path == "/tags" {
				op.Value, op.Old = stringsIfList(op.Value), stringsIfList(op.Old)
			}
		}
	}
	return &p, nil
}

// stringsIfList turns encoding/json's []any back into the []string of
// tags that adopt's patch holds.
func stringsIfList(v any) any {
	list, ok := v.([]any)
	if !ok {
		return v
	}
	out := make([]string, 0, len(list))
	for _, e := range list {
		s, ok := e.(string)
		if !ok {
			return v
		}
		out = append(out, s)
	}
	return out
}

// intIfWhole turns encoding/json's float64 back into the int min_ram was.
func intIfWhole(v any) any {
	if f, ok := v.(float64); ok && f == float64(int(f)) {
		return int(f)
	}
	return v
}
