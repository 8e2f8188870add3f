package cmdutil

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

func loadAtropeConfig(t *testing.T, sources, config string, args ...string) (*Globals, error) {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(dir, "sources.yaml")
	if err := os.WriteFile(src, []byte(sources), 0o600); err != nil {
		t.Fatal(err)
	}
	fs := pflag.NewFlagSet("ck", pflag.ContinueOnError)
	g := &Globals{}
	BindGlobals(fs, g)
	argv := append([]string{"--atrope-sources", src}, args...)
	if config != "" {
		cfg := filepath.Join(dir, "ck.yaml")
		if err := os.WriteFile(cfg, []byte(config), 0o600); err != nil {
			t.Fatal(err)
		}
		argv = append(argv, "--config", cfg)
	}
	if err := fs.Parse(argv); err != nil {
		t.Fatal(err)
	}
	return g, ApplyEnvAndConfig(fs, nil, nil, g, func(string) string { return "" })
}

func TestAtropeSourcesBecomeSubscriptions(t *testing.T) {
	data, err := os.ReadFile("../../../testdata/atrope/sources.yaml")
	if err != nil {
		t.Fatal(err)
	}
	g, err := loadAtropeConfig(t, string(data), "")
	if err != nil {
		t.Fatal(err)
	}
	wantSubs := []string{
		"https://vmcaster.appdb.egi.eu/store/vappliance/tinycorelinux/image.list",
		"https://0123456789abcdef-appdb-token:x-oauth-basic@vmcaster.appdb.egi.eu/store/vo/fedcloud.egi.eu/image.list",
		"harbor://registry.egi.eu/egi_vm_images",
		"harbor://registry.egi.eu/vo.access.egi.eu",
	}
	if !reflect.DeepEqual(g.atrope.subscriptions, wantSubs) || !reflect.DeepEqual(g.atrope.disabled, []string{"old-list"}) || !g.ShareMembersByDefault() {
		t.Fatalf("site = %+v", g.atrope)
	}
	fed, ok := g.ListEntry("https://vmcaster.appdb.egi.eu/store/vo/fedcloud.egi.eu/image.list")
	if !ok {
		t.Fatal("no entry for the fedcloud list (keyed without its token)")
	}
	if p := fed.Pin(); p == nil || p.EndorserDN != "/DC=EU/DC=EGI/C=NL/O=Hosts/O=EGI.eu/CN=appdb.egi.eu" ||
		fed.Prefix != "FEDCLOUD " || !reflect.DeepEqual(fed.VOs, []string{"fedcloud.egi.eu"}) ||
		!reflect.DeepEqual(fed.Images, []string{"662b0e71-3e21-5f43-b6a1-cc2f51319fa7"}) || fed.Origin != `atrope sources.yaml "vo.fedcloud.egi.eu"` {
		t.Errorf("fedcloud entry = %+v", fed)
	}
	h, ok := g.ListEntry("harbor://registry.egi.eu/egi_vm_images")
	if !ok {
		t.Fatal("no entry for egi_vm_images")
	}
	set := h.Registry()
	if set.HarborAPI != "" || set.TagPattern == nil || set.TagPattern.String() != `^(?:^[^-]*$)` || set.Auth.Username != "robot$catchall+sync" ||
		set.Auth.Password != "catchall-robot-s3cret" || h.Prefix != "registry.egi.eu " || len(set.VOs) != 2 {
		t.Errorf("harbor entry = %+v, settings %+v", h, set)
	}
}

func TestAtropeSourcesErrors(t *testing.T) {
	tests := []struct{ name, sources, config, want string }{
		{"plain http api", "h:\n  type: harbor\n  project: p\n  api_url: http://harbor.example/api/v2.0\n", "", "harbor_api: want an https:// URL"},
		{"config entry for an atrope source", "l:\n  url: https://h.example/a.list\n", "lists:\n  - url: https://h.example/a.list\n    convert_to: raw\n", "set it there"},
		{"unknown key", "l:\n  url: https://h.example/a.list\n  colour: blue\n", "", `unknown key "colour"`},
		{"two sources, one list", "a:\n  url: https://h.example/a.list\nb:\n  url: https://H.example:443/a.list\n", "", "names the same list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadAtropeConfig(t, tt.sources, tt.config)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
	if _, err := loadAtropeConfig(t, "l:\n  url: https://h.example/a.list\n", "", "--image-lists-file", "/etc/x.conf"); err == nil || !strings.Contains(err.Error(), "not both") {
		t.Errorf("both files: %v", err)
	}
}

func TestSealKeyFile(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		name, content string
		mode          os.FileMode
		want          string
	}{
		{"good", strings.Repeat("k", 32), 0o600, ""},
		{"short", "short", 0o600, "want 32 or more"},
		{"readable by others", strings.Repeat("k", 32), 0o644, "readable by others"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, tt.name)
			if err := os.WriteFile(p, []byte(tt.content), tt.mode); err != nil {
				t.Fatal(err)
			}
			os.Chmod(p, tt.mode)
			f := &Factory{Globals: &Globals{SealKeyFile: p}}
			key, err := f.SealKey()
			if tt.want == "" {
				if err != nil || len(key) != 32 {
					t.Fatalf("%v, %d bytes", err, len(key))
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
	f := &Factory{Globals: &Globals{SealKeyFile: filepath.Join(dir, "missing")}}
	if _, err := f.SealKey(); err == nil || !strings.Contains(err.Error(), "head -c 32 /dev/urandom") {
		t.Errorf("missing file: %v", err)
	}
	if key, err := (&Factory{Globals: &Globals{}}).SealKey(); key != nil || err != nil {
		t.Errorf("unset: %v %v", key, err)
	}
}
