package fetch_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ck-sync/ck/pkg/cli/clitest"
	"github.com/ck-sync/ck/pkg/registry/registrytest"
)

// ck fetch of a registry source, on artifacts the real oras CLI pushed into
// the real local registry: what it holds, and --save keeps the listing.
func TestFetchRegistrySource(t *testing.T) {
	reg := registrytest.Setup(t).Anon
	a := reg.Push(t, registrytest.Spec{})
	src := "oci://" + reg.Host + "/" + a.Repo
	dir := t.TempDir()
	code, out, errOut := clitest.RunArgs(context.Background(), "fetch", "--extra-ca-file", reg.CAFile, "--save", dir, src)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{src, "1 (0 skipped, 1 tag(s) not selected, 0 referrer(s) ignored)", reg.Host + "/" + a.Repo + ":24.04", a.Layers[0].Digest, "saved to"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(files) != 1 {
		t.Fatalf("saved files: %v", files)
	}
	data, _ := os.ReadFile(files[0])
	var listing struct {
		Artifacts []struct{ Tag, ManifestDigest string }
	}
	if err := json.Unmarshal(data, &listing); err != nil || len(listing.Artifacts) != 1 || listing.Artifacts[0].ManifestDigest != a.Digest {
		t.Errorf("saved listing %s (%v)", data, err)
	}
}
