package transfer

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Check names, as carried in VerifyError.Check.
const (
	CheckSize   = "size"
	CheckSHA512 = "sha512"
)

// VerifyError says the bytes are not the image the list declares. Retrying
// the same source will not help.
type VerifyError struct {
	Check    string // CheckSize or CheckSHA512
	Observed string // what arrived, e.g. "1000 bytes", "more than 2048 bytes", or a hex digest
	Expected string // what the list declares
	Name     string // the image, as Source.Name
}

// Error renders "<name>: <check> mismatch: got <observed>, want <expected>".
func (e *VerifyError) Error() string {
	name := e.Name
	if name == "" {
		name = "image"
	}
	return fmt.Sprintf("%s: %s mismatch: got %s, want %s", name, e.Check, e.Observed, e.Expected)
}

// HTTPError is an answer with an unusable status.
type HTTPError struct {
	URL       string // credentials removed
	Status    int
	Retryable bool // the same request may succeed later (5xx, 408, 429)

	retryAfter time.Duration // from a Retry-After header, if any
}

// Error renders "GET <url>: HTTP <code> <text>".
func (e *HTTPError) Error() string {
	msg := fmt.Sprintf("GET %s: HTTP %d %s", e.URL, e.Status, http.StatusText(e.Status))
	if e.retryAfter > 0 {
		msg += fmt.Sprintf(" (Retry-After %s)", e.retryAfter)
	}
	return msg
}

// ErrRangeUnsupported is matched (errors.Is) when a cut download could not
// be resumed because the server ignored the Range request, or the image
// changed since the first response (If-Range). Bytes already handed on cannot
// be taken back: the caller must restart the whole image.
var ErrRangeUnsupported = errors.New("server cannot resume the download (Range ignored or image changed); restart the whole image")

// IsRetryable reports whether err, from Open or a Read, is transient, so that
// starting the whole image again later may succeed. Verification failures,
// client errors (4xx), TLS trust failures and cancellation are not.
func IsRetryable(err error) bool {
	var ve *VerifyError
	if errors.As(err, &ve) {
		return false
	}
	var he *HTTPError
	if errors.As(err, &he) {
		return he.Retryable
	}
	var ce *connError
	return errors.As(err, &ce) || errors.Is(err, ErrRangeUnsupported)
}

// connError is a transient failure of one attempt: a broken connection, a
// timeout, a stall. It may be retried or resumed.
type connError struct {
	URL string // credentials removed
	Err error
}

func (e *connError) Error() string { return "GET " + e.URL + ": " + e.Err.Error() }
func (e *connError) Unwrap() error { return e.Err }

// stallError is an attempt that received nothing for the idle timeout.
type stallError struct{ idle time.Duration }

func (e stallError) Error() string { return fmt.Sprintf("stalled: no data for %s", e.idle) }

// Timeout lets net.Error-style checks treat a stall as a timeout.
func (e stallError) Timeout() bool { return true }

// redirectError is a redirect refused by policy; retrying repeats it.
type redirectError struct{ reason string }

func (e *redirectError) Error() string { return e.reason }

// downloadError puts the subject first and scrubs the source's secrets from
// the whole text, a last line of defence behind the redacted URLs.
type downloadError struct {
	subject string
	err     error
	scrub   func(string) string
}

func (e *downloadError) Error() string {
	return e.scrub("download " + e.subject + ": " + e.err.Error())
}
func (e *downloadError) Unwrap() error { return e.err }

const redacted = "REDACTED"

// safeURL renders u for messages: userinfo and query (which may hold a
// token or a signature) are replaced, the fragment dropped.
func safeURL(u *url.URL) string {
	c := *u
	if c.User != nil {
		c.User = url.User(redacted)
	}
	if c.RawQuery != "" {
		c.RawQuery = redacted
	}
	c.Fragment, c.RawFragment = "", ""
	return c.String()
}

// scrubber returns a func that replaces u's secrets wherever they appear in a text.
func scrubber(u *url.URL) func(string) string {
	var secrets []string
	if u.User != nil {
		pw, _ := u.User.Password()
		secrets = append(secrets, u.User.String(), u.User.Username(), pw)
	}
	if u.RawQuery != "" {
		secrets = append(secrets, u.RawQuery)
		if q, err := url.QueryUnescape(u.RawQuery); err == nil {
			secrets = append(secrets, q)
		}
	}
	return func(text string) string {
		for _, s := range secrets {
			// Very short strings are not secrets worth mangling a message for.
			if len(s) >= 3 {
				text = strings.ReplaceAll(text, s, redacted)
			}
		}
		return text
	}
}

// HasCredentials reports whether an image URL carries userinfo, which must
// never be handed to anyone but the image server itself.
func HasCredentials(rawURL string) bool {
	u, err := url.Parse(rawURL)
	return err == nil && u.User != nil
}

// SafeURL renders an image URL for people and files: userinfo and query
// (which may hold a signature) replaced. Unparsable input is withheld.
func SafeURL(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "(unparsable URL)"
	}
	return safeURL(u)
}
