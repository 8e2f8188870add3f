package transfer

import (
	"bytes"
	"context"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// testImage returns n reproducible pseudo-random bytes and their sha512.
func testImage(n int) ([]byte, string) {
	data := make([]byte, n)
	r := rand.NewChaCha8([32]byte{'c', 'k'})
	_, _ = r.Read(data)
	sum := sha512.Sum512(data)
	return data, hex.EncodeToString(sum[:])
}

// noBackoff keeps retry tests fast.
func noBackoff(int) time.Duration { return 0 }

// fastOptions are test options: no backoff, a short stall limit.
func fastOptions() Options {
	return Options{Retries: 3, Backoff: noBackoff, IdleTimeout: 2 * time.Second}
}

// eofSpy records whether a reader ever returned io.EOF.
type eofSpy struct {
	r      io.Reader
	sawEOF bool
}

func (s *eofSpy) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err == io.EOF {
		s.sawEOF = true
	}
	return n, err
}

// result is what one download did.
type result struct {
	n      int64 // bytes the consumer received
	sum    string
	sawEOF bool
	err    error // from Open or from the copy
	opened bool
	took   time.Duration
}

// fetch runs Open + io.Copy the way an upload consumes the stream.
func fetch(ctx context.Context, src Source, opts Options) (res result) {
	start := time.Now()
	defer func() { res.took = time.Since(start) }()
	rc, err := Open(ctx, src, opts)
	if err != nil {
		return result{err: err}
	}
	defer rc.Close()
	spy := &eofSpy{r: rc}
	h := sha512.New()
	n, err := io.Copy(h, spy)
	return result{n: n, sum: hex.EncodeToString(h.Sum(nil)), sawEOF: spy.sawEOF, err: err, opened: true}
}

// server is an httptest server that counts requests and keeps their headers.
type server struct {
	*httptest.Server
	requests atomic.Int32
	headers  chan http.Header
}

// newServer serves h; h gets the 1-based number of the request.
func newServer(t testing.TB, h func(w http.ResponseWriter, r *http.Request, n int)) *server {
	t.Helper()
	s := &server{headers: make(chan http.Header, 64)}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(s.requests.Add(1))
		select {
		case s.headers <- r.Header.Clone():
		default:
		}
		h(w, r, n)
	}))
	t.Cleanup(s.Close)
	return s
}

// allHeaders drains the recorded request headers.
func (s *server) allHeaders() []http.Header {
	var hs []http.Header
	for {
		select {
		case h := <-s.headers:
			hs = append(hs, h)
		default:
			return hs
		}
	}
}

var modTime = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// serveRanged answers like a real file server: 200, or 206 for a Range,
// honouring If-Range against etag.
func serveRanged(w http.ResponseWriter, r *http.Request, data []byte, etag string) {
	w.Header().Set("ETag", etag)
	http.ServeContent(w, r, "image.img", modTime, bytes.NewReader(data))
}

// serveIgnoringRange always sends the whole image with 200.
func serveIgnoringRange(w http.ResponseWriter, data []byte) {
	w.Header().Set("Content-Length", itoa(len(data)))
	_, _ = w.Write(data)
}

// serveCut declares the full length, sends data[:cut] and drops the connection.
func serveCut(w http.ResponseWriter, data []byte, cut int, etag string) {
	w.Header().Set("ETag", etag)
	w.Header().Set("Content-Length", itoa(len(data)))
	_, _ = w.Write(data[:cut])
	w.(http.Flusher).Flush()
	panic(http.ErrAbortHandler)
}

// serveStall declares the full length, sends data[:cut], then sends nothing
// until the client goes away.
func serveStall(w http.ResponseWriter, r *http.Request, data []byte, cut int, etag string) {
	w.Header().Set("ETag", etag)
	w.Header().Set("Content-Length", itoa(len(data)))
	_, _ = w.Write(data[:cut])
	w.(http.Flusher).Flush()
	select {
	case <-r.Context().Done():
	case <-time.After(10 * time.Second):
	}
	panic(http.ErrAbortHandler)
}

func asVerifyError(t *testing.T, err error) *VerifyError {
	t.Helper()
	var ve *VerifyError
	if !errors.As(err, &ve) {
		t.Fatalf("error = %v (%T), want a *VerifyError", err, err)
	}
	return ve
}

func itoa(n int) string { return strconv.Itoa(n) }
