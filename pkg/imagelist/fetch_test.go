package imagelist

import (
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ck-sync/ck/pkg/httpclient"
)

// withToken returns srvURL with AppDB-style credentials inserted.
func withToken(srvURL, path string) string {
	scheme, rest, _ := strings.Cut(srvURL, "://")
	return scheme + "://" + token + ":x-oauth-basic@" + rest + path
}

func mustSource(t *testing.T, arg string) Source {
	t.Helper()
	s, err := ParseSource(arg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// caFile writes the test server's certificate as a PEM file.
func caFile(t *testing.T, srv *httptest.Server) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ca.pem")
	data := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func newClient(t *testing.T, o HTTPOptions) *http.Client {
	t.Helper()
	c, err := NewHTTPClient(o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// authLog records the Authorization header each request arrived with.
type authLog struct {
	mu   sync.Mutex
	seen []string
}

func (a *authLog) record(r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.seen = append(a.seen, r.Header.Get("Authorization"))
}

func (a *authLog) all() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.seen...)
}

// assertNoToken fails when err's text, in any verb, reveals the token.
func assertNoToken(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	for _, text := range []string{err.Error(), fmt.Sprintf("%v %+v %#v", err, err, err)} {
		if strings.Contains(text, token) {
			t.Errorf("error text leaks the token: %s", text)
		}
	}
	var fe *FetchError
	if errors.As(err, &fe) {
		if strings.Contains(fmt.Sprintf("%v %+v %#v", *fe, *fe, *fe), token) {
			t.Errorf("FetchError fields leak the token")
		}
	}
}

func TestFetchBasicAuthOverTLS(t *testing.T) {
	var gotUser, gotPass, gotUA string
	var gotOK bool
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotUser, gotPass, gotOK = r.BasicAuth()
		gotUA = r.UserAgent()
		fmt.Fprint(w, "list bytes")
	}))
	defer srv.Close()

	f := &Fetcher{Client: newClient(t, HTTPOptions{ExtraCAFile: caFile(t, srv), UserAgent: "ck/test"})}
	body, err := f.Fetch(context.Background(), mustSource(t, withToken(srv.URL, "/store/vo/x/image.list")))
	if err != nil {
		t.Fatal(err)
	}
	if string(body) != "list bytes" {
		t.Errorf("body = %q", body)
	}
	if !gotOK || gotUser != token || gotPass != "x-oauth-basic" {
		t.Errorf("basic auth = %v %q %q, want the token as user name", gotOK, gotUser, gotPass)
	}
	if gotUA != "ck/test" {
		t.Errorf("User-Agent = %q", gotUA)
	}
}

func TestFetchPlainHTTPWithoutCredentials(t *testing.T) {
	var auth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth = r.Header.Get("Authorization")
		fmt.Fprint(w, "ok")
	}))
	defer srv.Close()
	body, err := (&Fetcher{}).Fetch(context.Background(), mustSource(t, srv.URL+"/x.list"))
	if err != nil || string(body) != "ok" || auth != "" {
		t.Errorf("Fetch = %q, %v; Authorization %q", body, err, auth)
	}
}

