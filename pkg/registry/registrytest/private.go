package registrytest

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Private is a registry of one test's own: docker-registry with the shared
// test CA's certificate (and, with auth, the shared test credential), its
// storage and access log in t.TempDir(), on a free port. Tests that stop a
// registry mid-way ("registry down") use one, so that the shared instances
// other test binaries use in parallel are never disturbed.
type Private struct {
	*Registry

	bin, config, stderrLog string
	auth                   bool
	// instance is sent by this registry alone in an X-Ck-Instance header, so
	// that a readiness probe never mistakes another server that took the
	// port for it.
	instance string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
}

// StartPrivate starts a private registry (anonymous, or with htpasswd auth
// when auth is true) and stops it when the test ends. It skips or fails the
// test as Setup does when the local registries are not configured.
func StartPrivate(t testing.TB, auth bool) *Private {
	t.Helper()
	need(t)
	bin, err := exec.LookPath("docker-registry")
	if err != nil {
		bin = "/usr/bin/docker-registry"
		if _, err := os.Stat(bin); err != nil {
			msg := "docker-registry not found: contrib/devcloud/devcloud.sh installs it"
			if os.Getenv("CI") == "true" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
	}
	dir := t.TempDir()
	p := &Private{
		Registry: &Registry{CAFile: cfg.ca, CAPool: cfg.pool, StorageDir: filepath.Join(dir, "storage"),
			AccessLog: filepath.Join(dir, "access.log"), oras: cfg.oras},
		bin: bin, config: filepath.Join(dir, "config.yml"), stderrLog: filepath.Join(dir, "registry.log"),
		auth: auth, instance: randomHex(8),
	}
	if auth {
		p.Username, p.Password = cfg.user, cfg.password
	}
	if err := os.Mkdir(p.StorageDir, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop(t) })
	// Another process may take the free port between our probe and the
	// registry's bind: try a few.
	var lastErr error
	for range 3 {
		port, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		p.Host = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		p.writeConfig(t)
		if lastErr = p.start(); lastErr == nil {
			return p
		}
	}
	t.Fatalf("private registry: %v", lastErr)
	return nil
}

// Start starts the registry again after Stop, on the same port with the
// same storage (a registry coming back).
func (p *Private) Start(t testing.TB) {
	t.Helper()
	if err := p.start(); err != nil {
		t.Fatalf("private registry %s: %v", p.Host, err)
	}
}

// Stop kills the registry and waits for it to exit; clients then get
// "connection refused". Stopping a stopped registry does nothing.
func (p *Private) Stop(t testing.TB) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Kill()
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		t.Errorf("private registry %s (pid %d) did not exit after SIGKILL", p.Host, p.cmd.Process.Pid)
	}
	p.cmd = nil
}

// start runs docker-registry and waits until it answers GET /v2/ as
// configured (200, or 401 with auth).
func (p *Private) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		return errors.New("already running")
	}
	access, err := os.OpenFile(p.AccessLog, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer access.Close()
	logf, err := os.OpenFile(p.stderrLog, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	start, _ := logf.Seek(0, 2)

	cmd := exec.Command(p.bin, "serve", p.config)
	cmd.Stdout, cmd.Stderr = access, logf // the access log is on stdout
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()

	want := http.StatusOK
	if p.auth {
		want = http.StatusUnauthorized
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, header, err := probe(p.CAPool, p.Host)
		if err == nil && code == want && header.Get("X-Ck-Instance") == p.instance {
			p.cmd, p.done = cmd, done
			return nil
		}
		select {
		case <-done:
			return fmt.Errorf("docker-registry on %s exited during start: %s", p.Host, p.logSince(start))
		default:
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-done
			if err != nil {
				return fmt.Errorf("docker-registry on %s did not answer within 30s: %v", p.Host, err)
			}
			return fmt.Errorf("docker-registry on %s: GET /v2/ answered %d with X-Ck-Instance %q, want %d and %q",
				p.Host, code, header.Get("X-Ck-Instance"), want, p.instance)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// logSince returns the registry's log from offset on, for error messages.
func (p *Private) logSince(offset int64) string {
	b, err := os.ReadFile(p.stderrLog)
	if err != nil || offset > int64(len(b)) {
		return "(no log)"
	}
	return strings.TrimSpace(string(b[offset:]))
}

func (p *Private) writeConfig(t testing.TB) {
	t.Helper()
	var c strings.Builder
	fmt.Fprintf(&c, `version: 0.1
log:
  level: warn
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: %q
  delete:
    enabled: true
http:
  addr: %q
  secret: %q
  headers:
    X-Ck-Instance: [%q]
  tls:
    certificate: %q
    key: %q
`, p.StorageDir, p.Host, randomHex(32), p.instance, cfg.cert, cfg.key)
	if p.auth {
		fmt.Fprintf(&c, `auth:
  htpasswd:
    realm: ck-private
    path: %q
`, cfg.htpasswd)
	}
	if err := os.WriteFile(p.config, []byte(c.String()), 0o600); err != nil {
		t.Fatal(err)
	}
}

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
