package imagelist

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestKey(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	const list = "https://vmcaster.appdb.egi.eu/store/vo/fedcloud.egi.eu/image.list"
	tests := []struct {
		name string
		ref  string
		want string
	}{
		{"plain", list, list},
		{"token removed", "https://" + token + ":x-oauth-basic@vmcaster.appdb.egi.eu/store/vo/fedcloud.egi.eu/image.list", list},
		{"user only removed", "https://" + token + "@vmcaster.appdb.egi.eu/store/vo/fedcloud.egi.eu/image.list", list},
		{"host and scheme case", "HTTPS://VMCaster.AppDB.EGI.eu/store/vo/fedcloud.egi.eu/image.list", list},
		{"default https port", "https://vmcaster.appdb.egi.eu:443/store/vo/fedcloud.egi.eu/image.list", list},
		{"everything at once", "  Https://" + token + ":x-oauth-basic@VMCASTER.appdb.egi.eu:443/store/vo/fedcloud.egi.eu/image.list#top \n", list},
		{"escaped unreserved decoded", "https://vmcaster.appdb.egi.eu/store/vo/fedcloud%2eegi%2Eeu/image.list", list},
		{"path case kept", "https://vmcaster.appdb.egi.eu/Store/vo/fedcloud.egi.eu/image.list", "https://vmcaster.appdb.egi.eu/Store/vo/fedcloud.egi.eu/image.list"},
		{"other escapes upper-cased", "https://h.example/a%2fb?q=%3d", "https://h.example/a%2Fb?q=%3D"},
		{"query kept", "https://h.example/list?vo=x&b=2", "https://h.example/list?vo=x&b=2"},
		{"empty path", "https://h.example", "https://h.example/"},
		{"http default port", "http://H.example:80/x", "http://h.example/x"},
		{"http keeps 443", "http://h.example:443/x", "http://h.example:443/x"},
		{"https keeps 8443", "https://h.example:8443/x", "https://h.example:8443/x"},
		{"empty port", "https://h.example:/x", "https://h.example/x"},
		{"IPv6", "https://[2001:DB8::1]:443/x", "https://[2001:db8::1]/x"},
		{"IPv6 with port", "https://[2001:db8::1]:8443/x", "https://[2001:db8::1]:8443/x"},
		{"oci default port", "OCI://Registry.EGI.eu:443/egi_vm_images/ubuntu:24.04", "oci://registry.egi.eu/egi_vm_images/ubuntu:24.04"},
		{"oci digest", "oci://registry.egi.eu:5000/p/r@sha256:" + strings.Repeat("ab", 32), "oci://registry.egi.eu:5000/p/r@sha256:" + strings.Repeat("ab", 32)},
		{"harbor trailing slash", "harbor://registry.egi.eu/vo.access.egi.eu/", "harbor://registry.egi.eu/vo.access.egi.eu"},
		{"harbor", "harbor://REGISTRY.egi.eu:443/vo.access.egi.eu", "harbor://registry.egi.eu/vo.access.egi.eu"},
		{"absolute path", "/etc/ck/lists/x.list", "/etc/ck/lists/x.list"},
		{"path cleaned", "/etc/ck/./lists//../lists/x.list", "/etc/ck/lists/x.list"},
		{"file URL", "file:///etc/ck/lists/x.list", "/etc/ck/lists/x.list"},
		{"file URL on localhost", "FILE://localhost/etc/ck/lists/x.list", "/etc/ck/lists/x.list"},
		{"file URL escaped", "file:///etc/ck/my%20lists/x.list", "/etc/ck/my lists/x.list"},
		{"relative path made absolute", "lists/x.list", filepath.Join(wd, "lists", "x.list")},
		{"dot relative path", "./lists/../lists/x.list", filepath.Join(wd, "lists", "x.list")},
		{"path containing ://", "./odd://name.json", filepath.Join(wd, "odd:", "name.json")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Key(tt.ref)
			if err != nil {
				t.Fatalf("Key(%q): %v", tt.ref, err)
			}
			if got != tt.want {
				t.Errorf("Key(%q) = %q, want %q", tt.ref, got, tt.want)
			}
			if strings.Contains(got, token) {
				t.Errorf("key %q holds the token", got)
			}
			// Every source ck can read has the same key parsed as written,
			// and re-keyed from its printed (credential-free) form.
			s, err := ParseSource(tt.ref)
			if err != nil {
				t.Fatalf("ParseSource(%q): %v", tt.ref, err)
			}
			if s.Key() != tt.want {
				t.Errorf("ParseSource(%q).Key() = %q, want %q", tt.ref, s.Key(), tt.want)
			}
			if k, err := Key(s.String()); err != nil || k != tt.want {
				t.Errorf("Key(String()) = %q, %v; want %q", k, err, tt.want)
			}
		})
	}
}