func TestFetchRedirects(t *testing.T) {
	var other authLog
	otherSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		other.record(r)
		fmt.Fprint(w, "from the other host")
	}))
	defer otherSrv.Close()

	var origin authLog
	originSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin.record(r)
		switch r.URL.Path {
		case "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		case "/elsewhere":
			http.Redirect(w, r, otherSrv.URL+"/list", http.StatusFound)
		case "/same":
			http.Redirect(w, r, "/final", http.StatusMovedPermanently)
		case "/final":
			fmt.Fprint(w, "same host")
		}
	}))
	defer originSrv.Close()
	ca := caFile(t, originSrv) // httptest servers share one certificate

	t.Run("cross-host redirect drops Authorization", func(t *testing.T) {
		for name, client := range map[string]*http.Client{
			"NewHTTPClient": newClient(t, HTTPOptions{ExtraCAFile: ca}),
			"caller client": otherSrv.Client(), // net/http alone would forward it: same host name
		} {
			other.seen = nil
			body, err := (&Fetcher{Client: client}).Fetch(context.Background(), mustSource(t, withToken(originSrv.URL, "/elsewhere")))
			if err != nil || string(body) != "from the other host" {
				t.Fatalf("%s: Fetch = %q, %v", name, body, err)
			}
			if got := other.all(); len(got) != 1 || got[0] != "" {
				t.Errorf("%s: other host saw Authorization %q", name, got)
			}
		}
	})
	t.Run("same-origin redirect keeps Authorization", func(t *testing.T) {
		origin.seen = nil
		f := &Fetcher{Client: newClient(t, HTTPOptions{ExtraCAFile: ca})}
		body, err := f.Fetch(context.Background(), mustSource(t, withToken(originSrv.URL, "/same")))
		if err != nil || string(body) != "same host" {
			t.Fatalf("Fetch = %q, %v", body, err)
		}
		if got := origin.all(); len(got) != 2 || got[1] == "" {
			t.Errorf("Authorization per request = %q", got)
		}
	})
	t.Run("redirect cap", func(t *testing.T) {
		origin.seen = nil
		f := &Fetcher{Client: newClient(t, HTTPOptions{ExtraCAFile: ca, MaxRedirects: 3})}
		_, err := f.Fetch(context.Background(), mustSource(t, withToken(originSrv.URL, "/loop")))
		if err == nil || !strings.Contains(err.Error(), "too many redirects (limit 3)") {
			t.Fatalf("error = %v", err)
		}
		if n := len(origin.all()); n != 4 {
			t.Errorf("%d requests, want 4 (the first and 3 redirects)", n)
		}
		assertNoToken(t, err)
	})
	t.Run("redirects disabled", func(t *testing.T) {
		f := &Fetcher{Client: newClient(t, HTTPOptions{ExtraCAFile: ca, MaxRedirects: -1})}
		_, err := f.Fetch(context.Background(), mustSource(t, withToken(originSrv.URL, "/same")))
		if err == nil || !strings.Contains(err.Error(), "redirects are disabled") {
			t.Fatalf("error = %v", err)
		}
		assertNoToken(t, err)
	})
}

func TestFetchErrors(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/404", http.NotFound)
	mux.HandleFunc("/500", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "boom "+r.Header.Get("Authorization"), http.StatusInternalServerError)
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, strings.Repeat("x", 101))
	})
	mux.HandleFunc("/big-chunked", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, strings.Repeat("x", 60))
		w.(http.Flusher).Flush() // no Content-Length: the limit must hold while reading
		fmt.Fprint(w, strings.Repeat("x", 60))
	})
	mux.HandleFunc("/truncated", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "50")
		fmt.Fprint(w, "only ten..")
	})
	mux.HandleFunc("/exact", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, strings.Repeat("x", 100))
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	tlsSrv := httptest.NewUnstartedServer(mux)
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // the unknown-CA case makes it log
	tlsSrv.StartTLS()
	defer tlsSrv.Close()
	ca := caFile(t, tlsSrv)

	refused, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refusedURL := "https://" + refused.Addr().String()
	refused.Close()

	expired, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()

	tests := []struct {
		name    string
		url     string
		opts    HTTPOptions
		ctx     context.Context
		max     int64
		want    string
		status  int
		tooBig  bool
		timeout bool
	}{
		{name: "404", url: withToken(tlsSrv.URL, "/404"), opts: HTTPOptions{ExtraCAFile: ca}, want: "/404: HTTP 404 Not Found", status: 404},
		{name: "500", url: withToken(tlsSrv.URL, "/500"), opts: HTTPOptions{ExtraCAFile: ca}, want: "HTTP 500 Internal Server Error", status: 500},
		{name: "body over limit", url: withToken(tlsSrv.URL, "/big"), opts: HTTPOptions{ExtraCAFile: ca}, max: 100, want: "body exceeds 100 bytes limit", tooBig: true},
		{name: "chunked body over limit", url: withToken(tlsSrv.URL, "/big-chunked"), opts: HTTPOptions{ExtraCAFile: ca}, max: 100, want: "body exceeds 100 bytes limit", tooBig: true},
		{name: "truncated body", url: withToken(tlsSrv.URL, "/truncated"), opts: HTTPOptions{ExtraCAFile: ca}, want: "read body: unexpected EOF"},
		{name: "client timeout", url: withToken(tlsSrv.URL, "/slow"), opts: HTTPOptions{ExtraCAFile: ca, Timeout: 100 * time.Millisecond}, want: "/slow: ", timeout: true},
		{name: "context deadline", url: withToken(tlsSrv.URL, "/slow"), opts: HTTPOptions{ExtraCAFile: ca}, ctx: expired, want: "context deadline exceeded", timeout: true},
		{name: "unknown CA", url: withToken(tlsSrv.URL, "/exact"), want: "certificate signed by unknown authority"},
		{name: "connection refused", url: withToken(refusedURL, "/x"), opts: HTTPOptions{ExtraCAFile: ca}, want: "connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := tt.ctx
			if ctx == nil {
				ctx = context.Background()
			}
			f := &Fetcher{Client: newClient(t, tt.opts), MaxBytes: tt.max}
			body, err := f.Fetch(ctx, mustSource(t, tt.url))
			if err == nil {
				t.Fatalf("Fetch = %d bytes, want an error", len(body))
			}
			assertNoToken(t, err)
			if !strings.HasPrefix(err.Error(), "fetch https://127.0.0.1:") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %q, want it to contain %q", err, tt.want)
			}
			var fe *FetchError
			if !errors.As(err, &fe) || fe.Status != tt.status {
				t.Errorf("error %#v: want a *FetchError with status %d", err, tt.status)
			}
			if errors.Is(err, ErrTooLarge) != tt.tooBig {
				t.Errorf("errors.Is(ErrTooLarge) = %v", !tt.tooBig)
			}
			var ne net.Error
			if tt.timeout && !(errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()) {
				t.Errorf("timeout error %v is neither DeadlineExceeded nor a net timeout", err)
			}
		})
	}

	t.Run("body at the limit", func(t *testing.T) {
		f := &Fetcher{Client: newClient(t, HTTPOptions{ExtraCAFile: ca}), MaxBytes: 100}
		body, err := f.Fetch(context.Background(), mustSource(t, withToken(tlsSrv.URL, "/exact")))
		if err != nil || len(body) != 100 {
			t.Errorf("Fetch = %d bytes, %v", len(body), err)
		}
	})
}

