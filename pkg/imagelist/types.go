// Package imagelist holds the HEPiX image-list types, the pure parser and
// the list sources (http, https, file) ck reads them from.
package imagelist

import (
	"encoding/json"
	"strconv"
	"time"
)

// Limits applied to every list before and while it is parsed (spec §3).
const (
	MaxBodyBytes = 16 << 20 // a list body larger than this is refused
	MaxDepth     = 32       // JSON nesting deeper than this is refused
	MaxImages    = 10000    // a list with more images than this is refused
)

// List is a parsed HEPiX image list ("hv:imagelist").
type List struct {
	ID          string    // dc:identifier (required)
	Title       string    // dc:title
	Description string    // dc:description
	Source      string    // dc:source
	URI         string    // hv:uri (where the list says it lives)
	Version     string    // hv:version
	VO          string    // ad:vo (AppDB VO-wide lists), "" when absent
	Created     time.Time // dc:date:created, zero when absent
	Expires     time.Time // dc:date:expires (required), UTC
	Endorser    Endorser  // hv:endorser.hv:x509 (dn and ca required)
	Images      []Image   // the valid images, in list order
	// Skipped holds one entry per image entry that was reported and
	// skipped because it was malformed; it never fails the whole list.
	Skipped []ImageError
	// Extra keeps list-level keys ck does not interpret, as compact raw
	// JSON (e.g. ad:swid); nil when there are none.
	Extra map[string]json.RawMessage
}

// Endorser is the list's hv:endorser.hv:x509 object. DN and CA are OpenSSL
// one-line slash strings (/DC=EU/DC=EGI/.../CN=appdb.egi.eu).
type Endorser struct {
	DN      string // hv:dn, the signer's subject
	CA      string // hv:ca, the signer's issuer
	Email   string // hv:email
	Creator string // dc:creator
}

// Image is one "hv:image" entry of a list.
type Image struct {
	ID          string    // dc:identifier (required)
	Title       string    // dc:title
	Description string    // dc:description
	URI         string    // hv:uri (required)
	SHA512      string    // sl:checksum:sha512, 128 lower-case hex digits (required)
	Size        int64     // hv:size in bytes (required; JSON number or numeric string)
	Version     string    // hv:version
	Format      string    // hv:format as written (often "OVA", "QCOW2", or absent)
	Hypervisor  string    // hv:hypervisor
	Arch        string    // sl:arch
	OS          string    // sl:os
	OSName      string    // sl:osname
	OSVersion   string    // sl:osversion
	Comments    string    // sl:comments
	MPURI       string    // ad:mpuri (AppDB marketplace URI)
	VO          string    // ad:vo at image level, "" when absent
	RAMMinimum  int64     // hv:ram_minimum as written (0 when absent, negative or unparsable); unit rule lives with the planner
	CoreMinimum int64     // hv:core_minimum (0 when absent, negative or unparsable)
	Expires     time.Time // image dc:date:expires in UTC, zero when absent (a malformed one skips the image)
	// Raw is the whole hv:image object exactly as received (compact JSON),
	// unknown keys included; it feeds APPLIANCE_ATTRIBUTES.
	Raw json.RawMessage
	// Digest is the content digest ("sha256:<hex>") of an image whose
	// source publishes no sha512: a registry artifact's disk layer (spec
	// §11). "" for HEPiX images, whose content is SHA512.
	Digest string
	// Properties are further Glance properties the source defines (a
	// registry image's appdb_id, image_hash, os_type, ...); nil for HEPiX
	// images.
	Properties map[string]string
}

// ImageError describes one image entry that was skipped.
type ImageError struct {
	Index  int    // position in hv:images, from 0
	ID     string // dc:identifier when it could be read, else ""
	Field  string // the offending key, e.g. "sl:checksum:sha512"
	Reason string // what was wrong, with observed and expected values
}

// Error renders "image #<index> <id>: <field>: <reason>".
func (e ImageError) Error() string {
	id := e.ID
	if id == "" {
		id = "(no dc:identifier)"
	}
	return "image #" + strconv.Itoa(e.Index) + " " + id + ": " + e.Field + ": " + e.Reason
}
