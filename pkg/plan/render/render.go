// Package render prints a plan.Plan for people (Text) and for programs
// (JSON, the versioned schema documented in docs/plan-json.md). Both are
// rendered from the same Plan value, so they can never disagree.
package render

import (
	"bytes"
	"encoding/json"
	"io"

	"github.com/ck-sync/ck/pkg/plan"
)

// JSON writes p as the versioned, indented JSON document described in
// docs/plan-json.md. Keys come out in a fixed order (struct fields in
// declaration order, map keys sorted), so equal plans give equal bytes.
func JSON(w io.Writer, p *plan.Plan) error {
	doc := *p
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
