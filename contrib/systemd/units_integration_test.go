// Integration test of the per-site template units against the local
// Keystone + Glance of contrib/devcloud/devcloud.sh (skipped without it,
// failed under CI=true): the command lines and environment that
// ck-sync@.service and ck-prune@.service give ck, with the instance name
// filled in, run against a site file the way systemd would run them.
// systemd itself is not run (no systemd is PID 1 here, nor in CI):
// `make units-check` verifies the unit files with systemd-analyze, and this
// test that ck accepts what they pass and writes where they point.
package systemd_test

import (
	"bufio"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ck-sync/ck/pkg/cli/clitest"
	"github.com/ck-sync/ck/pkg/cli/cmdutil"
	"github.com/ck-sync/ck/pkg/glance"
	"github.com/ck-sync/ck/pkg/glance/glancetest"
	"github.com/ck-sync/ck/pkg/plan"
)

// unit is the settings of a unit file, by key, in file order.
type unit map[string][]string

func readUnit(t *testing.T, name string) unit {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	u := unit{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "[") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("%s: not KEY=VALUE: %q", name, line)
		}
		u[k] = append(u[k], v)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return u
}

// one returns the single value of key.
func (u unit) one(t *testing.T, key string) string {
	t.Helper()
	if len(u[key]) != 1 {
		t.Fatalf("%s: %d values %q, want 1", key, len(u[key]), u[key])
	}
	return u[key][0]
}

// instance fills in the instance name and moves every absolute path the
// units use under root, as systemd would see them on a host.
func instance(s, site, root string) string {
	s = strings.ReplaceAll(s, "%i", site)
	for _, dir := range []string{"/etc/ck/", "/var/lib/ck/"} {
		s = strings.ReplaceAll(s, dir, filepath.Join(root, dir)+"/")
	}
	return s
}

// site is one site's files under root as an operator lays them out, and
// the command line its unit runs.
type site struct {
	name, root string
}

