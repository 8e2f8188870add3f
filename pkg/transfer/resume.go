package transfer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ck-sync/ck/pkg/httpclient"
)

// stream is the raw, resuming byte stream of one image; Open puts a
// Verifier on top. It is not safe for concurrent Reads.
type stream struct {
	ctx    context.Context // the caller's, bounded by ImageTimeout
	cancel context.CancelFunc
	client *http.Client

	url    *url.URL      // the image, without userinfo
	user   *url.Userinfo // sent as Basic auth, to url's origin only
	origin string
	safe   string // url for messages
	scrub  func(string) string
	name   string
	size   int64

	retries    int
	backoff    func(int) time.Duration
	idle       time.Duration
	onProgress func(done, total int64)

	// From the first successful response, for resuming: where the
	// redirects led (mirrors differ in validators), and its ETag or
	// Last-Modified for If-Range.
	resumeURL *url.URL
	validator string

	// The current attempt.
	body     io.ReadCloser
	stop     context.CancelCauseFunc // ends the attempt's context
	attempt  context.Context
	watchdog *time.Timer // fires stop(stallError) after idle without data

	offset   int64 // bytes handed on
	used     int   // retries used
	attempts int
	cut      error // why the last attempt ended early, to resume on the next Read
	err      error // sticky: io.EOF or the final error
}

// Read implements io.Reader. A cut or stalled attempt is resumed on the
// next call; bytes already received are returned first.
func (s *stream) Read(p []byte) (int, error) {
	for s.err == nil {
		if s.body == nil {
			if err := s.connect(s.cut); err != nil {
				s.finish(s.fail(err))
				break
			}
		}
		n, err := s.readBody(p)
		if n > 0 {
			s.offset += int64(n)
			if s.onProgress != nil {
				s.onProgress(s.offset, s.size)
			}
		}
		switch {
		case err == nil:
			return n, nil
		case err == io.EOF:
			// The server ended the body where it said it would (net/http
			// reports a short Content-Length or an unterminated chunked
			// body as io.ErrUnexpectedEOF): the Verifier judges the rest.
			s.finish(io.EOF)
			return n, io.EOF
		}
		s.cut = s.attemptError(s.attempt, err)
		s.endAttempt()
		if n > 0 {
			return n, nil
		}
	}
	return 0, s.err
}

// readBody reads with the stall watchdog armed only while waiting on the
// network, so a slow consumer is not mistaken for a stalled server.
func (s *stream) readBody(p []byte) (int, error) {
	if s.watchdog == nil {
		return s.body.Read(p)
	}
	s.watchdog.Reset(s.idle)
	n, err := s.body.Read(p)
	s.watchdog.Stop()
	return n, err
}

// connect makes attempts until one yields a usable body; cause is why the
// previous attempt failed (nil for the first). Each retry, initial or
// resume, uses up one of the Retries.
func (s *stream) connect(cause error) error {
	for {
		if cause != nil {
			if !transient(cause) {
				return cause
			}
			if s.used >= s.retries {
				if s.attempts > 1 {
					return fmt.Errorf("giving up after %d attempts: %w", s.attempts, cause)
				}
				return cause
			}
			s.used++
			if err := sleep(s.ctx, s.waitFor(s.used, cause)); err != nil {
				return err
			}
		}
		cause = s.request()
		if cause == nil {
			return nil
		}
	}
}

// request makes one attempt from the current offset: a plain GET at first,
// a Range request once bytes have been handed on.
func (s *stream) request() error {
	s.attempts++
	ctx, stop := context.WithCancelCause(s.ctx)
	target := s.url
	if s.offset > 0 {
		target = s.resumeURL
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target.String(), nil)
	if err != nil {
		stop(nil)
		return fmt.Errorf("GET %s: %w", s.safe, err)
	}
	// Ranges and digests are about the file's own bytes, not an encoding of them.
	req.Header.Set("Accept-Encoding", "identity")
	if s.user != nil && httpclient.Origin(target) == s.origin {
		pw, _ := s.user.Password()
		req.SetBasicAuth(s.user.Username(), pw)
	}
	if s.offset > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(s.offset, 10)+"-")
		if s.validator != "" {
			req.Header.Set("If-Range", s.validator)
		}
	}
	s.attempt, s.stop = ctx, stop
	if s.idle > 0 {
		s.watchdog = time.AfterFunc(s.idle, func() { stop(stallError{s.idle}) })
	}
	resp, err := s.client.Do(req)
	if s.watchdog != nil {
		s.watchdog.Stop()
	}
	if err != nil {
		err = s.attemptError(ctx, err)
		s.endAttempt()
		return err
	}
	s.body = resp.Body
	if err := s.accept(resp); err != nil {
		s.endAttempt()
		return err
	}
	return nil
}

