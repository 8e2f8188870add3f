package httpclient

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"testing"
)

func TestOrigin(t *testing.T) {
	tests := []struct{ a, b string }{
		{"https://Example.org/x", "https://example.org:443/y"},
		{"http://example.org/", "http://example.org:80/list"},
	}
	for _, tt := range tests {
		ua, _ := url.Parse(tt.a)
		ub, _ := url.Parse(tt.b)
		if Origin(ua) != Origin(ub) {
			t.Errorf("Origin(%s) = %s, Origin(%s) = %s: want equal", tt.a, Origin(ua), tt.b, Origin(ub))
		}
	}
	for _, pair := range [][2]string{
		{"https://example.org/", "http://example.org/"},
		{"https://example.org/", "https://example.org:8443/"},
		{"https://example.org/", "https://sub.example.org/"},
	} {
		ua, _ := url.Parse(pair[0])
		ub, _ := url.Parse(pair[1])
		if Origin(ua) == Origin(ub) {
			t.Errorf("Origin(%s) == Origin(%s): want different", pair[0], pair[1])
		}
	}
}

func TestCertPool(t *testing.T) {
	dir := t.TempDir()
	if _, err := CertPool(filepath.Join(dir, "missing.pem")); err == nil {
		t.Error("missing file: no error")
	}
	bad := filepath.Join(dir, "bad.pem")
	os.WriteFile(bad, []byte("not a certificate"), 0o644)
	if _, err := CertPool(bad); err == nil {
		t.Error("no PEM certificate: no error")
	}
}

func TestUserAgent(t *testing.T) {
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { got = r.UserAgent() }))
	defer srv.Close()
	base := http.DefaultTransport.(*http.Transport).Clone()
	c := &http.Client{Transport: UserAgent(base, "ck/test")}
	resp, err := c.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got != "ck/test" || Transport(c.Transport) != base {
		t.Errorf("User-Agent %q, Transport unwrapped: %v", got, Transport(c.Transport) == base)
	}
}
