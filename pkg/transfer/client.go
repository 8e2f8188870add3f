package transfer

import (
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/ck-sync/ck/pkg/httpclient"
)

// Defaults for HTTPOptions fields left at zero.
const (
	DefaultConnectTimeout = 30 * time.Second
	DefaultMaxRedirects   = 5
	DefaultUserAgent      = "ck"
)

// HTTPOptions configures NewHTTPClient.
type HTTPOptions struct {
	// ExtraCAFile is a PEM file of CAs trusted besides the system pool.
	ExtraCAFile string
	// ConnectTimeout bounds the TCP dial and the TLS handshake; zero means
	// DefaultConnectTimeout.
	ConnectTimeout time.Duration
	// MaxRedirects is how many redirects a download may follow; zero means
	// DefaultMaxRedirects, negative none.
	MaxRedirects int
	// UserAgent is sent unless a request sets its own; "" means DefaultUserAgent.
	UserAgent string
}

// NewHTTPClient builds a client for image downloads: TLS 1.2+ with
// verification on, proxies from the environment, bounded connection setup,
// capped redirects to http(s) only, and no transparent decompression (the
// bytes hashed must be the file's bytes, and ranges count in them). It sets
// no overall timeout: images are large, and Open bounds stalls instead.
func NewHTTPClient(o HTTPOptions) (*http.Client, error) {
	connect := o.ConnectTimeout
	if connect <= 0 {
		connect = DefaultConnectTimeout
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
	transport := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: connect, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       tlsConfig,
		TLSHandshakeTimeout:   connect,
		ExpectContinueTimeout: time.Second,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConns:          16,
		DisableCompression:    true,
		ForceAttemptHTTP2:     true,
	}
	return &http.Client{
		Transport:     httpclient.UserAgent(transport, ua),
		CheckRedirect: redirectPolicy(maxRedirects, nil),
	}, nil
}

// redirectPolicy refuses non-http(s) targets, drops credentials when a
// redirect leaves the first request's origin, then applies next (a client's
// own policy) or else caps redirects at max.
func redirectPolicy(max int, next func(*http.Request, []*http.Request) error) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if s := req.URL.Scheme; s != "http" && s != "https" {
			return &redirectError{fmt.Sprintf("redirect to a %q URL refused (http and https only)", s)}
		}
		if len(via) > 0 && httpclient.Origin(req.URL) != httpclient.Origin(via[0].URL) {
			req.Header.Del("Authorization")
		}
		if next != nil {
			err := next(req, via)
			if err != nil && err != http.ErrUseLastResponse {
				// The client's own refusal: permanent, like ours.
				return &redirectError{err.Error()}
			}
			return err
		}
		if max < 0 {
			return &redirectError{"redirect refused (redirects are disabled)"}
		}
		if len(via) > max {
			return &redirectError{fmt.Sprintf("too many redirects (limit %d)", max)}
		}
		return nil
	}
}
