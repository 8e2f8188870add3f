package imagelist

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// ParseError is why Parse refused a whole list. Field names the offending
// key as a path inside "hv:imagelist" (e.g. "hv:endorser.hv:x509.hv:dn"),
// or "body" for problems with the payload as a whole.
type ParseError struct {
	Field  string // the offending key, or "body"
	Reason string // what was wrong, with observed and expected values
	Err    error  // the underlying cause when there is one, e.g. *json.SyntaxError
}

// Error renders the refusal as "parse: <field>: <reason>".
func (e *ParseError) Error() string { return "parse: " + e.Field + ": " + e.Reason }

// Unwrap returns the underlying cause, if any.
func (e *ParseError) Unwrap() error { return e.Err }

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// listKeys are the list-level keys Parse interprets; every other key is kept
// in List.Extra.
var listKeys = map[string]bool{
	"dc:identifier": true, "dc:title": true, "dc:description": true,
	"dc:source": true, "hv:uri": true, "hv:version": true, "ad:vo": true,
	"dc:date:created": true, "dc:date:expires": true,
	"hv:endorser": true, "hv:images": true,
}

// Parse decodes and checks a HEPiX image list payload ({"hv:imagelist": ...}).
// It is pure: no clock, no network. The list is refused with a *ParseError
// when its body or a list-level field is unusable; a malformed image entry is
// only recorded in List.Skipped. Expiry is not judged here: an expired list
// parses, and the verifier decides what expiry means.
//
// List-level fields with the wrong JSON type refuse the list, because a list
// that garbles its own metadata is not one to act on, and a refused list
// retires nothing. Image-level descriptive strings (title, description, OS,
// ...) of the wrong type read as "" instead, and stay visible in Image.Raw:
// skipping an image for a cosmetic field would make ck retire it.
func Parse(payload []byte) (*List, error) {
	if len(payload) > MaxBodyBytes {
		return nil, &ParseError{Field: "body", Err: limitError{MaxBodyBytes}, Reason: fmt.Sprintf(
			"%d bytes exceeds the limit of %d bytes (%s)", len(payload), MaxBodyBytes, sizeText(MaxBodyBytes))}
	}
	bomLen := 0
	if bytes.HasPrefix(payload, utf8BOM) {
		bomLen = len(utf8BOM)
		payload = payload[bomLen:]
	}
	if err := checkDepth(payload, MaxDepth); err != nil {
		return nil, err
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(payload, &top); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			// Offset counts the bytes read, the bad one included; report
			// where the bad byte is, counting the BOM we dropped.
			off := se.Offset
			if off > 0 && !strings.Contains(se.Error(), "unexpected end") {
				off--
			}
			return nil, &ParseError{Field: "body", Err: err, Reason: fmt.Sprintf(
				"invalid JSON at byte offset %d: %v", off+int64(bomLen), se)}
		}
		return nil, &ParseError{Field: "body", Err: err, Reason: fmt.Sprintf(
			`got %s, want a JSON object {"hv:imagelist": {...}}`, jsonKind(payload))}
	}
	rawList, ok := top["hv:imagelist"]
	if !ok || isNull(rawList) {
		return nil, &ParseError{Field: "hv:imagelist", Reason: `missing: want a JSON object {"hv:imagelist": {...}}`}
	}
	obj, err := asObject(rawList)
	if err != nil {
		return nil, &ParseError{Field: "hv:imagelist", Reason: fmt.Sprintf("got %s, want an object", jsonKind(rawList))}
	}
	return parseList(obj)
}

// parseList reads the fields of the "hv:imagelist" object.
func parseList(obj map[string]json.RawMessage) (*List, error) {
	l := &List{}
	var err error
	if l.ID, err = requiredText(obj, "dc:identifier"); err != nil {
		return nil, err
	}
	for _, f := range []struct {
		key string
		dst *string
	}{
		{"dc:title", &l.Title},
		{"dc:description", &l.Description},
		{"dc:source", &l.Source},
		{"hv:uri", &l.URI},
		{"hv:version", &l.Version},
		{"ad:vo", &l.VO},
	} {
		s, _, err := scalarText(obj[f.key])
		if err != nil {
			return nil, &ParseError{Field: f.key, Reason: err.Error(), Err: err}
		}
		*f.dst = s
	}

	expires, present, err := parseDate(obj["dc:date:expires"])
	switch {
	case err != nil:
		return nil, &ParseError{Field: "dc:date:expires", Reason: err.Error(), Err: err}
	case !present:
		return nil, &ParseError{Field: "dc:date:expires", Reason: "missing: want a date YYYY-MM-DDTHH:MM:SSZ"}
	}
	l.Expires = expires
	// An unreadable creation date refuses the list rather than reading as
	// "absent": the verifier refuses lists dated in the future, and a
	// garbled date must not slip past that check.
	if l.Created, _, err = parseDate(obj["dc:date:created"]); err != nil {
		return nil, &ParseError{Field: "dc:date:created", Reason: err.Error(), Err: err}
	}

	if l.Endorser, err = parseEndorser(obj["hv:endorser"]); err != nil {
		return nil, err
	}
	if err := parseImages(l, obj["hv:images"]); err != nil {
		return nil, err
	}

	for k, v := range obj {
		if listKeys[k] {
			continue
		}
		if l.Extra == nil {
			l.Extra = make(map[string]json.RawMessage)
		}
		l.Extra[k] = compact(v)
	}
	return l, nil
}