func TestFetchFile(t *testing.T) {
	dir := t.TempDir()
	list := filepath.Join(dir, "x.list")
	if err := os.WriteFile(list, []byte("file bytes"), 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.list")
	if err := os.WriteFile(big, make([]byte, 11), 0o600); err != nil {
		t.Fatal(err)
	}
	canceled, cancel := context.WithCancel(context.Background())
	cancel()

	tests := []struct {
		name string
		arg  string
		ctx  context.Context
		want string // error text; "" for success
	}{
		{name: "plain path", arg: list},
		{name: "file URL", arg: "file://" + list},
		{name: "missing file", arg: filepath.Join(dir, "nope.list"), want: "fetch " + filepath.Join(dir, "nope.list") + ": no such file or directory"},
		{name: "directory", arg: dir, want: "is a directory"},
		{name: "over the limit", arg: big, want: "body exceeds 10 bytes limit"},
		{name: "canceled", arg: list, ctx: canceled, want: "context canceled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := tt.ctx
			if ctx == nil {
				ctx = context.Background()
			}
			body, err := (&Fetcher{MaxBytes: 10}).Fetch(ctx, mustSource(t, tt.arg))
			if tt.want == "" {
				if err != nil || string(body) != "file bytes" {
					t.Errorf("Fetch = %q, %v", body, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want %q", err, tt.want)
			}
		})
	}
	_, err := (&Fetcher{}).Fetch(context.Background(), mustSource(t, filepath.Join(dir, "nope.list")))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file error %v does not match fs.ErrNotExist", err)
	}
}

func TestFetchZeroSource(t *testing.T) {
	if _, err := (&Fetcher{}).Fetch(context.Background(), Source{}); err == nil {
		t.Error("Fetch of a zero Source succeeded")
	}
}

func TestNewHTTPClientCAFile(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "junk.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ file, want string }{
		{filepath.Join(dir, "missing.pem"), "no such file"},
		{notPEM, "no PEM certificate found"},
	} {
		if _, err := NewHTTPClient(HTTPOptions{ExtraCAFile: tt.file}); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("NewHTTPClient(%s) error = %v, want %q", tt.file, err, tt.want)
		}
	}
}

func TestNewHTTPClientDefaults(t *testing.T) {
	c := newClient(t, HTTPOptions{})
	if c.Timeout != DefaultTimeout {
		t.Errorf("Timeout = %v", c.Timeout)
	}
	tr := httpclient.Transport(c.Transport)
	if tr.TLSClientConfig.MinVersion < 0x0303 || tr.TLSClientConfig.InsecureSkipVerify || tr.Proxy == nil {
		t.Errorf("transport TLS %+v proxy set %v", tr.TLSClientConfig, tr.Proxy != nil)
	}
	if c := newClient(t, HTTPOptions{Timeout: -1}); c.Timeout != 0 {
		t.Errorf("negative Timeout gave %v, want no overall bound", c.Timeout)
	}
}
