package imagelist

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
)

// maxSubscriptionsBytes bounds the subscriptions file; real ones hold a few
// dozen lines.
const maxSubscriptionsBytes = 1 << 20

// ReadSubscriptions reads cloudkeeper's image-lists.conf: one list URL (or
// path) per line. Surrounding spaces are trimmed; blank lines and lines whose
// first non-space character is "#" are skipped, and so is a trailing comment
// that starts with whitespace and "#" (" # production"), which cannot be
// part of a URL since URLs hold no spaces. A "#" with no space before it is
// kept, since it may be a URL fragment. A UTF-8 BOM and CRLF line ends are
// accepted. Each entry must pass ParseSource; exact repeats are dropped,
// keeping the first. The entries are returned as written, credentials
// included, for ParseSource; errors name the file and line and never echo a
// line's credentials.
func ReadSubscriptions(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read subscriptions: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxSubscriptionsBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read subscriptions %s: %w", path, err)
	}
	if len(data) > maxSubscriptionsBytes {
		return nil, fmt.Errorf("read subscriptions %s: larger than %s", path, sizeText(maxSubscriptionsBytes))
	}
	data = bytes.TrimPrefix(data, utf8BOM)

	var out []string
	seen := make(map[string]bool)
	for i, line := range strings.Split(string(data), "\n") {
		entry := stripComment(line)
		if entry == "" {
			continue
		}
		if strings.ContainsAny(entry, " \t") {
			return nil, fmt.Errorf("%s:%d: %s: want one URL or path per line",
				path, i+1, redactUserinfo(strings.Fields(entry)[0])+" …")
		}
		if _, err := ParseSource(entry); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, i+1, err)
		}
		if seen[entry] {
			continue
		}
		seen[entry] = true
		out = append(out, entry)
	}
	return out, nil
}

// stripComment trims a line and removes a whole-line or trailing comment.
func stripComment(line string) string {
	line = strings.TrimSpace(line) // also drops the \r of CRLF files
	if strings.HasPrefix(line, "#") {
		return ""
	}
	if i := strings.IndexAny(line, " \t"); i >= 0 {
		rest := strings.TrimLeft(line[i:], " \t")
		if strings.HasPrefix(rest, "#") {
			return line[:i]
		}
	}
	return line
}
