package imagelist

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/ck-sync/ck/pkg/httpclient"
)

// Defaults for HTTPOptions fields left at zero.
const (
	DefaultTimeout      = 2 * time.Minute // whole request, body included
	DefaultMaxRedirects = 5
	DefaultUserAgent    = "ck"
)

// Per-phase limits; each is also capped by the overall timeout.
const (
	dialTimeout         = 30 * time.Second
	tlsHandshakeTimeout = 30 * time.Second
	responseTimeout     = 60 * time.Second
)

// HTTPOptions configures NewHTTPClient.
type HTTPOptions struct {
	// Timeout bounds a whole request, reading the body included. Zero means
	// DefaultTimeout; negative means no overall bound (the dial, TLS and
	// response-header limits still apply), for callers that bound requests
	// with contexts instead.
	Timeout time.Duration
	// MaxRedirects is how many redirects a request may follow. Zero means
	// DefaultMaxRedirects; negative means none.
	MaxRedirects int
	// ExtraCAFile is a PEM file of CA certificates trusted in addition to
	// the system pool (e.g. a site's own CA in front of a mirror).
	ExtraCAFile string
	// UserAgent is sent unless a request sets its own; "" means DefaultUserAgent.
	UserAgent string
}

// ErrTooLarge is matched (errors.Is) by every error about a body over its
// size limit, from Fetch and from Parse.
var ErrTooLarge = errors.New("body exceeds size limit")

// limitError says which limit a body went over.
type limitError struct{ limit int64 }

func (e limitError) Error() string        { return "body exceeds " + sizeText(e.limit) + " limit" }
func (e limitError) Is(target error) bool { return target == ErrTooLarge }

// NewHTTPClient builds the client ck downloads lists with: TLS 1.2 or later
// with verification on, proxies from the environment (https_proxy,
// no_proxy), per-phase and overall timeouts, a redirect cap, and an
// Authorization header that never follows a redirect to another origin.
func NewHTTPClient(o HTTPOptions) (*http.Client, error) {
	timeout := o.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	maxRedirects := o.MaxRedirects
	if maxRedirects == 0 {
		maxRedirects = DefaultMaxRedirects
	}
	ua := o.UserAgent
	if ua == "" {
		ua = DefaultUserAgent
	}
	tlsConfig, err := httpclient.TLSConfig(o.ExtraCAFile)
	if err != nil {
		return nil, err
	}
	capped := func(d time.Duration) time.Duration {
		if timeout > 0 && timeout < d {
			return timeout
		}
		return d
	}
	transport := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: capped(dialTimeout), KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       tlsConfig,
		TLSHandshakeTimeout:   capped(tlsHandshakeTimeout),
		ResponseHeaderTimeout: capped(responseTimeout),
		ExpectContinueTimeout: time.Second,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConns:          16,
		ForceAttemptHTTP2:     true,
	}
	c := &http.Client{
		Transport:     httpclient.UserAgent(transport, ua),
		CheckRedirect: capRedirects(maxRedirects),
	}
	if timeout > 0 {
		c.Timeout = timeout
	}
	return c, nil
}

// capRedirects stops after max redirects and strips credentials on any
// redirect that leaves the original origin.
func capRedirects(max int) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		stripCrossOriginAuth(req, via)
		if max < 0 {
			return errors.New("redirect refused (redirects are disabled)")
		}
		if len(via) > max {
			return fmt.Errorf("too many redirects (limit %d)", max)
		}
		return nil
	}
}

// stripCrossOriginAuth drops Authorization when a redirect leaves the
// scheme, host and port of the first request. net/http alone would forward
// it to a subdomain, or to another port of the same host.
func stripCrossOriginAuth(req *http.Request, via []*http.Request) {
	if len(via) > 0 && httpclient.Origin(req.URL) != httpclient.Origin(via[0].URL) {
		req.Header.Del("Authorization")
	}
}

// FetchError is why a list could not be fetched. Its text never contains
// the source's credentials.
type FetchError struct {
	Source string // the source, credentials removed
	Status int    // the HTTP status for a non-2xx answer, else 0
	Err    error  // the cause
	// redact is the source's Redact, applied to the whole message as a
	// second line of defence. A func, not the Source, so that printing the
	// error with %#v cannot reveal the credentials either.
	redact func(string) string
}

