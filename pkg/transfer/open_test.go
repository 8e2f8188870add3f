package transfer

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const imageSize = 256 << 10

// TestOpen runs each server behaviour through Open + io.Copy, the way an
// upload consumes the stream.
func TestOpen(t *testing.T) {
	t.Parallel()
	data, sum := testImage(imageSize)
	half := imageSize / 2
	corrupt := append([]byte(nil), data...)
	corrupt[imageSize-1] ^= 0xff

	tests := []struct {
		name    string
		handler func(w http.ResponseWriter, r *http.Request, n int)
		opts    func(*Options)
		check   func(t *testing.T, res result, s *server)
	}{
		{
			name: "good image",
			handler: func(w http.ResponseWriter, r *http.Request, _ int) {
				serveRanged(w, r, data, `"v1"`)
			},
			check: wantGood(sum, 1),
		},
		{
			name: "wrong checksum, right size",
			handler: func(w http.ResponseWriter, r *http.Request, _ int) {
				serveRanged(w, r, corrupt, `"v1"`)
			},
			check: wantVerify(CheckSHA512, imageSize),
		},
		{
			name: "truncated, resumed with Range",
			handler: func(w http.ResponseWriter, r *http.Request, n int) {
				if n == 1 {
					serveCut(w, data, half, `"v1"`)
				}
				serveRanged(w, r, data, `"v1"`)
			},
			check: func(t *testing.T, res result, s *server) {
				wantGood(sum, 2)(t, res, s)
				resume := s.allHeaders()[1]
				if got := resume.Get("Range"); got != fmt.Sprintf("bytes=%d-", half) {
					t.Errorf("resume Range = %q", got)
				}
				if got := resume.Get("If-Range"); got != `"v1"` {
					t.Errorf("resume If-Range = %q, want the first ETag", got)
				}
			},
		},
		{
			name: "truncated, server ignores Range",
			handler: func(w http.ResponseWriter, r *http.Request, n int) {
				if n == 1 {
					serveCut(w, data, half, `"v1"`)
				}
				serveIgnoringRange(w, data)
			},
			check: wantNoResume,
		},
		{
			name: "truncated, image changed before the resume",
			handler: func(w http.ResponseWriter, r *http.Request, n int) {
				if n == 1 {
					serveCut(w, data, half, `"v1"`)
				}
				serveRanged(w, r, corrupt, `"v2"`)
			},
			check: wantNoResume,
		},
		{
			name: "resume answered with the wrong range",
			handler: func(w http.ResponseWriter, r *http.Request, n int) {
				if n == 1 {
					serveCut(w, data, half, `"v1"`)
				}
				w.Header().Set("Content-Range", fmt.Sprintf("bytes 0-%d/%d", imageSize-1, imageSize))
				w.WriteHeader(http.StatusPartialContent)
				_, _ = w.Write(data)
			},
			check: wantNoResume,
		},
		{
			name: "too short, nothing more to come",
			handler: func(w http.ResponseWriter, r *http.Request, _ int) {
				w.(http.Flusher).Flush() // chunked: no Content-Length to check up front
				_, _ = w.Write(data[:half])
			},
			check: func(t *testing.T, res result, s *server) {
				ve := verifyFailed(t, res, CheckSize, int64(half))
				if ve.Observed != fmt.Sprintf("%d bytes", half) {
					t.Errorf("Observed = %q", ve.Observed)
				}
			},
		},
		{
			name: "Content-Length disagrees with the list",
			handler: func(w http.ResponseWriter, r *http.Request, _ int) {
				serveRanged(w, r, data[:half], `"v1"`)
			},
			check: func(t *testing.T, res result, s *server) {
				if res.opened {
					t.Fatal("Open succeeded; want it to refuse before reading")
				}
				ve := asVerifyError(t, res.err)
				if ve.Check != CheckSize || !strings.Contains(ve.Observed, "Content-Length") {
					t.Errorf("VerifyError = %+v", ve)
				}
			},
		},
		{
			name: "too long, endless stream",
			handler: func(w http.ResponseWriter, r *http.Request, _ int) {
				w.(http.Flusher).Flush()
				for sent := 0; sent < 1<<30; sent += len(data) {
					if _, err := w.Write(data); err != nil {
						return
					}
				}
				t.Error("the client read a whole GiB")
			},
			check: func(t *testing.T, res result, s *server) {
				ve := verifyFailed(t, res, CheckSize, imageSize)
				if ve.Observed != fmt.Sprintf("more than %d bytes", imageSize) {
					t.Errorf("Observed = %q", ve.Observed)
				}
			},
		},
		{
			name: "stalled mid-stream, resumed",
			handler: func(w http.ResponseWriter, r *http.Request, n int) {
				if n == 1 {
					serveStall(w, r, data, half, `"v1"`)
				}
				serveRanged(w, r, data, `"v1"`)
			},
			opts:  func(o *Options) { o.IdleTimeout = 200 * time.Millisecond },
			check: wantGood(sum, 2),
		},
		{
			name: "stalled every time",
			handler: func(w http.ResponseWriter, r *http.Request, _ int) {
				serveStall(w, r, data, 0, `"v1"`)
			},
			opts: func(o *Options) { o.IdleTimeout = 100 * time.Millisecond; o.Retries = 2 },
			check: func(t *testing.T, res result, s *server) {
				wantFailed(t, res)
				if !IsRetryable(res.err) || !strings.Contains(res.err.Error(), "stalled") {
					t.Errorf("err = %v; want a retryable stall", res.err)
				}
				if got := s.requests.Load(); got != 3 {
					t.Errorf("%d requests, want 1 + 2 retries", got)
				}
			},
		},
		{
			name: "500 then success",
			handler: func(w http.ResponseWriter, r *http.Request, n int) {
				if n == 1 {
					http.Error(w, "busy", http.StatusInternalServerError)
					return
				}
				serveRanged(w, r, data, `"v1"`)
			},
			check: wantGood(sum, 2),
		},
		{
			name: "500 always",
			handler: func(w http.ResponseWriter, r *http.Request, _ int) {
				http.Error(w, "broken", http.StatusInternalServerError)
			},
			check: func(t *testing.T, res result, s *server) {
				wantHTTPError(t, res, http.StatusInternalServerError, true)
				if got := s.requests.Load(); got != 4 {
					t.Errorf("%d requests, want 1 + 3 retries", got)
				}
				if !strings.Contains(res.err.Error(), "giving up after 4 attempts") {
					t.Errorf("err = %v", res.err)
				}
			},
		},
		{
			name: "500 with retries off",
			handler: func(w http.ResponseWriter, r *http.Request, _ int) {
				http.Error(w, "broken", http.StatusServiceUnavailable)
			},
			opts: func(o *Options) { o.Retries = -1 },
			check: func(t *testing.T, res result, s *server) {
				wantHTTPError(t, res, http.StatusServiceUnavailable, true)
				if got := s.requests.Load(); got != 1 {
					t.Errorf("%d requests, want 1", got)
				}
			},
		},
		{
			name: "404 is not retried",
			handler: func(w http.ResponseWriter, r *http.Request, _ int) {
				http.NotFound(w, r)
			},
			check: func(t *testing.T, res result, s *server) {
				wantHTTPError(t, res, http.StatusNotFound, false)
				if got := s.requests.Load(); got != 1 {
					t.Errorf("%d requests, want 1", got)
				}
			},
		},
		{
			name: "429 with Retry-After",
			handler: func(w http.ResponseWriter, r *http.Request, n int) {
				if n == 1 {
					w.Header().Set("Retry-After", "1")
					w.WriteHeader(http.StatusTooManyRequests)
					return
				}
				serveRanged(w, r, data, `"v1"`)
			},
			check: func(t *testing.T, res result, s *server) {
				wantGood(sum, 2)(t, res, s)
				if res.took < 900*time.Millisecond {
					t.Errorf("took %s; want the 1s Retry-After waited out", res.took)
				}
			},
		},
		{
			name: "slow but steady",
			handler: func(w http.ResponseWriter, r *http.Request, _ int) {
				w.Header().Set("Content-Length", itoa(len(data)))
				for chunk := range 8 {
					_, _ = w.Write(data[chunk*len(data)/8 : (chunk+1)*len(data)/8])
					w.(http.Flusher).Flush()
					time.Sleep(40 * time.Millisecond)
				}
			},
			opts:  func(o *Options) { o.IdleTimeout = 150 * time.Millisecond },
			check: wantGood(sum, 1),
		},
		{
			name: "redirect loop",
			handler: func(w http.ResponseWriter, r *http.Request, _ int) {
				http.Redirect(w, r, r.URL.Path, http.StatusFound)
			},
			check: func(t *testing.T, res result, s *server) {
				wantFailed(t, res)
				if !strings.Contains(res.err.Error(), "too many redirects") || IsRetryable(res.err) {
					t.Errorf("err = %v; want a final redirect error", res.err)
				}
				if got := s.requests.Load(); got != DefaultMaxRedirects+1 {
					t.Errorf("%d requests, want %d (no retry)", got, DefaultMaxRedirects+1)
				}
			},
		},
		{
			name: "redirect to another scheme",
			handler: func(w http.ResponseWriter, r *http.Request, _ int) {
				http.Redirect(w, r, "file:///etc/passwd", http.StatusFound)
			},
			check: func(t *testing.T, res result, s *server) {
				wantFailed(t, res)
				if !strings.Contains(res.err.Error(), `redirect to a "file" URL refused`) {
					t.Errorf("err = %v", res.err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, tt.handler)
			opts := fastOptions()
			var last, calls atomic.Int64
			opts.OnProgress = func(done, total int64) {
				if total != imageSize || done < last.Load() {
					t.Errorf("OnProgress(%d, %d) after %d", done, total, last.Load())
				}
				last.Store(done)
				calls.Add(1)
			}
			if tt.opts != nil {
				tt.opts(&opts)
			}
			res := fetch(t.Context(), Source{URL: s.URL + "/img", Size: imageSize, SHA512: sum, Name: "image 7 (Test)"}, opts)
			if res.took > 5*time.Second {
				t.Errorf("took %s", res.took)
			}
			tt.check(t, res, s)
			if res.err == nil && last.Load() != imageSize {
				t.Errorf("OnProgress ended at %d, want %d", last.Load(), imageSize)
			}
		})
	}
}

func wantGood(sum string, requests int32) func(*testing.T, result, *server) {
	return func(t *testing.T, res result, s *server) {
		t.Helper()
		if res.err != nil || !res.sawEOF {
			t.Fatalf("err = %v, sawEOF = %v; want success", res.err, res.sawEOF)
		}
		if res.n != imageSize || res.sum != sum {
			t.Errorf("got %d bytes with sha512 %.16s…, want %d, %.16s…", res.n, res.sum, imageSize, sum)
		}
		if got := s.requests.Load(); got != requests {
			t.Errorf("%d requests, want %d", got, requests)
		}
	}
}

func wantVerify(check string, maxBytes int64) func(*testing.T, result, *server) {
	return func(t *testing.T, res result, _ *server) {
		t.Helper()
		verifyFailed(t, res, check, maxBytes)
	}
}

// verifyFailed checks for a *VerifyError and that the consumer never got
// more than maxBytes.
func verifyFailed(t *testing.T, res result, check string, maxBytes int64) *VerifyError {
	t.Helper()
	wantFailed(t, res)
	ve := asVerifyError(t, res.err)
	if ve.Check != check || ve.Name != "image 7 (Test)" {
		t.Errorf("VerifyError = %+v, want check %s", ve, check)
	}
	if res.n > maxBytes {
		t.Errorf("consumer got %d bytes, more than %d", res.n, maxBytes)
	}
	return ve
}

func wantNoResume(t *testing.T, res result, _ *server) {
	t.Helper()
	wantFailed(t, res)
	if !errors.Is(res.err, ErrRangeUnsupported) || !IsRetryable(res.err) {
		t.Errorf("err = %v; want ErrRangeUnsupported, retryable", res.err)
	}
}

func wantHTTPError(t *testing.T, res result, status int, retryable bool) *HTTPError {
	t.Helper()
	wantFailed(t, res)
	var he *HTTPError
	if !errors.As(res.err, &he) {
		t.Fatalf("err = %v (%T), want an *HTTPError", res.err, res.err)
	}
	if he.Status != status || he.Retryable != retryable || IsRetryable(res.err) != retryable {
		t.Errorf("HTTPError = %+v, want status %d retryable %v", he, status, retryable)
	}
	return he
}

// wantFailed checks the core promise: no clean end on a failed download.
func wantFailed(t *testing.T, res result) {
	t.Helper()
	if res.err == nil {
		t.Fatal("download succeeded; want an error")
	}
	if res.sawEOF {
		t.Error("the stream returned io.EOF on a failed download")
	}
}

// A consumer slower than IdleTimeout (Glance busy) is not a stalled server:
// the watchdog only runs while a Read waits on the network.
func TestSlowConsumerIsNotAStall(t *testing.T) {
	t.Parallel()
	data, sum := testImage(imageSize)
	s := newServer(t, func(w http.ResponseWriter, r *http.Request, _ int) { serveRanged(w, r, data, `"e"`) })
	opts := fastOptions()
	opts.IdleTimeout = 50 * time.Millisecond
	rc, err := Open(t.Context(), Source{URL: s.URL, Size: imageSize, SHA512: sum}, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if _, err := rc.Read(make([]byte, 1000)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if _, err := io.Copy(io.Discard, rc); err != nil {
		t.Fatal(err)
	}
	if got := s.requests.Load(); got != 1 {
		t.Errorf("%d requests, want 1 (no resume)", got)
	}
}
