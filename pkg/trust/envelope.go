package trust

import (
	"bytes"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"mime"
	"strings"
)

// Envelope formats, as reported in Signed.Format.
const (
	FormatMultipart = "multipart" // S/MIME multipart/signed, detached signature
	FormatOpaque    = "opaque"    // S/MIME application/pkcs7-mime, content inside
	FormatPEM       = "pem"       // bare PEM PKCS#7, content inside
	FormatDER       = "der"       // bare DER PKCS#7, content inside
)

// envelope is what an image list's wrapping yields before any cryptography.
type envelope struct {
	format   string
	pkcs7    []byte // DER (or BER) ContentInfo
	detached []byte // the signed bytes for FormatMultipart, nil otherwise
}

// maxHeaderBytes bounds a MIME header block, so that a stray file is not
// scanned as one endless header.
const maxHeaderBytes = 64 << 10

// parseEnvelope recognises the signed formats image lists come in. Bare JSON
// is reported as unsigned, anything else as an envelope failure.
func parseEnvelope(data []byte) (*envelope, error) {
	trimmed := bytes.TrimLeft(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")), " \t\r\n")
	switch {
	case len(trimmed) == 0:
		return nil, fail(CheckEnvelope, "empty document", "0 bytes", "an S/MIME or PKCS#7 signed image list", nil)
	case trimmed[0] == '{':
		return nil, fail(CheckUnsigned, "image list is bare JSON, not signed", "JSON document",
			"an S/MIME or PKCS#7 signed image list", ErrUnsigned)
	case bytes.HasPrefix(trimmed, []byte("-----BEGIN ")):
		return parsePEM(trimmed)
	case data[0] == 0x30: // ASN.1 SEQUENCE: a bare ContentInfo
		return &envelope{format: FormatDER, pkcs7: data}, nil
	}
	header, body, ok := splitHeader(data)
	if !ok {
		return nil, fail(CheckEnvelope, "not a signed image list (neither S/MIME, PEM nor DER PKCS#7)",
			describe(data), "an S/MIME or PKCS#7 signed image list", nil)
	}
	return parseMIME(header, body)
}

func parsePEM(data []byte) (*envelope, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fail(CheckEnvelope, "PEM block is damaged or truncated", describe(data), "a complete PEM PKCS7 block", nil)
	}
	switch block.Type {
	case "PKCS7", "CMS", "PKCS #7 SIGNED DATA":
		return &envelope{format: FormatPEM, pkcs7: block.Bytes}, nil
	}
	return nil, fail(CheckEnvelope, "PEM block is not PKCS#7", block.Type, "PKCS7", nil)
}

func parseMIME(header mimeHeader, body []byte) (*envelope, error) {
	switch n := len(header["content-type"]); {
	case n == 0:
		return nil, fail(CheckEnvelope, "MIME message has no Content-Type", "", "multipart/signed or application/pkcs7-mime", nil)
	case n > 1:
		return nil, fail(CheckEnvelope, "MIME message has an ambiguous Content-Type", fmt.Sprintf("%d Content-Type fields", n), "1", nil)
	}
	ct := header.get("content-type")
	mediaType, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return nil, fail(CheckEnvelope, "cannot parse Content-Type", ct, "a valid media type", err)
	}
	switch mediaType {
	case "multipart/signed":
		return parseMultipartSigned(params, body)
	case "application/pkcs7-mime", "application/x-pkcs7-mime":
		if st, ok := params["smime-type"]; ok && !strings.EqualFold(st, "signed-data") {
			return nil, fail(CheckEnvelope, "S/MIME message is not signed data", "smime-type="+st, "smime-type=signed-data", nil)
		}
		der, err := decodeBase64Part(header, body)
		if err != nil {
			return nil, err
		}
		return &envelope{format: FormatOpaque, pkcs7: der}, nil
	}
	return nil, fail(CheckEnvelope, "unsupported MIME type", mediaType, "multipart/signed or application/pkcs7-mime", nil)
}

func isSignatureType(t string) bool {
	t = strings.ToLower(t)
	return t == "application/pkcs7-signature" || t == "application/x-pkcs7-signature"
}

// parseMultipartSigned cuts the two parts by hand rather than with
// mime/multipart: the digest covers the first part's exact bytes, headers
// (if any) and line ends included, and vmcaster's first part has no headers.
func parseMultipartSigned(params map[string]string, body []byte) (*envelope, error) {
	if p := params["protocol"]; !isSignatureType(p) {
		return nil, fail(CheckEnvelope, "multipart/signed protocol is not PKCS#7", fmt.Sprintf("%q", p), "application/pkcs7-signature", nil)
	}
	boundary := params["boundary"]
	if boundary == "" {
		return nil, fail(CheckEnvelope, "multipart/signed has no boundary", "", "a boundary parameter", nil)
	}
	delim := []byte("--" + boundary)

	first, ok := findDelimiter(body, delim, 0)
	if !ok {
		return nil, fail(CheckEnvelope, "multipart/signed boundary not found in the body", "", "a line --"+boundary, nil)
	}
	if first.closing {
		return nil, fail(CheckEnvelope, "multipart/signed has no signed part", "0 parts", "2 parts", nil)
	}
	second, ok := findDelimiter(body, delim, first.next)
	if !ok {
		return nil, fail(CheckEnvelope, "multipart/signed is truncated", "no second delimiter", "signed part and signature part", nil)
	}
	if second.closing {
		return nil, fail(CheckEnvelope, "multipart/signed has no signature part", "1 part", "2 parts", nil)
	}
	last, ok := findDelimiter(body, delim, second.next)
	if !ok {
		return nil, fail(CheckEnvelope, "multipart/signed is truncated", "no closing delimiter", "--"+boundary+"--", nil)
	}
	if !last.closing {
		return nil, fail(CheckEnvelope, "multipart/signed has more than two parts", "3 or more parts", "2 parts", nil)
	}
	signed := body[first.next:trimLineEnd(body, first.next, second.start)]
	if len(signed) == 0 {
		return nil, fail(CheckEnvelope, "multipart/signed has an empty signed part", "", "", nil)
	}
	sigPart := body[second.next:trimLineEnd(body, second.next, last.start)]
	header, sigBody, ok := splitHeader(sigPart)
	if !ok {
		return nil, fail(CheckEnvelope, "signature part has no MIME header", describe(sigPart), "Content-Type: application/pkcs7-signature", nil)
	}
	if ct, _, err := mime.ParseMediaType(header.get("content-type")); err != nil || len(header["content-type"]) != 1 || !isSignatureType(ct) {
		return nil, fail(CheckEnvelope, "signature part is not PKCS#7", fmt.Sprintf("%q", header["content-type"]), "application/pkcs7-signature", err)
	}
	der, err := decodeBase64Part(header, sigBody)
	if err != nil {
		return nil, err
	}
	return &envelope{format: FormatMultipart, pkcs7: der, detached: signed}, nil
}