// accept checks that resp carries the image from the current offset.
func (s *stream) accept(resp *http.Response) error {
	if s.offset == 0 {
		if resp.StatusCode != http.StatusOK {
			return s.httpError(resp)
		}
		if resp.ContentLength >= 0 && resp.ContentLength != s.size {
			return &VerifyError{Check: CheckSize, Name: s.name,
				Observed: fmt.Sprintf("Content-Length %d", resp.ContentLength), Expected: bytesText(s.size)}
		}
		s.resumeURL = stripUser(resp.Request.URL)
		s.validator = validator(resp.Header)
		return nil
	}
	switch resp.StatusCode {
	case http.StatusPartialContent:
		start, end, total, ok := parseContentRange(resp.Header.Get("Content-Range"))
		if !ok || start != s.offset || end != s.size-1 || (total >= 0 && total != s.size) {
			return fmt.Errorf("GET %s: resume from byte %d: unexpected Content-Range %q: %w",
				s.safe, s.offset, resp.Header.Get("Content-Range"), ErrRangeUnsupported)
		}
		return nil
	case http.StatusOK:
		return fmt.Errorf("GET %s: resume from byte %d: answered 200 with the whole image: %w",
			s.safe, s.offset, ErrRangeUnsupported)
	}
	return s.httpError(resp)
}

func (s *stream) httpError(resp *http.Response) *HTTPError {
	e := &HTTPError{URL: s.safe, Status: resp.StatusCode, Retryable: retryableStatus(resp.StatusCode)}
	if e.Retryable {
		e.retryAfter = retryAfter(resp.Header, time.Now())
	}
	return e
}

// validator picks the If-Range value: a strong ETag, else Last-Modified.
// A weak ETag may not be used with If-Range (RFC 9110 §13.1.5).
func validator(h http.Header) string {
	if etag := h.Get("ETag"); etag != "" && !strings.HasPrefix(etag, "W/") {
		return etag
	}
	return h.Get("Last-Modified")
}

// parseContentRange reads "bytes first-last/total", total -1 for "*".
func parseContentRange(v string) (first, last, total int64, ok bool) {
	spec, found := strings.CutPrefix(v, "bytes ")
	if !found {
		return 0, 0, 0, false
	}
	rng, size, found := strings.Cut(spec, "/")
	if !found {
		return 0, 0, 0, false
	}
	a, b, found := strings.Cut(rng, "-")
	if !found {
		return 0, 0, 0, false
	}
	first, err1 := strconv.ParseInt(a, 10, 64)
	last, err2 := strconv.ParseInt(b, 10, 64)
	if err1 != nil || err2 != nil || first < 0 || last < first {
		return 0, 0, 0, false
	}
	total = -1
	if size != "*" {
		t, err := strconv.ParseInt(size, 10, 64)
		if err != nil || t <= last {
			return 0, 0, 0, false
		}
		total = t
	}
	return first, last, total, true
}

// endAttempt closes the current attempt's body and context.
func (s *stream) endAttempt() {
	if s.watchdog != nil {
		s.watchdog.Stop()
		s.watchdog = nil
	}
	if s.body != nil {
		s.body.Close()
		s.body = nil
	}
	if s.stop != nil {
		s.stop(nil)
		s.stop, s.attempt = nil, nil
	}
}

// finish ends the stream with err, which every later Read returns.
func (s *stream) finish(err error) {
	s.endAttempt()
	s.cancel()
	s.err = err
}

// errClosed is what Reads return after Close.
var errClosed = errors.New("transfer: read after Close")

// Close implements io.Closer.
func (s *stream) Close() error {
	if s.err == nil {
		s.finish(errClosed)
	}
	return nil
}
