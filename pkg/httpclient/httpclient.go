// Package httpclient holds what ck's two HTTP clients share — the one that
// fetches lists (pkg/imagelist) and the one that downloads images
// (pkg/transfer): extra trust anchors, origins for redirect checks, and the
// User-Agent. Their policies (timeouts, redirects, compression) differ on
// purpose and stay with them.
package httpclient

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
)

// CertPool returns the system pool plus the PEM certificates in file
// (--extra-ca-file).
func CertPool(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("extra CA file: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool() // no system pool, e.g. a scratch container
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("extra CA file %s: no PEM certificate found", file)
	}
	return pool, nil
}

// Origin renders scheme://host:port with the default port made explicit,
// so that credentials are only ever sent back to where they were meant for.
func Origin(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	return u.Scheme + "://" + strings.ToLower(u.Hostname()) + ":" + port
}

// UserAgent wraps base so that requests without a User-Agent get ua.
func UserAgent(base *http.Transport, ua string) http.RoundTripper {
	return &userAgentTransport{base: base, userAgent: ua}
}

type userAgentTransport struct {
	base      *http.Transport
	userAgent string
}

// RoundTrip implements http.RoundTripper.
func (t *userAgentTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Header.Get("User-Agent") == "" {
		r = r.Clone(r.Context()) // a RoundTripper must not modify the caller's request
		r.Header.Set("User-Agent", t.userAgent)
	}
	return t.base.RoundTrip(r)
}

// CloseIdleConnections lets http.Client.CloseIdleConnections reach the transport.
func (t *userAgentTransport) CloseIdleConnections() { t.base.CloseIdleConnections() }

// Transport returns the *http.Transport under a UserAgent wrapper (or rt
// itself), for code that must read its settings.
func Transport(rt http.RoundTripper) *http.Transport {
	if t, ok := rt.(*userAgentTransport); ok {
		return t.base
	}
	t, _ := rt.(*http.Transport)
	return t
}

// TLSConfig is the TLS setting both clients use: TLS 1.2 or later,
// verification on, the system pool plus extraCAFile when given.
func TLSConfig(extraCAFile string) (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	if extraCAFile != "" {
		pool, err := CertPool(extraCAFile)
		if err != nil {
			return nil, err
		}
		c.RootCAs = pool
	}
	return c, nil
}
