package cmdutil

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func TestPrecedence(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "ck.yaml")
	if err := os.WriteFile(cfg, []byte("ca-dir: /from/file\ntag: filetag\nparallel: 7\ntimeout: 5s\nlists:\n  - url: https://example.org/image.list\n    endorser_dn: /CN=x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		env      map[string]string
		wantCA   string
		wantTag  string
		wantPar  int
		wantTime time.Duration
	}{
		{"defaults", nil, nil, DefaultCADir, "ck", 2, 60 * time.Second},
		{"file", []string{"--config", cfg}, nil, "/from/file", "filetag", 7, 5 * time.Second},
		{"env beats file", []string{"--config", cfg}, map[string]string{"CK_CA_DIR": "/from/env"}, "/from/env", "filetag", 7, 5 * time.Second},
		{"flag beats env", []string{"--config", cfg, "--ca-dir", "/from/flag"}, map[string]string{"CK_CA_DIR": "/from/env"}, "/from/flag", "filetag", 7, 5 * time.Second},
		{"config from env", nil, map[string]string{"CK_CONFIG": cfg, "CK_PARALLEL": "3"}, "/from/file", "filetag", 3, 5 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := pflag.NewFlagSet("ck", pflag.ContinueOnError)
			g := &Globals{}
			BindGlobals(fs, g)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			getenv := func(k string) string { return tt.env[k] }
			if err := ApplyEnvAndConfig(fs, nil, nil, g, getenv); err != nil {
				t.Fatal(err)
			}
			if g.CADir != tt.wantCA || g.Tag != tt.wantTag || g.Parallel != tt.wantPar || g.Timeout != tt.wantTime {
				t.Errorf("got ca-dir=%q tag=%q parallel=%d timeout=%v, want %q %q %d %v",
					g.CADir, g.Tag, g.Parallel, g.Timeout, tt.wantCA, tt.wantTag, tt.wantPar, tt.wantTime)
			}
		})
	}
}

func TestConfigPins(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "ck.yaml")
	os.WriteFile(cfg, []byte("lists:\n  - url: https://example.org/a.list\n    endorser_dn: /CN=a\n    endorser_ca: /CN=ca\n    list_id: abc\n"), 0o644)
	fs := pflag.NewFlagSet("ck", pflag.ContinueOnError)
	g := &Globals{}
	BindGlobals(fs, g)
	fs.Parse([]string{"--config", cfg})
	if err := ApplyEnvAndConfig(fs, nil, nil, g, func(string) string { return "" }); err != nil {
		t.Fatal(err)
	}
	want := ListEntry{URL: "https://example.org/a.list", EndorserDN: "/CN=a", EndorserCA: "/CN=ca", ListID: "abc", key: "https://example.org/a.list"}
	if len(g.ListEntries) != 1 || !reflect.DeepEqual(g.ListEntries[0], want) {
		t.Fatalf("lists = %+v, want [%+v]", g.ListEntries, want)
	}
}

func TestConfigAndEnvErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(body), 0o644)
		return p
	}
	tests := []struct {
		name     string
		args     []string
		env      map[string]string
		wantFlag string
	}{
		{"unknown key", []string{"--config", write("a.yaml", "ca_dir: /x\n")}, nil, "--config"},
		{"bad yaml", []string{"--config", write("b.yaml", "a: [\n")}, nil, "--config"},
		{"bad value in file", []string{"--config", write("c.yaml", "parallel: many\n")}, nil, "--config"},
		{"missing file", []string{"--config", filepath.Join(dir, "nope.yaml")}, nil, "--config"},
		{"pin without url", []string{"--config", write("d.yaml", "lists:\n  - list_id: x\n")}, nil, "--config"},
		{"bad env", nil, map[string]string{"CK_TIMEOUT": "soon"}, "CK_TIMEOUT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := pflag.NewFlagSet("ck", pflag.ContinueOnError)
			g := &Globals{}
			BindGlobals(fs, g)
			fs.Parse(tt.args)
			err := ApplyEnvAndConfig(fs, nil, nil, g, func(k string) string { return tt.env[k] })
			var ue *UsageError
			if !errors.As(err, &ue) || ue.Flag != tt.wantFlag {
				t.Fatalf("err = %v, want a UsageError for %s", err, tt.wantFlag)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	ok := func() Globals {
		return Globals{Output: "text", LogFormat: "text", LogLevel: "info", Progress: "auto", Parallel: 2, Tag: "ck", Timeout: time.Second}
	}
	tests := []struct {
		name     string
		mutate   func(*Globals)
		wantFlag string
	}{
		{"valid", func(*Globals) {}, ""},
		{"output", func(g *Globals) { g.Output = "yaml" }, "--output"},
		{"log format", func(g *Globals) { g.LogFormat = "xml" }, "--log-format"},
		{"log level", func(g *Globals) { g.LogLevel = "loud" }, "--log-level"},
		{"progress", func(g *Globals) { g.Progress = "sometimes" }, "--progress"},
		{"parallel", func(g *Globals) { g.Parallel = 0 }, "--parallel"},
		{"tag", func(g *Globals) { g.Tag = "" }, "--tag"},
		{"timeout", func(g *Globals) { g.Timeout = 0 }, "--timeout"},
		{"site", func(g *Globals) { g.Site = "site-a.example_1" }, ""},
		{"site with a space", func(g *Globals) { g.Site = "site a" }, "--site"},
		{"site with a slash", func(g *Globals) { g.Site = "../a" }, "--site"},
		{"site escaped by systemd", func(g *Globals) { g.Site = `site\x20a` }, "--site"},
		{"site starting with a dash", func(g *Globals) { g.Site = "-a" }, "--site"},
		{"site too long", func(g *Globals) { g.Site = strings.Repeat("a", 64) }, "--site"},
		{"site with a newline", func(g *Globals) { g.Site = "a\nb" }, "--site"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := ok()
			tt.mutate(&g)
			err := g.Validate()
			if tt.wantFlag == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var ue *UsageError
			if !errors.As(err, &ue) || ue.Flag != tt.wantFlag {
				t.Fatalf("err = %v, want a UsageError for %s", err, tt.wantFlag)
			}
		})
	}
}

func TestConfigConvertTo(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		name, body string
		ok         bool
	}{
		{"valid", "lists:\n  - url: https://a/list\n    convert_to: raw\n  - url: https://b/list\n    convert_to: none\n", true},
		{"invalid", "lists:\n  - url: https://a/list\n    convert_to: vmdk\n", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := filepath.Join(dir, tt.name+".yaml")
			os.WriteFile(cfg, []byte(tt.body), 0o644)
			fs := pflag.NewFlagSet("ck", pflag.ContinueOnError)
			g := &Globals{}
			BindGlobals(fs, g)
			fs.Parse([]string{"--config", cfg})
			err := ApplyEnvAndConfig(fs, nil, nil, g, func(string) string { return "" })
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v, want ok=%v", err, tt.ok)
			}
			if tt.ok && (g.ListEntries[0].ConvertTo != "raw" || g.ListEntries[1].ConvertTo != "none") {
				t.Errorf("lists = %+v", g.ListEntries)
			}
		})
	}
}

// TestSiteSources: --site comes from the flag, CK_SITE or the site file's
// site: key like every global; unset, it is empty (no label, no attribute).
func TestSiteSources(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "site-a.yaml")
	if err := os.WriteFile(cfg, []byte("site: from-file\nos-cloud: site-a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"unset", nil, nil, ""},
		{"file", []string{"--config", cfg}, nil, "from-file"},
		{"env beats file", []string{"--config", cfg}, map[string]string{"CK_SITE": "from-env"}, "from-env"},
		{"flag beats env", []string{"--config", cfg, "--site", "from-flag"}, map[string]string{"CK_SITE": "from-env"}, "from-flag"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := pflag.NewFlagSet("ck", pflag.ContinueOnError)
			g := &Globals{}
			BindGlobals(fs, g)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			if err := ApplyEnvAndConfig(fs, nil, nil, g, func(k string) string { return tt.env[k] }); err != nil {
				t.Fatal(err)
			}
			if g.Site != tt.want {
				t.Errorf("site = %q, want %q", g.Site, tt.want)
			}
		})
	}
}

// TestExampleConfigs: the shipped example files load without an unknown
// key, so a renamed flag cannot leave them behind.
func TestExampleConfigs(t *testing.T) {
	for _, file := range []string{"config.yaml", "sites/example.yaml"} {
		t.Run(file, func(t *testing.T) {
			path := filepath.Join("..", "..", "..", "contrib", "etc", "ck", file)
			fs := pflag.NewFlagSet("ck", pflag.ContinueOnError)
			g := &Globals{}
			BindGlobals(fs, g)
			if err := fs.Parse([]string{"--config", path}); err != nil {
				t.Fatal(err)
			}
			if err := ApplyEnvAndConfig(fs, nil, nil, g, func(string) string { return "" }); err != nil {
				t.Fatal(err)
			}
			if err := g.Validate(); err != nil {
				t.Fatal(err)
			}
		})
	}
}
