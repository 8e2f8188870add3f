package ociref

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	const dg = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	tests := []struct {
		name, in string
		want     Ref
		canon    string
	}{
		{"repository", "oci://registry.egi.eu/egi_vm_images/ubuntu",
			Ref{Kind: KindRepository, Host: "registry.egi.eu", Repository: "egi_vm_images/ubuntu", Project: "egi_vm_images"},
			"oci://registry.egi.eu/egi_vm_images/ubuntu"},
		{"tag", "oci://registry.egi.eu/egi_vm_images/ubuntu:24.04",
			Ref{Kind: KindTag, Host: "registry.egi.eu", Repository: "egi_vm_images/ubuntu", Project: "egi_vm_images", Tag: "24.04"},
			"oci://registry.egi.eu/egi_vm_images/ubuntu:24.04"},
		{"digest", "oci://registry.egi.eu/egi_vm_images/ubuntu@" + dg,
			Ref{Kind: KindDigest, Host: "registry.egi.eu", Repository: "egi_vm_images/ubuntu", Project: "egi_vm_images", Digest: dg},
			"oci://registry.egi.eu/egi_vm_images/ubuntu@" + dg},
		{"host case and default port", "OCI://Registry.EGI.eu:443/egi_vm_images/ubuntu",
			Ref{Kind: KindRepository, Host: "registry.egi.eu", Repository: "egi_vm_images/ubuntu", Project: "egi_vm_images"},
			"oci://registry.egi.eu/egi_vm_images/ubuntu"},
		{"port kept", "oci://127.0.0.1:5443/p/a/b:1.0",
			Ref{Kind: KindTag, Host: "127.0.0.1:5443", Repository: "p/a/b", Project: "p", Tag: "1.0"},
			"oci://127.0.0.1:5443/p/a/b:1.0"},
		{"harbor project", "harbor://registry.egi.eu/vo.access.egi.eu",
			Ref{Kind: KindProject, Host: "registry.egi.eu", Project: "vo.access.egi.eu"},
			"harbor://registry.egi.eu/vo.access.egi.eu"},
		{"harbor trailing slash", "harbor://registry.egi.eu:443/egi_vm_images/",
			Ref{Kind: KindProject, Host: "registry.egi.eu", Project: "egi_vm_images"},
			"harbor://registry.egi.eu/egi_vm_images"},
		{"ipv6", "oci://[::1]:5000/p/r",
			Ref{Kind: KindRepository, Host: "[::1]:5000", Repository: "p/r", Project: "p"},
			"oci://[::1]:5000/p/r"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("Parse(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
			if got.String() != tt.canon {
				t.Errorf("String() = %q, want %q", got.String(), tt.canon)
			}
			again, err := Parse(got.String())
			if err != nil || again != got {
				t.Errorf("canonical form does not parse back: %+v, %v", again, err)
			}
		})
	}
}

func TestParseRefuses(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"credentials", "oci://robot$ck:s3cr3t@registry.egi.eu/p/r", "credentials are not allowed"},
		{"stray at in path", "oci://registry.egi.eu/p/r@latest", "credentials are not allowed"},
		{"one component", "oci://registry.egi.eu/ubuntu", "at least two components"},
		{"upper-case repo", "oci://registry.egi.eu/P/Ubuntu", "not valid"},
		{"bad digest", "oci://registry.egi.eu/p/r@sha256:abc", "not sha256"},
		{"bad tag", "oci://registry.egi.eu/p/r:-x", "not a valid OCI tag"},
		{"query", "oci://registry.egi.eu/p/r?x=1", "query or fragment"},
		{"no host", "oci:///p/r", "no host"},
		{"bad port", "oci://registry.egi.eu:99999/p/r", "invalid port"},
		{"harbor nested", "harbor://registry.egi.eu/a/b", "Harbor project name"},
		{"harbor empty", "harbor://registry.egi.eu", "Harbor project name"},
		{"other scheme", "https://registry.egi.eu/p/r", "want oci://"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.in)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse(%q) = %v, want an error containing %q", tt.in, err, tt.want)
			}
			if strings.Contains(err.Error(), "s3cr3t") || strings.Contains(err.Error(), "robot$ck") {
				t.Errorf("error shows the credentials: %v", err)
			}
		})
	}
}

// A password may hold "/" and "@": whatever the "@" that ends the
// userinfo is preceded by, the source is refused as credentials-in-URL and
// no part of the user or password reaches the error.
func TestParseHidesCredentials(t *testing.T) {
	const dg = "@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	tests := []struct {
		name, in string
		secrets  []string
	}{
		{"slash in password", "oci://robot:s3cr/et@registry.egi.eu/p/r", []string{"robot", "s3cr"}},
		{"slash in password, digest", "oci://robot:s3cr/et@registry.egi.eu/p/r" + dg, []string{"robot", "s3cr"}},
		{"slash in password, harbor", "harbor://robot:pa55/w0rd@registry.egi.eu/p", []string{"robot", "pa55", "w0rd"}},
		{"at and slash in password", "oci://robot:pa@55/w0rd@registry.egi.eu/p/r:1", []string{"robot", "pa@55", "w0rd"}},
		{"password like a digest", "oci://robot:x/y" + dg + "@registry.egi.eu/p/r", []string{"robot", "x/y"}},
		{"no host after it", "oci://robot:pa55/w0rd@", []string{"robot", "pa55", "w0rd"}},
		{"user only, slash", "oci://r0b/0t@registry.egi.eu/p/r", []string{"r0b", "0t@"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.in)
			if err == nil || !strings.Contains(err.Error(), "credentials are not allowed") {
				t.Fatalf("Parse(%q) = %v, want credentials refused", tt.in, err)
			}
			for _, sec := range tt.secrets {
				if strings.Contains(err.Error(), sec) {
					t.Errorf("error shows %q: %v", sec, err)
				}
			}
		})
	}
}

func TestIsRegistry(t *testing.T) {
	for in, want := range map[string]bool{
		"oci://h/p/r": true, "HARBOR://h/p": true, " oci://x/y/z ": true,
		"https://h/l": false, "/etc/ck/list": false, "oci:/h/p": false,
	} {
		if got := IsRegistry(in); got != want {
			t.Errorf("IsRegistry(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestCovers(t *testing.T) {
	proj, _ := Parse("harbor://registry.egi.eu/egi_vm_images")
	repo, _ := Parse("oci://registry.egi.eu/egi_vm_images/ubuntu:24.04")
	tests := []struct {
		ref        Ref
		host, repo string
		want       bool
	}{
		{proj, "registry.egi.eu", "egi_vm_images/ubuntu", true},
		{proj, "registry.egi.eu", "egi_vm_images_x/ubuntu", false},
		{proj, "other.eu", "egi_vm_images/ubuntu", false},
		{repo, "registry.egi.eu", "egi_vm_images/ubuntu", true},
		{repo, "registry.egi.eu", "egi_vm_images/alma", false},
	}
	for _, tt := range tests {
		if got := tt.ref.Covers(tt.host, tt.repo); got != tt.want {
			t.Errorf("%s.Covers(%s, %s) = %v, want %v", tt.ref, tt.host, tt.repo, got, tt.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"oci://registry.egi.eu/egi_vm_images/ubuntu:24.04", "harbor://h:8443/p", "oci://[::1]/a/b@sha256:" + strings.Repeat("a", 64), "oci://u:p@h/a/b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := Parse(s)
		if err != nil {
			return
		}
		again, err := Parse(r.String())
		if err != nil || again != r {
			t.Fatalf("%q parsed to %+v whose String %q parses to %+v, %v", s, r, r.String(), again, err)
		}
	})
}