// delimiter locates one boundary line: start is where "--boundary" begins,
// next is just after its line end.
type delimiter struct {
	start, next int
	closing     bool
}

// findDelimiter scans the lines of b from offset from (a line start) for a
// delimiter line, allowing the trailing transport padding RFC 2046 permits.
func findDelimiter(b, delim []byte, from int) (delimiter, bool) {
	for i := from; i < len(b); {
		end := bytes.IndexByte(b[i:], '\n')
		next := len(b)
		if end >= 0 {
			end += i
			next = end + 1
		} else {
			end = len(b)
		}
		line := bytes.TrimSuffix(b[i:end], []byte("\r"))
		if rest, ok := bytes.CutPrefix(line, delim); ok {
			closing := false
			if r, ok := bytes.CutPrefix(rest, []byte("--")); ok {
				rest, closing = r, true
			}
			if len(bytes.Trim(rest, " \t")) == 0 {
				return delimiter{start: i, next: next, closing: closing}, true
			}
		}
		i = next
	}
	return delimiter{}, false
}

// trimLineEnd returns the end of a part that runs from start up to the
// delimiter at delim: the line end just before a delimiter belongs to the
// delimiter (RFC 2046), CRLF or bare LF alike.
func trimLineEnd(b []byte, start, delim int) int {
	end := delim
	if end > start && b[end-1] == '\n' {
		end--
		if end > start && b[end-1] == '\r' {
			end--
		}
	}
	return end
}

// mimeHeader holds header fields by lower-case name, every occurrence kept.
type mimeHeader map[string][]string

// get returns the first value of a field, or "".
func (h mimeHeader) get(name string) string {
	if v := h[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// splitHeader parses a MIME header block (LF or CRLF, folded lines allowed)
// and returns its fields and the body after the blank line. ok is false when
// data does not start with a well-formed header block.
func splitHeader(data []byte) (mimeHeader, []byte, bool) {
	header := mimeHeader{}
	last := ""
	for i := 0; i < len(data) && i < maxHeaderBytes; {
		end := bytes.IndexByte(data[i:], '\n')
		if end < 0 {
			return nil, nil, false // no blank line: not a header block, or truncated
		}
		line := bytes.TrimSuffix(data[i:i+end], []byte("\r"))
		i += end + 1
		if len(line) == 0 {
			return header, data[i:], len(header) > 0
		}
		if line[0] == ' ' || line[0] == '\t' {
			if last == "" {
				return nil, nil, false
			}
			v := header[last]
			v[len(v)-1] += " " + string(bytes.TrimSpace(line))
			continue
		}
		name, value, found := bytes.Cut(line, []byte(":"))
		if !found || !isToken(name) {
			return nil, nil, false
		}
		last = strings.ToLower(string(name))
		header[last] = append(header[last], string(bytes.TrimSpace(value)))
	}
	return nil, nil, false
}

// isToken reports whether name is a plausible header field name.
func isToken(name []byte) bool {
	if len(name) == 0 {
		return false
	}
	for _, c := range name {
		if c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}

// decodeBase64Part decodes a part body that must be base64 (the only transfer
// encoding S/MIME uses for binary PKCS#7).
func decodeBase64Part(header mimeHeader, body []byte) ([]byte, error) {
	if cte := header.get("content-transfer-encoding"); cte != "" && !strings.EqualFold(cte, "base64") {
		return nil, fail(CheckEnvelope, "unsupported Content-Transfer-Encoding for PKCS#7", cte, "base64", nil)
	}
	clean := bytes.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, body)
	der := make([]byte, base64.StdEncoding.DecodedLen(len(clean)))
	n, err := base64.StdEncoding.Decode(der, clean)
	if err != nil {
		return nil, fail(CheckEnvelope, "PKCS#7 part is not valid base64 (damaged or truncated)", fmt.Sprintf("%d base64 bytes", len(clean)), "", err)
	}
	if n == 0 {
		return nil, fail(CheckEnvelope, "PKCS#7 part is empty", "", "", nil)
	}
	return der[:n], nil
}

// describe quotes the start of data for an error message.
func describe(data []byte) string {
	const max = 40
	if len(data) > max {
		return fmt.Sprintf("%q… (%d bytes)", data[:max], len(data))
	}
	return fmt.Sprintf("%q", data)
}