func TestKeyDistinguishes(t *testing.T) {
	pairs := [][2]string{
		{"https://h.example/x", "http://h.example/x"},
		{"https://h.example/x", "https://h.example:8443/x"},
		{"https://h.example/x", "https://h.example/X"},
		{"https://h.example/x", "https://h.example/x?vo=a"},
		{"https://h.example/a%2Fb", "https://h.example/a/b"},
		{"https://a.example/x", "https://b.example/x"},
		{"/etc/ck/x.list", "/etc/ck/X.list"},
		{"oci://r.example/p/r:1", "oci://r.example/p/r:2"},
	}
	for _, p := range pairs {
		a, errA := Key(p[0])
		b, errB := Key(p[1])
		if errA != nil || errB != nil || a == b {
			t.Errorf("Key(%q) = %q, Key(%q) = %q (%v, %v): want two different keys", p[0], a, p[1], b, errA, errB)
		}
	}
}

func TestKeyErrors(t *testing.T) {
	tests := []struct{ ref, want string }{
		{"", "empty"},
		{"https:///x.list", "no host"},
		{"https://" + token + ":x-oauth-basic@exa mple.org/x", "invalid URL"},
		{"file://server/x.list", `names host "server"`},
		{"file://", "no path"},
		{"oci://robot$ck:" + token + "@registry.egi.eu/egi_vm_images/ubuntu", "credentials are not allowed"},
		{"oci://registry.egi.eu/p/r@sha256:abc", "not sha256:<64"},
	}
	for _, tt := range tests {
		_, err := Key(tt.ref)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Key(%q) error = %v, want one containing %q", tt.ref, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), token) {
			t.Errorf("Key(%q) error leaks the token: %v", tt.ref, err)
		}
	}
}

func TestSendsCredentialsInClear(t *testing.T) {
	tests := []struct {
		ref  string
		want bool
	}{
		{"http://" + token + ":x-oauth-basic@h.example/x", true},
		{"HTTP://" + token + "@h.example/x", true},
		{"https://" + token + ":x-oauth-basic@h.example/x", false},
		{"http://h.example/x", false},
		{"/etc/ck/x.list", false},
	}
	for _, tt := range tests {
		s, err := ParseSource(tt.ref)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.SendsCredentialsInClear(); got != tt.want {
			t.Errorf("ParseSource(%q).SendsCredentialsInClear() = %v, want %v", s, got, tt.want)
		}
		if got := URLSendsCredentialsInClear(tt.ref); got != tt.want && !s.IsFile() {
			t.Errorf("URLSendsCredentialsInClear(%q) = %v, want %v", s, got, tt.want)
		}
	}
}

// FuzzKey checks the invariants pin matching relies on: a source readable
// by ParseSource has one key however it is reached (parsed, or re-keyed from
// its printed form, which holds no credentials).
func FuzzKey(f *testing.F) {
	for _, seed := range []string{
		"https://" + token + ":x-oauth-basic@VMCaster.appdb.egi.eu:443/store/vo/x/image.list#f",
		"http://u:p@h.example:80/a%2fb%7e?q=%3d", "file://localhost/etc/x.list", "./odd://name.json",
		"https://[2001:DB8::1]:443/x", "oci://r.example/p/r@sha256:" + strings.Repeat("ab", 32), "harbor://R.example:443/p/", "lists/../x.list",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, ref string) {
		s, err := ParseSource(ref)
		if err != nil {
			return
		}
		k, err := Key(ref)
		if err != nil {
			t.Fatalf("ParseSource(%q) succeeded, Key failed: %v", ref, err)
		}
		if k != s.Key() {
			t.Fatalf("Key(%q) = %q, ParseSource().Key() = %q", ref, k, s.Key())
		}
		// String never holds credentials (TestSourceNeverPrintsCredentials),
		// so neither does a key equal to its key.
		if k2, err := Key(s.String()); err != nil || k2 != k {
			t.Fatalf("Key(String() = %q) = %q, %v; want %q", s.String(), k2, err, k)
		}
	})
}