// Error renders "fetch <source>: <cause>".
func (e *FetchError) Error() string {
	msg := "fetch " + e.Source + ": " + fmt.Sprint(e.Err)
	if e.redact != nil {
		msg = e.redact(msg)
	}
	return msg
}

// Unwrap returns the cause.
func (e *FetchError) Unwrap() error { return e.Err }

// Fetcher downloads or reads list payloads.
type Fetcher struct {
	// Client is used for http(s) sources; nil means NewHTTPClient's defaults.
	Client *http.Client
	// MaxBytes is the largest body accepted; 0 means MaxBodyBytes.
	MaxBytes int64
}

// Fetch returns the raw bytes of the list at s, refusing bodies over the
// size limit. For http(s) the URL's credentials are sent as HTTP Basic auth
// (AppDB's TOKEN:x-oauth-basic), only to the list's own origin.
func (f *Fetcher) Fetch(ctx context.Context, s Source) ([]byte, error) {
	limit := f.MaxBytes
	if limit <= 0 {
		limit = MaxBodyBytes
	}
	switch s.kind {
	case kindFile:
		return readFile(ctx, s, limit)
	case kindHTTP:
		return f.fetchHTTP(ctx, s, limit)
	case kindRegistry:
		return nil, fmt.Errorf("fetch %s: a registry source is read by pkg/registry, not fetched as a list", s)
	default:
		return nil, errors.New("fetch: empty source (build it with ParseSource)")
	}
}

func (f *Fetcher) fetchHTTP(ctx context.Context, s Source, limit int64) ([]byte, error) {
	client := f.Client
	if client == nil {
		var err error
		if client, err = NewHTTPClient(HTTPOptions{}); err != nil {
			return nil, s.fetchError(0, err)
		}
	}
	// A shallow copy, so that the credential guard holds whichever client
	// the caller passed in, without changing the caller's client.
	c := *client
	next := client.CheckRedirect
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		stripCrossOriginAuth(req, via)
		if next != nil {
			return next(req, via)
		}
		if len(via) >= 10 { // net/http's own default
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}

	// s.display has no userinfo: a URL with userinfo must never reach
	// net/http, whose url.Error texts would print the token.
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.display, nil)
	if err != nil {
		return nil, s.fetchError(0, err)
	}
	if s.cred != nil {
		req.SetBasicAuth(s.cred.user, s.cred.password)
	}
	resp, err := c.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // "Get <url>: " would repeat the source
		}
		return nil, s.fetchError(0, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, s.fetchError(resp.StatusCode,
			fmt.Errorf("HTTP %d %s", resp.StatusCode, http.StatusText(resp.StatusCode)))
	}
	if resp.ContentLength > limit {
		return nil, s.fetchError(0, limitError{limit})
	}
	return readLimited(s, resp.Body, limit)
}

// readFile reads a local list with the same size limit as a download.
func readFile(ctx context.Context, s Source, limit int64) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, s.fetchError(0, err)
	}
	file, err := os.Open(s.path)
	if err != nil {
		return nil, s.fetchError(0, pathCause(err))
	}
	defer file.Close()
	if info, err := file.Stat(); err == nil && info.IsDir() {
		return nil, s.fetchError(0, errors.New("is a directory, want a list file"))
	}
	return readLimited(s, file, limit)
}

// readLimited reads at most limit+1 bytes, so that an over-long body is
// detected without being held in memory.
func readLimited(s Source, r io.Reader, limit int64) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, s.fetchError(0, fmt.Errorf("read body: %w", pathCause(err)))
	}
	if int64(len(body)) > limit {
		return nil, s.fetchError(0, limitError{limit})
	}
	return body, nil
}

// pathCause drops the *fs.PathError wrapper, whose text repeats the path
// that FetchError already names; errors.Is(err, fs.ErrNotExist) still holds.
func pathCause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func (s Source) fetchError(status int, err error) *FetchError {
	return &FetchError{Source: s.String(), Status: status, Err: err, redact: s.Redact}
}
