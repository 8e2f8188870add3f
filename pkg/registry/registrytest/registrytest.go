// Package registrytest connects tests to the two local OCI registries that
// contrib/devcloud/devcloud.sh runs — Debian's docker-registry (distribution
// 2.8) with TLS from a test CA, one anonymous and one with htpasswd auth —
// pushes EGI-shaped artifacts to them with the real oras CLI, and starts
// throw-away private instances for tests that must stop a registry.
//
// Tests only ever push to loopback registries: a CK_TEST_REGISTRY that is not
// on 127.0.0.1, ::1 or localhost fails the test instead of writing to a real
// registry by accident.
package registrytest

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ck-sync/ck/pkg/glance/glancetest"
)

// Marker is the first line devcloud.sh writes into its registry.env.
const Marker = "# Written by contrib/devcloud/devcloud.sh"

// Environment variables that `devcloud.sh env` exports (and registry.env holds).
const (
	EnvAnon          = "CK_TEST_REGISTRY"                 // host:port of the anonymous instance
	EnvAuth          = "CK_TEST_REGISTRY_AUTH"            // host:port of the htpasswd instance
	EnvCA            = "CK_TEST_REGISTRY_CA"              // PEM of the test CA
	EnvCert          = "CK_TEST_REGISTRY_CERT"            // server certificate (for private instances)
	EnvKey           = "CK_TEST_REGISTRY_KEY"             // its key
	EnvHTPasswd      = "CK_TEST_REGISTRY_HTPASSWD"        // the bcrypt htpasswd file
	EnvUser          = "CK_TEST_REGISTRY_USER"            // the throw-away test user
	EnvPassword      = "CK_TEST_REGISTRY_PASSWORD"        // and its password
	EnvAnonStorage   = "CK_TEST_REGISTRY_STORAGE"         // filesystem root of the anonymous instance
	EnvAuthStorage   = "CK_TEST_REGISTRY_AUTH_STORAGE"    // filesystem root of the auth instance
	EnvAnonAccessLog = "CK_TEST_REGISTRY_ACCESS_LOG"      // access log of the anonymous instance
	EnvAuthAccessLog = "CK_TEST_REGISTRY_AUTH_ACCESS_LOG" // access log of the auth instance
	EnvORAS          = "ORAS"                             // the oras CLI
)

// Registry is one running registry and what a test needs to reach and
// inspect it.
type Registry struct {
	Host       string         // "127.0.0.1:5443": the reference prefix and URL host
	CAFile     string         // PEM of the CA that signed its certificate
	CAPool     *x509.CertPool // that CA alone (no system roots)
	Username   string         // "" for the anonymous instance
	Password   string         // the throw-away test password, "" for anonymous
	StorageDir string         // root directory of its filesystem storage driver
	AccessLog  string         // its access log (combined format, one line per request)

	oras string
}

// Env is what Setup returns: both shared instances and the oras CLI.
type Env struct {
	Anon *Registry // anonymous pulls and pushes
	Auth *Registry // htpasswd (Basic) auth; anonymous requests get 401
	ORAS string    // path of the oras CLI (v1.3.6)
}

// config is the shared registries' coordinates, from the environment or
// registry.env.
type config struct {
	anon, auth, ca, cert, key, htpasswd, user, password string
	anonStorage, authStorage, anonLog, authLog, oras    string
	pool                                                *x509.CertPool
}

var (
	once       sync.Once
	cfg        config
	skip, fail string
)

// need skips or fails t when the registries are not usable, with the same
// policy as glancetest: skip with a visible message when none is configured
// (or none answers) outside CI, fail under CI=true or when the configuration
// is wrong.
func need(t testing.TB) {
	t.Helper()
	once.Do(load)
	if fail != "" {
		t.Fatal("registry: " + fail)
	}
	if skip != "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("registry: " + skip)
		}
		t.Skip("registry: " + skip)
	}
}

// Setup returns the shared local registries, or skips the test when none is
// configured (fails it under CI=true, so CI never passes by skipping).
// Tests share these instances with parallel test binaries: push to a
// repository of your own (Spec's default is a fresh project per push).
func Setup(t testing.TB) *Env {
	t.Helper()
	need(t)
	return &Env{
		Anon: &Registry{Host: cfg.anon, CAFile: cfg.ca, CAPool: cfg.pool,
			StorageDir: cfg.anonStorage, AccessLog: cfg.anonLog, oras: cfg.oras},
		Auth: &Registry{Host: cfg.auth, CAFile: cfg.ca, CAPool: cfg.pool, Username: cfg.user,
			Password: cfg.password, StorageDir: cfg.authStorage, AccessLog: cfg.authLog, oras: cfg.oras},
		ORAS: cfg.oras,
	}
}

const hint = "run `contrib/devcloud/devcloud.sh up` (or `registry-up`) and `eval \"$(contrib/devcloud/devcloud.sh env)\"`"

