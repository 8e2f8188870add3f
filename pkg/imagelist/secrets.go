package imagelist

import "encoding/base64"

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
