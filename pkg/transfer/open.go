// Package transfer downloads images as verified streams. The bytes flow
// from the HTTP response to the caller in one pass, counted and hashed on
// the way, with no buffering beyond the caller's own buffer and no
// temporary file; a download cut or stalled mid-stream is resumed with a
// Range request; and the stream never ends cleanly unless it was exactly the
// declared image, so a consumer such as an upload fails instead of
// completing on bad bytes.
//
// The package is a leaf: it knows nothing of Glance, of image lists or of
// the command line.
package transfer

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/ck-sync/ck/pkg/httpclient"
)

// Defaults for Options fields left at zero.
const (
	DefaultRetries     = 3
	DefaultIdleTimeout = 60 * time.Second
)

// Source is one image to fetch, as its list declares it.
type Source struct {
	URL    string // hv:uri, http or https; its credentials are sent as Basic auth and never printed
	Size   int64  // hv:size
	SHA512 string // sl:checksum:sha512, hex; "" when Digest is set
	// Digest, when SHA512 is "", is what the bytes must hash to instead: a
	// registry blob's "sha256:<hex>". The sha512 of the same bytes is
	// computed on the same pass (SumOf(CheckSHA512)), for the check of
	// Glance's os_hash_value.
	Digest string
	Name   string // for messages, e.g. "image <id> (<title>)"; "" means the redacted URL
}

// verifier returns the verifier src asks for, over r.
func (src Source) verifier(r io.Reader) (*Verifier, error) {
	if src.SHA512 != "" {
		return NewVerifier(r, src.Size, src.SHA512), nil
	}
	alg, sum, _ := strings.Cut(src.Digest, ":")
	return NewDigestVerifier(r, src.Size, Digest{Algorithm: alg, Hex: sum}, CheckSHA512)
}

// Options tune Open. The zero value is usable.
type Options struct {
	// Client makes the requests; nil means NewHTTPClient(HTTPOptions{}).
	// Open adds its redirect guard to a copy and never changes the caller's.
	Client *http.Client
	// Retries is how many attempts may follow the first, over the whole
	// image (initial request and resumes together): zero means
	// DefaultRetries, negative none.
	Retries int
	// Backoff is the wait before retry attempt n (1, 2, …); nil means
	// DefaultBackoff. A Retry-After header may lengthen it.
	Backoff func(attempt int) time.Duration
	// IdleTimeout fails an attempt that receives nothing for this long,
	// headers included: zero means DefaultIdleTimeout, negative none.
	// Time the caller spends between Reads does not count.
	IdleTimeout time.Duration
	// ImageTimeout bounds the whole image; zero means only ctx does.
	ImageTimeout time.Duration
	// OnProgress, if set, is called from the reading goroutine after each
	// read that delivered bytes, with the bytes so far and the declared size.
	OnProgress func(done, total int64)
}

var (
	sha512Hex    = regexp.MustCompile(`^[0-9a-fA-F]{128}$`)
	sha256Digest = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
)

// Open starts downloading src and returns its bytes as a stream that is
// hashed and counted as it is read, resumed with Range requests when cut or
// stalled, and whose final Read returns io.EOF only if exactly src.Size
// bytes with the declared sha512 went through; otherwise it returns a
// *VerifyError (as soon as the size is exceeded, for an over-long stream).
// The initial request is retried on connection errors, 5xx, 408 and 429.
// A Content-Length that disagrees with src.Size fails Open before any byte
// is read. Close the stream to release the connection.
func Open(ctx context.Context, src Source, opts Options) (io.ReadCloser, error) {
	s, err := newStream(ctx, src, opts)
	if err != nil {
		return nil, err
	}
	if err := s.connect(nil); err != nil {
		s.Close()
		return nil, s.fail(err)
	}
	v, err := src.verifier(s)
	if err != nil {
		s.Close()
		return nil, s.fail(err)
	}
	v.Name = s.name
	return &download{Verifier: v, stream: s}, nil
}

// download is what Open returns: the verifier on top of the resuming stream.
type download struct {
	*Verifier
	stream *stream
}

// Close releases the connection; later Reads fail.
func (d *download) Close() error { return d.stream.Close() }

// newStream checks src and fills in the defaults.
func newStream(ctx context.Context, src Source, opts Options) (*stream, error) {
	u, err := url.Parse(src.URL)
	if err != nil {
		// url.Error quotes the input, credentials included.
		name := src.Name
		if name == "" {
			name = "image"
		}
		return nil, fmt.Errorf("download %s: invalid URL", name)
	}
	s := &stream{
		url:        stripUser(u),
		user:       u.User,
		safe:       safeURL(u),
		scrub:      scrubber(u),
		name:       src.Name,
		size:       src.Size,
		retries:    opts.Retries,
		backoff:    opts.Backoff,
		idle:       opts.IdleTimeout,
		onProgress: opts.OnProgress,
	}
	if s.name == "" {
		s.name = s.safe
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, s.fail(fmt.Errorf("unsupported URL scheme %q (http and https only)", u.Scheme))
	case u.Host == "":
		return nil, s.fail(fmt.Errorf("URL %s has no host", s.safe))
	case src.Size < 0:
		return nil, s.fail(fmt.Errorf("negative size %d", src.Size))
	case src.SHA512 == "" && !sha256Digest.MatchString(src.Digest):
		return nil, s.fail(fmt.Errorf("no sha512, and digest %q is not sha256:<64 hex digits>", src.Digest))
	case src.SHA512 != "" && !sha512Hex.MatchString(src.SHA512):
		return nil, s.fail(fmt.Errorf("sha512 %q is not 128 hex digits", src.SHA512))
	}
	if s.retries == 0 {
		s.retries = DefaultRetries
	}
	if s.backoff == nil {
		s.backoff = DefaultBackoff
	}
	if s.idle == 0 {
		s.idle = DefaultIdleTimeout
	}
	client := opts.Client
	if client == nil {
		if client, err = NewHTTPClient(HTTPOptions{}); err != nil {
			return nil, s.fail(err)
		}
	}
	// A copy, so the guard holds whatever client came in without changing it.
	c := *client
	c.CheckRedirect = redirectPolicy(DefaultMaxRedirects, client.CheckRedirect)
	s.client = &c
	s.origin = httpclient.Origin(s.url)
	s.resumeURL = s.url
	if opts.ImageTimeout > 0 {
		s.ctx, s.cancel = context.WithTimeoutCause(ctx, opts.ImageTimeout,
			fmt.Errorf("image timeout of %s exceeded: %w", opts.ImageTimeout, context.DeadlineExceeded))
	} else {
		s.ctx, s.cancel = context.WithCancel(ctx)
	}
	return s, nil
}

// stripUser returns u without userinfo: a URL with credentials must never
// reach net/http, whose errors would print the user name.
func stripUser(u *url.URL) *url.URL {
	c := *u
	c.User = nil
	return &c
}

// fail wraps err with the image as subject and scrubs the secrets. A
// *VerifyError already names the image and goes out as is.
func (s *stream) fail(err error) error {
	if _, ok := err.(*VerifyError); ok || err == io.EOF {
		return err
	}
	return &downloadError{subject: s.name, err: err, scrub: s.scrub}
}
