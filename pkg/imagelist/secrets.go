package imagelist

import (
	"encoding/base64"
	"net/url"
	"strings"
)

// Secrets returns the strings that must never be printed for this source:
// the URL's user name (AppDB's token), its password, the raw userinfo and the
// Basic-auth encoding of the pair. ck registers them with its output
// redactor as a last line of defence.
func (s Source) Secrets() []string {
	if s.cred == nil {
		return nil
	}
	c := s.cred
	out := []string{c.raw, base64.StdEncoding.EncodeToString([]byte(c.user + ":" + c.password))}
	if c.user != "" {
		out = append(out, c.user)
	}
	// "x-oauth-basic" is AppDB's fixed, public password: not a secret.
	if c.password != "" && c.password != "x-oauth-basic" {
		out = append(out, c.password)
	}
	return out
}

// SendsCredentialsInClear reports whether fetching the source sends
// credentials over plain http://, where anyone on the path can read them.
// ck still fetches it (a site may have no choice) but warns.
func (s Source) SendsCredentialsInClear() bool {
	return s.cred != nil && strings.HasPrefix(s.display, "http://")
}

// URLSendsCredentialsInClear is SendsCredentialsInClear for any URL, such
// as an image's hv:uri: an http:// URL carrying userinfo.
func URLSendsCredentialsInClear(rawURL string) bool {
	u, err := url.Parse(strings.TrimSpace(rawURL))
	return err == nil && u.Scheme == "http" && u.User != nil
}
