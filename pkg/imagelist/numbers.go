package imagelist

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// AppDB writes every scalar as a string while the original HEPiX tools write
// numbers, so the helpers below accept both spellings for every field. Each
// returns present=false for an absent key or a JSON null, which callers treat
// alike: AppDB emits null for fields it has no value for.

// jsonKind names the JSON type of raw for error messages.
func jsonKind(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	default:
		return "a number"
	}
}

// isNull reports whether raw is absent or the JSON literal null.
func isNull(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) == 0 || bytes.Equal(raw, []byte("null"))
}

// scalarText returns the text of a JSON string, number or boolean. Numbers
// keep their literal spelling ("hv:version": 1 gives "1"), so nothing is lost
// to float rounding.
func scalarText(raw json.RawMessage) (s string, present bool, err error) {
	if isNull(raw) {
		return "", false, nil
	}
	raw = bytes.TrimSpace(raw)
	switch raw[0] {
	case '"':
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", true, fmt.Errorf("bad string: %w", err)
		}
		return s, true, nil
	case '{', '[':
		return "", true, fmt.Errorf("got %s, want a string", jsonKind(raw))
	default:
		return string(raw), true, nil
	}
}

// parseInt reads an integer written as a JSON number (2147483648) or as a
// numeric string ("121243136"). A number written with a fraction or an
// exponent is accepted only when its value is a whole number small enough to
// be exact in a float64.
func parseInt(raw json.RawMessage) (n int64, present bool, err error) {
	if isNull(raw) {
		return 0, false, nil
	}
	raw = bytes.TrimSpace(raw)
	var text string
	switch raw[0] {
	case '"':
		if err := json.Unmarshal(raw, &text); err != nil {
			return 0, true, fmt.Errorf("bad string: %w", err)
		}
		text = strings.TrimSpace(text)
	case '{', '[', 't', 'f':
		return 0, true, fmt.Errorf("got %s, want an integer", jsonKind(raw))
	default:
		text = string(raw)
	}
	if n, err := strconv.ParseInt(text, 10, 64); err == nil {
		return n, true, nil
	}
	const exact = 1 << 53
	if f, err := strconv.ParseFloat(text, 64); err == nil && f == math.Trunc(f) && math.Abs(f) <= exact {
		return int64(f), true, nil
	}
	return 0, true, fmt.Errorf("got %s, want an integer", quote(text))
}

// parseDate reads a HEPiX date. The format is YYYY-MM-DDTHH:MM:SSZ; RFC 3339
// offsets and fractional seconds are accepted too. The result is in UTC.
func parseDate(raw json.RawMessage) (t time.Time, present bool, err error) {
	if isNull(raw) {
		return time.Time{}, false, nil
	}
	raw = bytes.TrimSpace(raw)
	if raw[0] != '"' {
		return time.Time{}, true, fmt.Errorf("got %s, want a date string YYYY-MM-DDTHH:MM:SSZ", jsonKind(raw))
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return time.Time{}, true, fmt.Errorf("bad string: %w", err)
	}
	// time.RFC3339 also accepts fractional seconds when parsing.
	t, err = time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, true, fmt.Errorf("got %s, want a date YYYY-MM-DDTHH:MM:SSZ (RFC 3339)", quote(s))
	}
	return t.UTC(), true, nil
}

// errNotObject is returned by asObject for anything but a JSON object.
var errNotObject = errors.New("not a JSON object")

// asObject decodes raw as a JSON object keeping each value as raw JSON, so
// that key matching is exact (encoding/json matches struct tags without
// regard to case) and unknown keys survive.
func asObject(raw json.RawMessage) (map[string]json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, errNotObject
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	return m, nil
}

// quote renders an observed value for an error message, cut short so that a
// hostile list cannot flood the logs.
func quote(s string) string {
	const max = 80
	if len(s) <= max {
		return strconv.Quote(s)
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strconv.Quote(s[:cut]) + fmt.Sprintf("… (%d bytes)", len(s))
}
