package transfer

import (
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Credentials in the URL (AppDB's TOKEN:x-oauth-basic, a signed query)
// reach the server as Basic auth and never appear in any error text.
func TestCredentialsNeverPrinted(t *testing.T) {
	t.Parallel()
	data, sum := testImage(64 << 10)
	const user, pass, sig = "tok3n-SECRET", "pa55-SECRET", "sig=QUERY-SECRET"
	withCreds := func(base string) string {
		u, _ := url.Parse(base + "/img?" + sig)
		u.User = url.UserPassword(user, pass)
		return u.String()
	}
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()

	tests := []struct {
		name    string
		handler func(w http.ResponseWriter, r *http.Request, n int)
		url     func(s *server) string
		sum     string
		opts    func(*Options)
	}{
		{name: "404", handler: func(w http.ResponseWriter, r *http.Request, _ int) { http.NotFound(w, r) }},
		{name: "500 always", handler: func(w http.ResponseWriter, r *http.Request, _ int) {
			http.Error(w, "x", http.StatusBadGateway)
		}},
		{name: "connection refused", url: func(*server) string { return withCreds(closed.URL) }},
		{name: "redirect loop", handler: func(w http.ResponseWriter, r *http.Request, _ int) {
			http.Redirect(w, r, r.URL.String(), http.StatusFound)
		}},
		{name: "stall", opts: func(o *Options) { o.IdleTimeout = 50 * time.Millisecond; o.Retries = 1 },
			handler: func(w http.ResponseWriter, r *http.Request, _ int) { serveStall(w, r, data, 10, `"e"`) }},
		{name: "no resume", handler: func(w http.ResponseWriter, r *http.Request, n int) {
			if n == 1 {
				serveCut(w, data, 1000, `"e"`)
			}
			serveIgnoringRange(w, data)
		}},
		{name: "checksum", sum: strings.Repeat("0", 128),
			handler: func(w http.ResponseWriter, r *http.Request, _ int) { serveRanged(w, r, data, `"e"`) }},
		{name: "bad scheme", url: func(*server) string { return "ftp://" + user + ":" + pass + "@host/x?" + sig }},
		{name: "unparsable URL", url: func(*server) string { return "http://" + user + ":" + pass + "@host:port/x?" + sig }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var s *server
			if tt.handler != nil {
				s = newServer(t, tt.handler)
			}
			src := Source{Size: int64(len(data)), SHA512: sum}
			if tt.url != nil {
				src.URL = tt.url(s)
			} else {
				src.URL = withCreds(s.URL)
			}
			if tt.sum != "" {
				src.SHA512 = tt.sum
			}
			opts := fastOptions()
			if tt.opts != nil {
				tt.opts(&opts)
			}
			res := fetch(t.Context(), src, opts)
			wantFailed(t, res)
			for _, text := range []string{res.err.Error(), fmt.Sprintf("%+v", res.err), fmt.Sprintf("%#v", res.err)} {
				if strings.Contains(text, "SECRET") {
					t.Errorf("error text leaks a credential: %s", text)
				}
			}
			var he *HTTPError
			if errors.As(res.err, &he) && strings.Contains(he.URL, "SECRET") {
				t.Errorf("HTTPError.URL leaks a credential: %s", he.URL)
			}
			if s != nil && tt.name == "404" {
				h := s.allHeaders()[0]
				r := &http.Request{Header: h}
				if u, p, ok := r.BasicAuth(); !ok || u != user || p != pass {
					t.Errorf("Basic auth = %q:%q, want the URL's credentials", u, p)
				}
			}
		})
	}
}

// Credentials go to the list's own origin only, not where a redirect leads.
func TestCredentialsNotForwardedAcrossOrigins(t *testing.T) {
	t.Parallel()
	data, sum := testImage(1000)
	mirror := newServer(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		if _, _, ok := r.BasicAuth(); ok {
			t.Error("the mirror received the credentials")
		}
		serveRanged(w, r, data, `"m"`)
	})
	front := newServer(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		http.Redirect(w, r, mirror.URL+"/img", http.StatusFound)
	})
	u, _ := url.Parse(front.URL + "/img")
	u.User = url.UserPassword("token", "x-oauth-basic")
	if res := fetch(t.Context(), Source{URL: u.String(), Size: 1000, SHA512: sum}, fastOptions()); res.err != nil {
		t.Fatal(res.err)
	}
}

