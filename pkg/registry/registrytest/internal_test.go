package registrytest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoopback(t *testing.T) {
	for _, tc := range []struct {
		hostport string
		ok       bool
	}{
		{"127.0.0.1:5443", true},
		{"127.1.2.3:5443", true},
		{"[::1]:5444", true},
		{"localhost:5443", true},
		{"registry.egi.eu:443", false},
		{"10.0.0.1:5000", false},
		{"0.0.0.0:5443", false},
		{"127.0.0.1", false}, // no port
		{"", false},
	} {
		if err := loopback(tc.hostport); (err == nil) != tc.ok {
			t.Errorf("loopback(%q) = %v, want ok=%t", tc.hostport, err, tc.ok)
		}
	}
}

func TestReadEnvFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good", Marker+": test\nCK_TEST_REGISTRY=127.0.0.1:5443\nCK_TEST_REGISTRY_CA=/s/ca.crt\n"+
		"CK_TEST_REGISTRY_STORAGE='/with space/storage'\n# comment=x\n")
	vars, ok := readEnvFile(good)
	if !ok || vars[EnvAnon] != "127.0.0.1:5443" || vars[EnvCA] != "/s/ca.crt" {
		t.Errorf("readEnvFile(good) = %v, %t", vars, ok)
	}
	if _, quoted := vars[EnvAnonStorage]; quoted {
		t.Errorf("a bash-quoted value was kept: %q", vars[EnvAnonStorage])
	}
	if _, ok := readEnvFile(write("foreign", "CK_TEST_REGISTRY=registry.example:443\n")); ok {
		t.Error("a file without devcloud's marker was accepted")
	}
	if _, ok := readEnvFile(filepath.Join(dir, "missing")); ok {
		t.Error("a missing file was accepted")
	}
}

func TestBlobPath(t *testing.T) {
	r := &Registry{StorageDir: "/srv/reg"}
	hex := strings.Repeat("ab", 32)
	want := "/srv/reg/docker/registry/v2/blobs/sha256/ab/" + hex + "/data"
	if got := r.BlobPath("sha256:" + hex); got != want {
		t.Errorf("BlobPath = %s, want %s", got, want)
	}
	for _, bad := range []string{"", "sha256:abc", "sha512:" + hex + hex, "sha256:../../" + hex[6:]} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("BlobPath(%q) did not panic", bad)
				}
			}()
			r.BlobPath(bad)
		}()
	}
}
