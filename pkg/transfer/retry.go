package transfer

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Backoff limits.
const (
	backoffBase = time.Second
	backoffCap  = 30 * time.Second
	// maxRetryAfter is the longest Retry-After ck waits out; a server asking
	// for more is treated as down for this run.
	maxRetryAfter = 5 * time.Minute
)

// DefaultBackoff waits about 1s, 2s, 4s… before retry attempt 1, 2, 3…,
// capped at 30s, with jitter so that many downloads do not retry in step.
func DefaultBackoff(attempt int) time.Duration {
	d := backoffCap
	if attempt < 6 { // 2^5 s > cap
		d = min(backoffBase<<max(attempt-1, 0), backoffCap)
	}
	// Uniform in [d/2, d].
	return d/2 + rand.N(d/2+1)
}

// retryableStatus reports whether the same request may succeed later.
func retryableStatus(code int) bool {
	switch code {
	case http.StatusRequestTimeout, http.StatusTooManyRequests:
		return true
	case http.StatusNotImplemented, http.StatusHTTPVersionNotSupported:
		return false
	}
	return code >= 500 && code <= 599
}

// retryAfter reads a Retry-After header: delay-seconds or an HTTP date.
func retryAfter(h http.Header, now time.Time) time.Duration {
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		return time.Duration(min(secs, int64(24*time.Hour/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// sleep waits d, or less if ctx ends first.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// transient reports whether err from a single attempt may be retried.
func transient(err error) bool {
	var he *HTTPError
	if errors.As(err, &he) {
		return he.Retryable && he.retryAfter <= maxRetryAfter
	}
	var ce *connError
	return errors.As(err, &ce)
}

// waitFor is how long to wait before retry attempt n after err.
func (s *stream) waitFor(n int, err error) time.Duration {
	d := s.backoff(n)
	var he *HTTPError
	if errors.As(err, &he) && he.retryAfter > d {
		d = he.retryAfter
	}
	return d
}

// attemptError classifies a transport error of one attempt whose context
// was attempt. The caller's cancellation is final; a stall, a broken
// connection or a timeout is a connError, worth another attempt; a refused
// redirect, an untrusted certificate or an unknown host is final too.
func (s *stream) attemptError(attempt context.Context, err error) error {
	if s.ctx.Err() != nil {
		return context.Cause(s.ctx)
	}
	if cause := context.Cause(attempt); cause != nil && errors.As(cause, new(stallError)) {
		return &connError{URL: s.safe, Err: cause}
	}
	// url.Error repeats the URL, with the user name (an AppDB token) in it.
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var dns *net.DNSError
	if errors.As(err, new(*redirectError)) || certificateError(err) ||
		(errors.As(err, &dns) && dns.IsNotFound) {
		return fmt.Errorf("GET %s: %w", s.safe, err)
	}
	return &connError{URL: s.safe, Err: err}
}

// certificateError reports whether err is a failed TLS verification, which
// no retry will fix.
func certificateError(err error) bool {
	return errors.As(err, new(*tls.CertificateVerificationError)) ||
		errors.As(err, new(x509.UnknownAuthorityError)) ||
		errors.As(err, new(x509.HostnameError)) ||
		errors.As(err, new(x509.CertificateInvalidError))
}