// Cancelling the context while a Read waits on the network ends it promptly.
func TestContextCancelMidStream(t *testing.T) {
	t.Parallel()
	data, sum := testImage(imageSize)
	s := newServer(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		serveStall(w, r, data, 1000, `"e"`)
	})
	ctx, cancel := context.WithCancel(t.Context())
	opts := fastOptions()
	opts.IdleTimeout = 10 * time.Second
	var cancelled time.Time
	opts.OnProgress = func(done, _ int64) {
		if cancelled.IsZero() {
			cancelled = time.Now().Add(100 * time.Millisecond)
			time.AfterFunc(100*time.Millisecond, cancel)
		}
	}
	res := fetch(ctx, Source{URL: s.URL, Size: imageSize, SHA512: sum}, opts)
	wantFailed(t, res)
	if !errors.Is(res.err, context.Canceled) || IsRetryable(res.err) {
		t.Errorf("err = %v; want context.Canceled, not retryable", res.err)
	}
	if late := time.Since(cancelled); late > time.Second {
		t.Errorf("Read returned %s after the cancel", late)
	}
	if got := s.requests.Load(); got != 1 {
		t.Errorf("%d requests after a cancel, want 1", got)
	}
}

func TestImageTimeout(t *testing.T) {
	t.Parallel()
	data, sum := testImage(imageSize)
	s := newServer(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		serveStall(w, r, data, 1000, `"e"`)
	})
	opts := fastOptions()
	opts.IdleTimeout = 10 * time.Second
	opts.ImageTimeout = 150 * time.Millisecond
	res := fetch(t.Context(), Source{URL: s.URL, Size: imageSize, SHA512: sum}, opts)
	wantFailed(t, res)
	if !errors.Is(res.err, context.DeadlineExceeded) || !strings.Contains(res.err.Error(), "image timeout") {
		t.Errorf("err = %v; want the image timeout", res.err)
	}
	if res.took > 2*time.Second {
		t.Errorf("took %s", res.took)
	}
}

// Close mid-stream releases the connection; later Reads fail, never EOF.
func TestCloseMidStream(t *testing.T) {
	t.Parallel()
	data, sum := testImage(imageSize)
	s := newServer(t, func(w http.ResponseWriter, r *http.Request, _ int) { serveRanged(w, r, data, `"e"`) })
	rc, err := Open(t.Context(), Source{URL: s.URL, Size: imageSize, SHA512: sum}, fastOptions())
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1000)
	if _, err := rc.Read(buf); err != nil {
		t.Fatal(err)
	}
	if err := rc.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := rc.Read(buf); err == nil || err == io.EOF {
		t.Fatalf("Read after Close = %v, want an error", err)
	}
}

func TestOpenRefusesBadSources(t *testing.T) {
	_, sum := testImage(0)
	tests := []struct {
		name string
		src  Source
		want string
	}{
		{"scheme", Source{URL: "file:///etc/passwd", SHA512: sum}, `unsupported URL scheme "file"`},
		{"no host", Source{URL: "http:///x", SHA512: sum}, "has no host"},
		{"negative size", Source{URL: "http://h/x", Size: -1, SHA512: sum}, "negative size"},
		{"short digest", Source{URL: "http://h/x", SHA512: "abc"}, "not 128 hex digits"},
		{"no digest", Source{URL: "http://h/x"}, "no sha512, and digest \"\" is not sha256"},
		{"bad sha256 digest", Source{URL: "http://h/x", Digest: "sha256:abc"}, "is not sha256:<64 hex digits>"},
		{"sha512 as a digest", Source{URL: "http://h/x", Digest: "sha512:" + sum}, "is not sha256:<64 hex digits>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Open(t.Context(), tt.src, fastOptions())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

// TLS verification is on; ExtraCAFile adds a site CA; an untrusted
// certificate is final, not retried.
func TestTLS(t *testing.T) {
	t.Parallel()
	data, sum := testImage(1000)
	agents := make(chan string, 1)
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		agents <- r.UserAgent()
		serveRanged(w, r, data, `"e"`)
	}))
	ts.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake
	ts.StartTLS()
	defer ts.Close()
	src := Source{URL: ts.URL + "/img", Size: 1000, SHA512: sum}

	plain, err := NewHTTPClient(HTTPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	opts := fastOptions()
	opts.Client = plain
	res := fetch(t.Context(), src, opts)
	wantFailed(t, res)
	if !certificateError(res.err) || IsRetryable(res.err) || strings.Contains(res.err.Error(), "attempts") {
		t.Errorf("err = %v; want a certificate error, not retried", res.err)
	}

	caFile := filepath.Join(t.TempDir(), "ca.pem")
	cert := ts.Certificate()
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	trusting, err := NewHTTPClient(HTTPOptions{ExtraCAFile: caFile, UserAgent: "ck-test"})
	if err != nil {
		t.Fatal(err)
	}
	opts.Client = trusting
	if res := fetch(t.Context(), src, opts); res.err != nil {
		t.Fatal(res.err)
	}
	if ua := <-agents; ua != "ck-test" {
		t.Errorf("User-Agent = %q", ua)
	}
}

func TestNewHTTPClientBadCAFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "empty.pem")
	_ = os.WriteFile(file, []byte("not a certificate"), 0o600)
	if _, err := NewHTTPClient(HTTPOptions{ExtraCAFile: file}); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("err = %v", err)
	}
}
