// Package glancetest connects integration tests to the local Keystone + Glance
// that contrib/devcloud/devcloud.sh runs, and cleans up after them.
//
// Tests only ever run against that throw-away cloud: a clouds.yaml that
// devcloud.sh did not write is ignored, so `go test ./...` cannot create or
// delete images on a real cloud by accident.
package glancetest

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ck-sync/ck/pkg/glance"
)

// Marker is the first line devcloud.sh writes into its clouds.yaml.
const Marker = "# Written by contrib/devcloud/devcloud.sh"

// Clouds of the devcloud clouds.yaml.
const (
	CloudAdmin   = "admin"
	CloudCK      = "ck"
	CloudVOAlpha = "ck-vo-alpha"
	CloudVOBeta  = "ck-vo-beta"
	CloudAlice   = "alice"
	CloudBob     = "bob"
)

// Env is what an integration test gets: connections, project ids and a
// namespace of its own.
type Env struct {
	CloudsFile string          // the devcloud clouds.yaml in use
	CK         *glance.Service // user ck in project ck
	VOAlpha    *glance.Service // user ck in project vo-alpha
	VOBeta     *glance.Service // user ck in project vo-beta (domain egi)
	Admin      *glance.Service // admin: sees and deletes every image

	ProjectCK, ProjectVOAlpha, ProjectVOBeta string

	// Namespace is unique to this test (e.g. "cktest-3f9a0c1e"): tag images
	// with it (Spec does) and filter lists by it, so that parallel tests never
	// see each other's images.
	Namespace string

	mu      sync.Mutex
	tracked []string
}

type shared struct {
	file                   string
	ck, alpha, beta, admin *glance.Service
	skip, fail             string
}

var (
	once sync.Once
	env  shared
)

// Setup connects to the devcloud, or skips the test when none is configured
// (fails it instead under CI=true, so CI never passes by skipping). Images
// tagged with the namespace, named with it, or passed to Track are deleted
// when the test ends.
func Setup(t testing.TB) *Env {
	t.Helper()
	once.Do(connectAll)
	if env.skip != "" || env.fail != "" {
		msg := env.fail
		if msg == "" {
			msg = env.skip
		}
		if env.fail != "" || os.Getenv("CI") == "true" {
			t.Fatal("integration: " + msg)
		}
		t.Skip("integration: " + msg)
	}
	e := &Env{
		CloudsFile:     env.file,
		CK:             env.ck,
		VOAlpha:        env.alpha,
		VOBeta:         env.beta,
		Admin:          env.admin,
		ProjectCK:      env.ck.ProjectID(),
		ProjectVOAlpha: env.alpha.ProjectID(),
		ProjectVOBeta:  env.beta.ProjectID(),
		Namespace:      "cktest-" + randomHex(4),
	}
	t.Cleanup(func() { e.cleanup(t) })
	return e
}

// Connect opens another connection to a devcloud cloud, optionally re-scoped
// to projectID.
func (e *Env) Connect(t testing.TB, cloud, projectID string) *glance.Service {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := glance.Connect(ctx, glance.Config{Cloud: cloud, ProjectID: projectID, UserAgent: "ck-integration-test"})
	if err != nil {
		t.Fatalf("connect %s: %v", cloud, err)
	}
	return s
}

// Name returns name prefixed with the namespace.
func (e *Env) Name(name string) string { return e.Namespace + "-" + name }

// Spec returns a small private image spec tagged with the namespace.
func (e *Env) Spec(name string) glance.CreateSpec {
	return glance.CreateSpec{
		Name:            e.Name(name),
		DiskFormat:      "raw",
		ContainerFormat: "bare",
		Visibility:      "private",
		Tags:            []string{e.Namespace},
	}
}

// Track marks an image for deletion at cleanup even if it carries neither the
// namespace tag nor the namespace name.
func (e *Env) Track(id string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.tracked = append(e.tracked, id)
}

