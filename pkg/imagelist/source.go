package imagelist

import (
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sort"
	"strings"

	"github.com/ck-sync/ck/pkg/ociref"
)

// redacted replaces secrets in every text ck prints.
const redacted = "REDACTED"

type sourceKind uint8

const (
	kindHTTP sourceKind = iota + 1
	kindFile
	kindRegistry // oci:// or harbor://: read by pkg/registry, not fetched here
)

// Source is one list subscription: an http(s) URL (credentials allowed), a
// file:// URL, or a local path. Build it with ParseSource. Its String form is
// safe to print, log and store; the credentials it carries only ever reach
// the Authorization header of the request to the list's own host.
//
// Compare or key Sources by String(), not with ==: two Sources parsed from
// the same text hold distinct credential pointers.
type Source struct {
	kind    sourceKind
	display string // the URL without userinfo, or the file path
	path    string // file sources: the path to read
	// reg is the parsed registry source (kindRegistry).
	reg ociref.Ref
	// cred sits behind a pointer so that printing a struct that embeds a
	// Source with %v or %+v shows an address, never the token.
	cred *credentials
}

// credentials is the userinfo of an http(s) list URL. AppDB's form is
// TOKEN:x-oauth-basic, where the token is the user name.
type credentials struct {
	user, password string
	raw            string // the userinfo exactly as written in the URL
}

// ParseSource reads a list argument or subscription line. Anything with
// "<scheme>://" is a URL (http, https or file; other schemes are refused);
// everything else is a local path, relative to the working directory.
// Errors never contain the credentials.
func ParseSource(arg string) (Source, error) {
	arg = strings.TrimSpace(arg)
	if arg == "" {
		return Source{}, errors.New("list source: empty")
	}
	scheme, rest, isURL := strings.Cut(arg, "://")
	if !isURL || !validScheme(scheme) {
		return Source{kind: kindFile, display: arg, path: arg}, nil
	}
	safe := redactUserinfo(arg)
	scheme = strings.ToLower(scheme)
	if ociref.IsRegistry(arg) {
		r, err := ociref.Parse(arg)
		if err != nil {
			return Source{}, err
		}
		return Source{kind: kindRegistry, display: r.String(), reg: r}, nil
	}
	if scheme != "http" && scheme != "https" && scheme != "file" {
		return Source{}, fmt.Errorf("list source %s: unsupported scheme %q (want https, http, file, oci, harbor or a local path)", safe, scheme)
	}
	u, err := url.Parse(arg)
	if err != nil {
		// url.Error repeats the whole input, credentials included, and some
		// inner errors quote parts of it: only say what is safe.
		var ue *url.Error
		if !strings.Contains(rest, "@") && errors.As(err, &ue) {
			return Source{}, fmt.Errorf("list source %s: invalid URL: %v", safe, ue.Err)
		}
		return Source{}, fmt.Errorf("list source %s: invalid URL", safe)
	}
	if scheme == "file" {
		return fileURLSource(u, safe)
	}
	if u.Host == "" || u.Hostname() == "" {
		return Source{}, fmt.Errorf("list source %s: URL has no host", safe)
	}
	s := Source{kind: kindHTTP}
	if u.User != nil {
		pass, _ := u.User.Password()
		s.cred = &credentials{user: u.User.Username(), password: pass, raw: rawUserinfo(rest)}
		u.User = nil
	}
	s.display = u.String()
	return s, nil
}

// fileURLSource accepts file:///abs/path and file://localhost/abs/path, the
// two forms that name a file on this machine.
func fileURLSource(u *url.URL, safe string) (Source, error) {
	if u.User != nil {
		return Source{}, fmt.Errorf("list source %s: credentials are not allowed in a file URL", safe)
	}
	if u.Host != "" && u.Host != "localhost" {
		return Source{}, fmt.Errorf("list source %s: file URL names host %q; only local files are supported", safe, u.Host)
	}
	if u.Path == "" {
		return Source{}, fmt.Errorf("list source %s: file URL has no path", safe)
	}
	return Source{kind: kindFile, display: u.Path, path: u.Path}, nil
}

// validScheme reports whether s is an RFC 3986 scheme, so that a path that
// merely contains "://" is still read as a path.
func validScheme(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case i > 0 && (r >= '0' && r <= '9' || r == '+' || r == '-' || r == '.'):
		default:
			return false
		}
	}
	return true
}

// rawUserinfo returns the userinfo of rest (the URL after "://") as written.
func rawUserinfo(rest string) string {
	authority := rest
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		authority = rest[:i]
	}
	if i := strings.LastIndex(authority, "@"); i >= 0 {
		return authority[:i]
	}
	return ""
}

// redactUserinfo hides everything between "://" and the last "@" of a URL
// that may not even parse. It errs on the side of hiding: a password with
// a "/" in it must not leak either.
func redactUserinfo(arg string) string {
	scheme, rest, ok := strings.Cut(arg, "://")
	if !ok {
		return arg
	}
	if i := strings.LastIndex(rest, "@"); i >= 0 {
		return scheme + "://" + redacted + "@" + rest[i+1:]
	}
	return arg
}

// String returns the source without credentials: the URL for http(s), the
// path for files. It is what ck prints, logs and writes to Glance.
func (s Source) String() string { return s.display }

// GoString keeps %#v as safe as %v.
func (s Source) GoString() string { return fmt.Sprintf("imagelist.Source(%q)", s.display) }

// LogValue makes slog record the redacted form.
func (s Source) LogValue() slog.Value { return slog.StringValue(s.display) }

// IsFile reports whether the source is a local file (a path or a file:// URL).
func (s Source) IsFile() bool { return s.kind == kindFile }

// Registry returns the registry source (oci:// or harbor://) s names, and
// false when s is a HEPiX list. Registry sources are read by
// pkg/registry; Fetcher.Fetch refuses them.
func (s Source) Registry() (ociref.Ref, bool) { return s.reg, s.kind == kindRegistry }

// Redact replaces the source's token and password, in every spelling they
// could take in a message, with "REDACTED". It is a safety net for error
// texts built from code ck does not control.
func (s Source) Redact(text string) string {
	for _, secret := range s.secrets() {
		text = strings.ReplaceAll(text, secret, redacted)
	}
	return text
}

// secrets lists every spelling of the credentials, longest first so that a
// longer secret is never left half-replaced by a shorter one inside it.
func (s Source) secrets() []string {
	if s.cred == nil {
		return nil
	}
	c := s.cred
	candidates := []string{
		c.raw, c.user, c.password,
		url.UserPassword(c.user, c.password).String(),
		url.User(c.user).String(),
		url.QueryEscape(c.user), url.QueryEscape(c.password),
		base64.StdEncoding.EncodeToString([]byte(c.user + ":" + c.password)),
	}
	if user, pass, ok := strings.Cut(c.raw, ":"); ok {
		candidates = append(candidates, user, pass)
	}
	seen := make(map[string]bool)
	var out []string
	for _, v := range candidates {
		if v != "" && !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}
