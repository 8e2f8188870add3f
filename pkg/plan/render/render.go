// Package render prints a plan.Plan for people (Text) and for programs
// (JSON, the versioned schema documented in docs/plan-json.md). Both are
// rendered from the same Plan value, so they can never disagree.
package render

import (
	"bytes"
	"encoding/json"
	"io"
	"net/url"

	"github.com/ck-sync/ck/pkg/plan"
)

// JSON writes p as the versioned, indented JSON document described in
// docs/plan-json.md. Keys come out in a fixed order (struct fields in
// declaration order, map keys sorted), so equal plans give equal bytes.
func JSON(w io.Writer, p *plan.Plan) error {
	doc := *Shareable(p)
	if doc.FormatVersion == "" {
		doc.FormatVersion = plan.FormatVersion
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // titles and URLs stay readable: "&" not "\u0026"
	enc.SetIndent("", "  ")
	if err := enc.Encode(&doc); err != nil {
		return err
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// Shareable returns p as it may be printed or saved: image URLs lose any
// credentials and query (a token or a signature) they carry. sync applies
// the plan it builds itself, never one read back, so nothing is lost.
func Shareable(p *plan.Plan) *plan.Plan {
	out := *p
	out.Changes = make([]plan.Change, len(p.Changes))
	for i, c := range p.Changes {
		if c.Desired != nil && c.Desired.URI != "" {
			d := *c.Desired
			d.URI = safeURL(d.URI)
			c.Desired = &d
		}
		out.Changes[i] = c
	}
	return &out
}

func safeURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL withheld)"
	}
	if u.User != nil {
		u.User = url.User("REDACTED")
	}
	if u.RawQuery != "" {
		u.RawQuery = "REDACTED"
	}
	return u.String()
}
