package verify_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ck-sync/ck/pkg/cli/clitest"
	"github.com/ck-sync/ck/pkg/cli/verify"
	"github.com/ck-sync/ck/pkg/registry/registrytest"
)

// ck verify of registry sources, on artifacts the real oras CLI pushed into
// the real local registry.
func TestVerifyRegistrySource(t *testing.T) {
	reg := registrytest.Setup(t).Anon
	a := reg.Push(t, registrytest.Spec{SBOM: true})
	reg.Push(t, registrytest.Spec{Repo: a.Repo, Tags: []string{"20.04"}, Omit: []string{registrytest.AnnTag}})
	src := "oci://" + reg.Host + "/" + a.Repo

	code, out, errOut := clitest.RunArgs(context.Background(), "verify", "--extra-ca-file", reg.CAFile, src)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{
		"valid", src,
		"registry source: 1 image(s), 1 skipped; 1 tag(s) not selected by the tag pattern, 1 referrer(s) ignored",
		"image " + reg.Host + "/" + a.Repo + ":24.04", a.Layers[0].Digest, "manifest " + a.Digest,
		"skipped " + reg.Host + "/" + a.Repo + ":20.04", "eu.egi.cloud.tag is missing",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(errOut, "artifact skipped") {
		t.Errorf("no log line for the skipped artifact:\n%s", errOut)
	}

	code, out, _ = clitest.RunArgs(context.Background(), "verify", "-o", "json", "--extra-ca-file", reg.CAFile, src)
	var doc verify.Document
	if err := json.Unmarshal([]byte(out), &doc); err != nil || code != 0 {
		t.Fatalf("exit %d, %v\n%s", code, err, out)
	}
	l := doc.Lists[0]
	if l.Status != "valid" || len(l.Images) != 1 || l.Images[0].Digest != a.Layers[0].Digest || l.Images[0].ManifestDigest != a.Digest ||
		l.List == nil || len(l.List.Skipped) != 1 {
		t.Errorf("json = %+v", l)
	}
}

func TestVerifyRegistryFailures(t *testing.T) {
	env := registrytest.Setup(t)
	a := env.Auth.Push(t, registrytest.Spec{})
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte(env.Auth.Password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	src := "oci://" + env.Auth.Host + "/" + a.Repo
	cfg := filepath.Join(dir, "ck.yaml")
	write := func(body string) {
		if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ca := "--extra-ca-file=" + env.Auth.CAFile

	// No credentials: the source fails (exit 3) with check registry.
	code, out, errOut := clitest.RunArgs(context.Background(), "verify", ca, src)
	if code != 3 || !strings.Contains(out, "registry: repository "+a.Repo+": list tags: HTTP 401") {
		t.Fatalf("anonymous: exit %d\n%s\n%s", code, out, errOut)
	}
	// The robot account's password file: valid, and the password is never shown.
	write("lists:\n  - url: " + src + "\n    username: " + env.Auth.Username + "\n    password_file: " + pw + "\n")
	code, out, errOut = clitest.RunArgs(context.Background(), "verify", "--log-level", "debug", "--config", cfg, ca, src)
	if code != 0 || !strings.Contains(out, "1 image(s)") {
		t.Fatalf("with credentials: exit %d\n%s\n%s", code, out, errOut)
	}
	if strings.Contains(out+errOut, env.Auth.Password) {
		t.Errorf("the password appears in the output")
	}
	// A password file that cannot be read fails that source with check auth.
	write("lists:\n  - url: " + src + "\n    username: u\n    password_file: " + pw + ".missing\n")
	code, out, _ = clitest.RunArgs(context.Background(), "verify", "--config", cfg, ca, src)
	if code != 3 || !strings.Contains(out, "auth: auth: password_file") {
		t.Fatalf("missing password file: exit %d\n%s", code, out)
	}
	// Registry down.
	p := registrytest.StartPrivate(t, false)
	b := p.Push(t, registrytest.Spec{})
	p.Stop(t)
	code, out, _ = clitest.RunArgs(context.Background(), "verify", ca, "oci://"+p.Host+"/"+b.Repo)
	if code != 3 || !strings.Contains(out, "connection refused") {
		t.Fatalf("registry down: exit %d\n%s", code, out)
	}
}