// prepare writes the site file and clouds.yaml where the unit reads them
// and makes the unit's StateDirectory= directories, then returns ck's
// arguments from the unit's ExecStart and checks its environment.
func (s site) prepare(t *testing.T, fx *clitest.Fixture, lists, unitFile string) []string {
	t.Helper()
	u := readUnit(t, unitFile)
	cfg := instance("/etc/ck/sites/%i.yaml", s.name, s.root)
	body := fmt.Sprintf("os-cloud: %s\nmapping-file: %s\nimage-lists-file: %s\nca-dir: %s\ntag: %s\n",
		glancetest.CloudCK, fx.Mapping, lists, filepath.Join(clitest.PKIDir(), "cadir"), fx.Tag)
	write(t, cfg, []byte(body))

	// The unit's clouds.yaml is the site's own, and the one it asserts.
	env := u.one(t, "Environment")
	clouds, ok := strings.CutPrefix(env, "OS_CLIENT_CONFIG_FILE=")
	if !ok || clouds != "/etc/ck/sites/%i/clouds.yaml" {
		t.Fatalf("Environment=%s, want OS_CLIENT_CONFIG_FILE=/etc/ck/sites/%%i/clouds.yaml", env)
	}
	if got := u.one(t, "AssertPathExists"); got != clouds {
		t.Errorf("AssertPathExists=%s, want the clouds.yaml of OS_CLIENT_CONFIG_FILE, %s", got, clouds)
	}
	data, err := os.ReadFile(fx.Env.CloudsFile)
	if err != nil {
		t.Fatal(err)
	}
	write(t, instance(clouds, s.name, s.root), data)
	t.Setenv("OS_CLIENT_CONFIG_FILE", instance(clouds, s.name, s.root))

	for _, d := range strings.Fields(u.one(t, "StateDirectory")) {
		if err := os.MkdirAll(instance("/var/lib/"+d, s.name, s.root), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok := u["EnvironmentFile"]; ok {
		t.Errorf("the template reads an EnvironmentFile: its CK_* would override the site file")
	}
	args := strings.Fields(instance(u.one(t, "ExecStart"), s.name, s.root))
	if args[0] != "/usr/bin/ck" {
		t.Fatalf("ExecStart runs %s", args[0])
	}
	return args[1:]
}

func write(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o640); err != nil {
		t.Fatal(err)
	}
}

func TestIntegrationSiteUnits(t *testing.T) {
	fx := clitest.New(t)
	data := []byte(strings.Repeat("the bytes of site-a's image\n", 100))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/a1" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(data)
	}))
	t.Cleanup(srv.Close)
	l := fx.WriteList(t, fx.Tag+"-list", "alpha.vo", clitest.ImageSpec{ID: "a1", URI: srv.URL + "/a1", Data: data})
	lists := fx.Subscribe(t, l)
	root := t.TempDir()
	a, b := site{"site-a", root}, site{"site-b", root}
	// The seal key the package's postinst makes.
	if err := os.MkdirAll(filepath.Join(root, "var/lib/ck"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "var/lib/ck/seal.key"), []byte(strings.Repeat("k", 32)), 0o600); err != nil {
		t.Fatal(err)
	}

	run := func(t *testing.T, args []string, wantCode int) (stdout, stderr string) {
		t.Helper()
		code, stdout, stderr := clitest.RunArgs(fx.Ctx, args...)
		if code != wantCode {
			t.Fatalf("ck %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, wantCode, stdout, stderr)
		}
		return stdout, stderr
	}
	metrics := func(t *testing.T, path string, want ...string) {
		t.Helper()
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("metrics file: %v", err)
		}
		for _, w := range want {
			if !strings.Contains(string(got), w+"\n") {
				t.Errorf("%s lacks %q:\n%s", filepath.Base(path), w, got)
			}
		}
	}

	t.Run("sync", func(t *testing.T) {
		args := a.prepare(t, fx, lists, "ck-sync@.service")
		_, stderr := run(t, args, cmdutil.ExitOK)
		metrics(t, filepath.Join(root, "var/lib/ck/metrics/ck-sync-site-a.prom"),
			`ck_last_run_success{site="site-a",command="sync"} 1`,
			`ck_lists{site="site-a",command="sync",verdict="valid"} 1`,
			`ck_images{site="site-a",command="sync",action="create",outcome="done"} 1`)
		if _, err := os.Stat(filepath.Join(root, "var/lib/ck/site-a/ck.lock")); err != nil {
			t.Errorf("the site's lock file: %v", err)
		}
		for _, line := range strings.Split(strings.TrimSpace(stderr), "\n") {
			if line != "" && !strings.Contains(line, `"site":"site-a"`) {
				t.Errorf("log line without the site: %s", line)
			}
		}
		imgs, err := fx.Env.Admin.ListImages(fx.Ctx, glance.ListFilter{Tag: fx.Tag})
		if err != nil {
			t.Fatal(err)
		}
		if len(imgs) != 1 || imgs[0].Properties[plan.PropImageID] != "a1" {
			t.Errorf("Glance holds %d images tagged %s, want ck's a1", len(imgs), fx.Tag)
		}
	})

	// Each site has its own lock: site-a's held (a run of it in progress)
	// turns away site-a's prune, not site-b's sync.
	t.Run("locks per site", func(t *testing.T) {
		release, err := cmdutil.Lock(filepath.Join(root, "var/lib/ck/site-a/ck.lock"))
		if err != nil {
			t.Fatal(err)
		}
		defer release()
		run(t, a.prepare(t, fx, lists, "ck-prune@.service"), cmdutil.ExitLocked)
		// site-b has the same cloud and tag here: nothing left to do.
		run(t, b.prepare(t, fx, lists, "ck-sync@.service"), cmdutil.ExitOK)
		metrics(t, filepath.Join(root, "var/lib/ck/metrics/ck-sync-site-b.prom"),
			`ck_last_run_success{site="site-b",command="sync"} 1`,
			`ck_images{site="site-b",command="sync",action="create",outcome="done"} 0`)
	})

	t.Run("prune", func(t *testing.T) {
		run(t, a.prepare(t, fx, lists, "ck-prune@.service"), cmdutil.ExitOK)
		metrics(t, filepath.Join(root, "var/lib/ck/metrics/ck-prune-site-a.prom"),
			`ck_last_run_success{site="site-a",command="prune"} 1`)
	})
}