// requiredText reads a list-level string that must be present and not blank.
func requiredText(obj map[string]json.RawMessage, key string) (string, error) {
	return requiredTextAt(obj, key, key)
}

func requiredTextAt(obj map[string]json.RawMessage, key, path string) (string, error) {
	s, present, err := scalarText(obj[key])
	switch {
	case err != nil:
		return "", &ParseError{Field: path, Reason: err.Error(), Err: err}
	case !present:
		return "", &ParseError{Field: path, Reason: "missing"}
	case strings.TrimSpace(s) == "":
		return "", &ParseError{Field: path, Reason: "empty"}
	}
	return s, nil
}

// parseEndorser reads hv:endorser.hv:x509.
func parseEndorser(raw json.RawMessage) (Endorser, error) {
	const base = "hv:endorser"
	if isNull(raw) {
		return Endorser{}, &ParseError{Field: base, Reason: "missing"}
	}
	outer, err := asObject(raw)
	if err != nil {
		return Endorser{}, &ParseError{Field: base, Reason: fmt.Sprintf("got %s, want an object", jsonKind(raw))}
	}
	rawX509 := outer["hv:x509"]
	if isNull(rawX509) {
		return Endorser{}, &ParseError{Field: base + ".hv:x509", Reason: "missing"}
	}
	x509, err := asObject(rawX509)
	if err != nil {
		return Endorser{}, &ParseError{Field: base + ".hv:x509", Reason: fmt.Sprintf("got %s, want an object", jsonKind(rawX509))}
	}
	var e Endorser
	if e.DN, err = requiredTextAt(x509, "hv:dn", base+".hv:x509.hv:dn"); err != nil {
		return Endorser{}, err
	}
	if e.CA, err = requiredTextAt(x509, "hv:ca", base+".hv:x509.hv:ca"); err != nil {
		return Endorser{}, err
	}
	for _, f := range []struct {
		key string
		dst *string
	}{{"hv:email", &e.Email}, {"dc:creator", &e.Creator}} {
		s, _, err := scalarText(x509[f.key])
		if err != nil {
			return Endorser{}, &ParseError{Field: base + ".hv:x509." + f.key, Reason: err.Error(), Err: err}
		}
		*f.dst = s
	}
	return e, nil
}