// load reads the configuration once per test binary and checks that both
// registries answer as configured.
func load() {
	get, where := lookup()
	if get == nil {
		skip = "no local registry (" + EnvAnon + " is not set): " + hint
		return
	}
	c := config{
		anon: get(EnvAnon), auth: get(EnvAuth), ca: get(EnvCA), cert: get(EnvCert), key: get(EnvKey),
		htpasswd: get(EnvHTPasswd), user: get(EnvUser), password: get(EnvPassword),
		anonStorage: get(EnvAnonStorage), authStorage: get(EnvAuthStorage),
		anonLog: get(EnvAnonAccessLog), authLog: get(EnvAuthAccessLog), oras: get(EnvORAS),
	}
	for _, v := range []struct{ name, value string }{
		{EnvAuth, c.auth}, {EnvCA, c.ca}, {EnvCert, c.cert}, {EnvKey, c.key}, {EnvHTPasswd, c.htpasswd},
		{EnvUser, c.user}, {EnvPassword, c.password}, {EnvAnonStorage, c.anonStorage},
		{EnvAuthStorage, c.authStorage}, {EnvAnonAccessLog, c.anonLog}, {EnvAuthAccessLog, c.authLog},
		{EnvORAS, c.oras},
	} {
		if v.value == "" {
			fail = fmt.Sprintf("%s is set (%s) but %s is not: %s", EnvAnon, where, v.name, hint)
			return
		}
	}
	for _, h := range []struct{ name, value string }{{EnvAnon, c.anon}, {EnvAuth, c.auth}} {
		if err := loopback(h.value); err != nil {
			fail = fmt.Sprintf("%s=%q (%s): %v; tests only push to the local throw-away registries", h.name, h.value, where, err)
			return
		}
	}
	pool, err := caPool(c.ca)
	if err != nil {
		fail = fmt.Sprintf("%s (%s): %v", EnvCA, where, err)
		return
	}
	c.pool = pool
	for _, d := range []struct{ name, value string }{{EnvAnonStorage, c.anonStorage}, {EnvAuthStorage, c.authStorage}} {
		if fi, err := os.Stat(d.value); err != nil || !fi.IsDir() {
			fail = fmt.Sprintf("%s=%s (%s) is not a directory", d.name, d.value, where)
			return
		}
	}
	if _, err := exec.LookPath(c.oras); err != nil {
		fail = fmt.Sprintf("%s=%s (%s): %v (devcloud.sh up installs oras)", EnvORAS, c.oras, where, err)
		return
	}
	// Not answering is a stopped devcloud, like glancetest's unreachable cloud: a skip.
	for _, p := range []struct {
		host string
		want int
	}{{c.anon, http.StatusOK}, {c.auth, http.StatusUnauthorized}} {
		code, _, err := probe(pool, p.host)
		if err != nil {
			skip = fmt.Sprintf("registry %s (%s) is not answering: %v: %s", p.host, where, err, hint)
			return
		}
		if code != p.want {
			fail = fmt.Sprintf("registry %s (%s): GET /v2/ answered %d, want %d", p.host, where, code, p.want)
			return
		}
	}
	cfg = c
}

// lookup returns the source of the settings: the environment when
// CK_TEST_REGISTRY is set, else the registry.env of $CK_DEVCLOUD_DIR or of
// the repository's .devcloud; nil when there is none.
func lookup() (func(string) string, string) {
	if os.Getenv(EnvAnon) != "" {
		return os.Getenv, "environment"
	}
	var candidates []string
	if d := os.Getenv("CK_DEVCLOUD_DIR"); d != "" {
		candidates = append(candidates, filepath.Join(d, "registry.env"))
	}
	if root := glancetest.RepoRoot(); root != "" {
		candidates = append(candidates, filepath.Join(root, ".devcloud", "registry.env"))
	}
	for _, f := range candidates {
		if vars, ok := readEnvFile(f); ok {
			return func(k string) string { return vars[k] }, f
		}
	}
	return nil, ""
}

// readEnvFile parses a registry.env that devcloud.sh wrote. Values that bash
// had to quote (a state dir with spaces) are left out, so that the caller
// reports them missing and asks for the eval'd environment instead.
func readEnvFile(path string) (map[string]string, bool) {
	f, err := os.Open(path)
	if err != nil {
		return nil, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() || !strings.HasPrefix(sc.Text(), Marker) {
		return nil, false
	}
	vars := map[string]string{}
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if !ok || strings.HasPrefix(k, "#") || strings.ContainsAny(v, `'"\$ `) {
			continue
		}
		vars[k] = v
	}
	return vars, vars[EnvAnon] != ""
}

// loopback accepts host:port only on a loopback address.
func loopback(hostport string) error {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return fmt.Errorf("want host:port: %w", err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("host %q is not a loopback address", host)
	}
	return nil
}

func caPool(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s: no PEM certificate", file)
	}
	return pool, nil
}

// probe returns the status and headers of an anonymous GET /v2/.
func probe(pool *x509.CertPool, host string) (int, http.Header, error) {
	c := httpClient(pool, 5*time.Second)
	defer c.CloseIdleConnections()
	resp, err := c.Get("https://" + host + "/v2/")
	if err != nil {
		return 0, nil, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header, nil
}

func httpClient(pool *x509.CertPool, timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			TLSClientConfig:   &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
			ForceAttemptHTTP2: true,
		},
	}
}

// HTTPClient returns a client that trusts the registry's test CA (and
// nothing else), for tests that talk to the registry with plain net/http.
func (r *Registry) HTTPClient() *http.Client { return httpClient(r.CAPool, time.Minute) }

// Get sends GET https://HOST/v2/PATH (with the test credential on the auth
// instance, unless anonymous) and returns the response with its body read.
// accept, when not empty, is sent as the Accept header.
func (r *Registry) Get(t testing.TB, path, accept string, anonymous bool) (*http.Response, []byte) {
	t.Helper()
	return r.do(t, http.MethodGet, path, accept, anonymous)
}

// do sends METHOD https://HOST/v2/PATH and returns the response with its body read.
func (r *Registry) do(t testing.TB, method, path, accept string, anonymous bool) (*http.Response, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, "https://"+r.Host+"/v2/"+strings.TrimPrefix(path, "/"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	if r.Username != "" && !anonymous {
		req.SetBasicAuth(r.Username, r.Password)
	}
	c := r.HTTPClient()
	defer c.CloseIdleConnections()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("registry %s: %s %s: %v", r.Host, method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("registry %s: %s %s: reading the body: %v", r.Host, method, req.URL.Path, err)
	}
	return resp, body
}