// cleanup deletes, as admin, every image of the namespace, deactivated,
// hidden or protected.
func (e *Env) cleanup(t testing.TB) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	all, err := e.Admin.ListImages(ctx, glance.ListFilter{})
	if err != nil {
		t.Errorf("cleanup: list images: %v", err)
		return
	}
	doomed := map[string]glance.Image{}
	for _, img := range all {
		if strings.HasPrefix(img.Name, e.Namespace+"-") || hasTag(img, e.Namespace) {
			doomed[img.ID] = img
		}
	}
	e.mu.Lock()
	for _, id := range e.tracked {
		if _, ok := doomed[id]; !ok {
			doomed[id] = glance.Image{ID: id}
		}
	}
	e.mu.Unlock()
	for id, img := range doomed {
		if img.Protected {
			_, _ = e.Admin.UpdateImage(ctx, id, []glance.Patch{{Op: glance.OpReplace, Path: "/protected", Value: false}})
		}
		if err := e.Admin.DeleteImage(ctx, id); err != nil && !errors.Is(err, glance.ErrNotFound) {
			t.Errorf("cleanup: %v", err)
		}
	}
}

func hasTag(img glance.Image, tag string) bool {
	for _, t := range img.Tags {
		if t == tag {
			return true
		}
	}
	return false
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// connectAll finds the devcloud clouds.yaml and connects once per test binary:
// Services are safe for concurrent use, and Keystone runs a single thread.
func connectAll() {
	file, why := findCloudsFile()
	if file == "" {
		env.skip = why
		return
	}
	env.file = file
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	connect := func(cloud string) *glance.Service {
		if env.fail != "" || env.skip != "" {
			return nil
		}
		s, err := glance.Connect(ctx, glance.Config{Cloud: cloud, UserAgent: "ck-integration-test"})
		switch {
		case err == nil:
			return s
		case errors.Is(err, glance.ErrRetryable):
			env.skip = fmt.Sprintf("local cloud in %s is not answering (run `contrib/devcloud/devcloud.sh up`): %v", file, err)
		default:
			env.fail = fmt.Sprintf("cloud %q from %s: %v", cloud, file, err)
		}
		return nil
	}
	env.ck = connect(CloudCK)
	env.alpha = connect(CloudVOAlpha)
	env.beta = connect(CloudVOBeta)
	env.admin = connect(CloudAdmin)
}

// findCloudsFile returns the devcloud clouds.yaml, exporting
// OS_CLIENT_CONFIG_FILE when it was found in the repository's .devcloud so
// that glance.Connect reads it as ck does; or "" and the reason to skip.
func findCloudsFile() (string, string) {
	const hint = "no local cloud (run `contrib/devcloud/devcloud.sh up` and `eval \"$(contrib/devcloud/devcloud.sh env)\"`)"
	if f := os.Getenv("OS_CLIENT_CONFIG_FILE"); f != "" {
		if !isDevcloud(f) {
			return "", fmt.Sprintf("%s: OS_CLIENT_CONFIG_FILE=%s was not written by devcloud.sh; integration tests only run against the local throw-away cloud", hint, f)
		}
		return f, ""
	}
	var candidates []string
	if d := os.Getenv("CK_DEVCLOUD_DIR"); d != "" {
		candidates = append(candidates, filepath.Join(d, "clouds.yaml"))
	}
	if root := RepoRoot(); root != "" {
		candidates = append(candidates, filepath.Join(root, ".devcloud", "clouds.yaml"))
	}
	for _, f := range candidates {
		if isDevcloud(f) {
			os.Setenv("OS_CLIENT_CONFIG_FILE", f)
			return f, ""
		}
	}
	return "", hint
}

func isDevcloud(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	line, _ := bufio.NewReader(f).ReadString('\n')
	return strings.HasPrefix(line, Marker)
}

// RepoRoot walks up from the working directory (a package directory under
// `go test`) to go.mod: where contrib/devcloud keeps its state by default.
func RepoRoot() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}