// parseImages walks hv:images one element at a time, so that a list with a
// huge number of entries is refused at entry MaxImages+1 instead of being
// decoded whole first.
func parseImages(l *List, raw json.RawMessage) error {
	const field = "hv:images"
	if isNull(raw) {
		return &ParseError{Field: field, Reason: "missing: want an array (it may be empty)"}
	}
	raw = bytes.TrimSpace(raw)
	if raw[0] != '[' {
		return &ParseError{Field: field, Reason: fmt.Sprintf("got %s, want an array", jsonKind(raw))}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil {
		return &ParseError{Field: field, Reason: err.Error(), Err: err}
	}
	firstIndex := make(map[string]int)
	for i := 0; dec.More(); i++ {
		if i >= MaxImages {
			return &ParseError{Field: field, Reason: fmt.Sprintf("more than %d entries (the limit)", MaxImages)}
		}
		var el json.RawMessage
		if err := dec.Decode(&el); err != nil {
			return &ParseError{Field: fmt.Sprintf("%s[%d]", field, i), Reason: err.Error(), Err: err}
		}
		img, ierr := parseImage(i, el)
		if ierr == nil || ierr.ID != "" {
			// The first entry that carries an id owns it, valid or not: a
			// broken entry must not let a later duplicate silently stand in.
			id := img.ID
			if ierr != nil {
				id = ierr.ID
			}
			if first, dup := firstIndex[id]; dup {
				ierr = &ImageError{Index: i, ID: id, Field: "dc:identifier",
					Reason: fmt.Sprintf("duplicate of image #%d; the first entry wins", first)}
			} else {
				firstIndex[id] = i
			}
		}
		if ierr != nil {
			l.Skipped = append(l.Skipped, *ierr)
			continue
		}
		l.Images = append(l.Images, img)
	}
	return nil
}

// parseImage reads one {"hv:image": {...}} element. On failure the Image is
// zero and the ImageError carries the id when it could be read.
func parseImage(index int, el json.RawMessage) (Image, *ImageError) {
	fail := func(id, field, reason string) (Image, *ImageError) {
		return Image{}, &ImageError{Index: index, ID: id, Field: field, Reason: reason}
	}
	wrapper, err := asObject(el)
	if err != nil {
		return fail("", "hv:image", fmt.Sprintf(`entry is %s, want {"hv:image": {...}}`, jsonKind(el)))
	}
	rawImg, ok := wrapper["hv:image"]
	if !ok || isNull(rawImg) {
		return fail("", "hv:image", `missing: want {"hv:image": {...}}`)
	}
	obj, err := asObject(rawImg)
	if err != nil {
		return fail("", "hv:image", fmt.Sprintf("got %s, want an object", jsonKind(rawImg)))
	}

	var img Image
	id, present, err := scalarText(obj["dc:identifier"])
	switch {
	case err != nil:
		return fail("", "dc:identifier", err.Error())
	case !present:
		return fail("", "dc:identifier", "missing")
	case strings.TrimSpace(id) == "":
		return fail("", "dc:identifier", "empty")
	}
	img.ID = id

	if img.URI, err = imageURI(obj["hv:uri"]); err != nil {
		return fail(id, "hv:uri", err.Error())
	}
	if img.SHA512, err = sha512Hex(obj["sl:checksum:sha512"]); err != nil {
		return fail(id, "sl:checksum:sha512", err.Error())
	}
	size, present, err := parseInt(obj["hv:size"])
	switch {
	case err != nil:
		return fail(id, "hv:size", err.Error()+" (bytes, > 0)")
	case !present:
		return fail(id, "hv:size", "missing: want an integer > 0 (bytes)")
	case size <= 0:
		return fail(id, "hv:size", fmt.Sprintf("got %d, want an integer > 0 (bytes)", size))
	}
	img.Size = size
	if img.Expires, _, err = parseDate(obj["dc:date:expires"]); err != nil {
		return fail(id, "dc:date:expires", err.Error())
	}
	// ad:vo decides which project the image goes to: a garbled value must
	// not send it to the default project instead.
	if img.VO, _, err = scalarText(obj["ad:vo"]); err != nil {
		return fail(id, "ad:vo", err.Error())
	}

	for _, f := range []struct {
		key string
		dst *string
	}{
		{"dc:title", &img.Title},
		{"dc:description", &img.Description},
		{"hv:version", &img.Version},
		{"hv:format", &img.Format},
		{"hv:hypervisor", &img.Hypervisor},
		{"sl:arch", &img.Arch},
		{"sl:os", &img.OS},
		{"sl:osname", &img.OSName},
		{"sl:osversion", &img.OSVersion},
		{"sl:comments", &img.Comments},
		{"ad:mpuri", &img.MPURI},
	} {
		*f.dst, _, _ = scalarText(obj[f.key]) // wrong type reads as "", see Parse
	}
	img.RAMMinimum = optionalCount(obj["hv:ram_minimum"])
	img.CoreMinimum = optionalCount(obj["hv:core_minimum"])
	img.Raw = compact(rawImg)
	return img, nil
}

// optionalCount reads an advisory numeric field such as hv:ram_minimum. These
// only tune flavour hints, so a value that does not parse, or a negative
// one, reads as 0 ("unknown") rather than costing the image.
func optionalCount(raw json.RawMessage) int64 {
	n, _, err := parseInt(raw)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// imageURI checks that an image's hv:uri is an absolute http(s) URL, the only
// kind the transfer code will download.
func imageURI(raw json.RawMessage) (string, error) {
	s, present, err := scalarText(raw)
	if err != nil {
		return "", err
	}
	if !present {
		return "", errors.New("missing: want an absolute http or https URL")
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		// The value may carry credentials: say what is wrong without it.
		got := "an unparsable URL"
		if err == nil {
			if u.User != nil {
				u.User = url.User("REDACTED")
			}
			if u.RawQuery != "" {
				u.RawQuery = "REDACTED"
			}
			got = quote(u.String())
		}
		return "", fmt.Errorf("got %s, want an absolute http or https URL", got)
	}
	return s, nil
}

// sha512Hex checks sl:checksum:sha512 and returns it in lower case, the form
// ck compares and stores.
func sha512Hex(raw json.RawMessage) (string, error) {
	s, present, err := scalarText(raw)
	if err != nil {
		return "", err
	}
	if !present {
		return "", errors.New("missing: want 128 hex digits")
	}
	if len(s) != 128 || strings.IndexFunc(s, func(r rune) bool { return !isHex(r) }) >= 0 {
		return "", fmt.Errorf("got %s (%d characters), want 128 hex digits", quote(s), len(s))
	}
	return strings.ToLower(s), nil
}

func isHex(r rune) bool {
	return (r >= '0' && r <= '9') || (r >= 'a' && r <= 'f') || (r >= 'A' && r <= 'F')
}

// compact returns raw without insignificant whitespace. raw has already been
// validated by the decoder, so Compact cannot fail; should it, raw is kept.
func compact(raw json.RawMessage) json.RawMessage {
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return append(json.RawMessage(nil), raw...)
	}
	return buf.Bytes()
}

// sizeText renders a byte count for messages: "16 MiB" when exact, else bytes.
func sizeText(n int64) string {
	const mib = 1 << 20
	if n >= mib && n%mib == 0 {
		return fmt.Sprintf("%d MiB", n/mib)
	}
	return fmt.Sprintf("%d bytes", n)
}
