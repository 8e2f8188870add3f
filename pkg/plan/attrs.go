package plan

import (
	"bytes"
	"encoding/json"
	"net/url"
)

// applianceAttributes renders APPLIANCE_ATTRIBUTES: the image's hv:image
// object plus the list's ad:vo (when the image has none of its own), as
// compact JSON with object keys sorted at every level, so the value only
// changes when the content does — not when a publisher reorders keys.
// Numbers keep their exact text. It returns "" when there is nothing to
// write or the raw bytes are not a JSON object.
func applianceAttributes(raw json.RawMessage, listVO string) string {
	obj := map[string]any{}
	if len(bytes.TrimSpace(raw)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&obj); err != nil || obj == nil {
			return ""
		}
	}
	// Accept the wrapped form {"hv:image": {...}} as well as the bare object.
	if inner, ok := obj["hv:image"].(map[string]any); ok && len(obj) == 1 {
		obj = inner
	}
	// Glance properties are readable by the project's users (by everyone
	// under public visibility): an image URL's credentials stay out.
	if uri, ok := obj["hv:uri"].(string); ok {
		obj["hv:uri"] = withoutUserinfo(uri)
	}
	if _, ok := obj["ad:vo"]; !ok && listVO != "" {
		obj["ad:vo"] = listVO
	}
	if len(obj) == 0 {
		return ""
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // keep "&" and "<" readable in Glance
	if err := enc.Encode(obj); err != nil {
		return ""
	}
	return string(bytes.TrimRight(buf.Bytes(), "\n"))
}

// withoutUserinfo drops the user and password of a URL; anything else is
// kept as written (a signed query may be what makes the URL work for the
// cloud's users, and the list published it).
func withoutUserinfo(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	u.User = nil
	return u.String()
}
