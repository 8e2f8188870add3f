package imagelist

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/ck-sync/ck/pkg/ociref"
)

// defaultPorts are the ports a key leaves out, by scheme: a URL that spells
// its scheme's default port names the same list as one that does not. oci
// and harbor sources are HTTPS-only.
var defaultPorts = map[string]string{"http": "80", "https": "443", "oci": "443", "harbor": "443"}

// Key returns the form in which ck compares subscriptions: the one key that
// every spelling of one source shares, so that a config file's lists: entry
// applies to its list however either side is written. It is the rule for
// every kind of source, including schemes ParseSource does not read yet:
//
//   - a URL loses its credentials (userinfo) and its fragment (never sent to
//     the server); its scheme and host are lower-cased; the default port of
//     its scheme is dropped (80 for http, 443 for https, oci and harbor); an
//     empty path becomes "/"; percent-escapes of unreserved characters are
//     decoded and the others upper-cased (RFC 3986 §6.2.2). The rest of the
//     path and the query are compared as written (case-sensitive).
//   - a file:// URL is its path, and a path is cleaned and made absolute
//     against the working directory, so file:///x/a.list, /x/a.list and
//     ./a.list (run in /x) share one key. Symbolic links are not resolved.
//
// The key never holds credentials, so it is safe to print. Key fails only on
// text that cannot name a source (a URL that does not parse or has no host);
// its errors never contain the credentials.
func Key(ref string) (string, error) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return "", errors.New("list source: empty")
	}
	scheme, rest, isURL := strings.Cut(ref, "://")
	if !isURL || !validScheme(scheme) {
		return pathKey(ref), nil
	}
	if ociref.IsRegistry(ref) {
		r, err := ociref.Parse(ref)
		if err != nil {
			return "", err
		}
		return r.String(), nil
	}
	safe := redactUserinfo(ref)
	u, err := url.Parse(ref)
	if err != nil {
		var ue *url.Error
		if !strings.Contains(rest, "@") && errors.As(err, &ue) {
			return "", fmt.Errorf("list source %s: invalid URL: %v", safe, ue.Err)
		}
		return "", fmt.Errorf("list source %s: invalid URL", safe)
	}
	if u.Scheme == "file" {
		if u.Host != "" && u.Host != "localhost" {
			return "", fmt.Errorf("list source %s: file URL names host %q; only local files are supported", safe, u.Host)
		}
		if u.Path == "" {
			return "", fmt.Errorf("list source %s: file URL has no path", safe)
		}
		return pathKey(u.Path), nil
	}
	if u.Hostname() == "" {
		return "", fmt.Errorf("list source %s: URL has no host", safe)
	}
	return urlKey(u), nil
}

// Key returns the source's key (see the function Key): equal to
// Key of the text the source was parsed from, and of its String form.
func (s Source) Key() string {
	switch s.kind {
	case kindFile:
		return pathKey(s.path)
	case kindRegistry:
		return s.display // canonical already (ociref.Ref.String)
	}
	u, err := url.Parse(s.display)
	if err != nil {
		// display is url.URL.String() of a URL that parsed: unreachable,
		// but an unmatched key is the safe answer (see cmdutil's check that
		// every lists: entry matches a subscription).
		return s.display
	}
	return urlKey(u)
}

// IsPath reports whether ref names a local path rather than a URL, by the
// same rule as ParseSource: anything without an RFC 3986 scheme before
// "://" is a path.
func IsPath(ref string) bool {
	scheme, _, isURL := strings.Cut(strings.TrimSpace(ref), "://")
	return !isURL || !validScheme(scheme)
}

func pathKey(p string) string {
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	// Only when the working directory cannot be read: the path, cleaned.
	return filepath.Clean(p)
}

func urlKey(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Hostname())
	if port := u.Port(); port != "" && port != defaultPorts[scheme] {
		host = net.JoinHostPort(host, port)
	} else if strings.Contains(host, ":") {
		host = "[" + host + "]" // an IPv6 literal keeps its brackets
	}
	path := normalizeEscapes(u.EscapedPath())
	if path == "" {
		path = "/"
	}
	key := scheme + "://" + host + path
	if q := normalizeEscapes(u.RawQuery); q != "" {
		key += "?" + q
	}
	return key
}

// normalizeEscapes decodes %XX escapes of unreserved characters and writes
// the hex digits of the others in upper case (RFC 3986 §6.2.2.1-2): the
// spellings of one URL that every server treats alike.
func normalizeEscapes(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' || i+2 >= len(s) || !isHex(rune(s[i+1])) || !isHex(rune(s[i+2])) {
			b.WriteByte(s[i])
			continue
		}
		c := unhex(s[i+1])<<4 | unhex(s[i+2])
		if isUnreserved(c) {
			b.WriteByte(c)
		} else {
			b.WriteString("%" + strings.ToUpper(s[i+1:i+3]))
		}
		i += 2
	}
	return b.String()
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

func isUnreserved(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}
