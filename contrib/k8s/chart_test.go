// Tests of the chart in ck/: rendered by the real helm (bin/helm, built by
// `make helm`; $CK_HELM or helm on PATH also do), then read back as YAML
// and checked for what a site needs: its own CronJob, ConfigMap and
// Secret, its --site, a start time of its own, the pod's hardening, and a
// site.yaml that ck itself accepts. Without helm the tests skip, or fail
// under CI=true.
package k8s_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"

	"github.com/ck-sync/ck/pkg/cli/cmdutil"
)

// readChart reads every file of the chart: helm reads them in another
// process, which go test's cache does not see, so without this an edited
// template would leave a cached "ok" standing. (Reads in TestMain before
// m.Run are not seen either: each test calls it, through helmBinary.)
func readChart(t *testing.T) {
	t.Helper()
	err := filepath.WalkDir("ck", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		_, err = os.ReadFile(path)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func helmBinary(t *testing.T) string {
	t.Helper()
	readChart(t)
	if h := os.Getenv("CK_HELM"); h != "" {
		return h
	}
	if h, err := filepath.Abs(filepath.Join("..", "..", "bin", "helm")); err == nil {
		if _, err := os.Stat(h); err == nil {
			return h
		}
	}
	if h, err := exec.LookPath("helm"); err == nil {
		return h
	}
	if os.Getenv("CI") != "" {
		t.Fatal("helm not found (bin/helm, $CK_HELM, PATH): run `make helm`")
	}
	t.Skip("helm not found (bin/helm, $CK_HELM, PATH): `make helm` builds it")
	return ""
}

// render runs helm template on the chart with the values files given
// (none: the chart's own values.yaml) and returns the documents by kind
// and name, or helm's error output.
func render(t *testing.T, values ...string) (map[string]map[string]any, error) {
	t.Helper()
	args := []string{"template", "ck", "ck"}
	for _, v := range values {
		args = append(args, "-f", v)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(helmBinary(t), args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%v: %s", err, stderr.String())
	}
	docs := map[string]map[string]any{}
	dec := yaml.NewDecoder(&stdout)
	for {
		var doc map[string]any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("rendered YAML does not parse: %v", err)
		}
		if doc == nil {
			continue
		}
		key := fmt.Sprintf("%v/%v", doc["kind"], get(t, doc, "metadata", "name"))
		if _, dup := docs[key]; dup {
			t.Fatalf("%s rendered twice", key)
		}
		docs[key] = doc
	}
	return docs, nil
}

// get walks doc by map keys and list indexes ("0").
func get(t *testing.T, doc any, path ...string) any {
	t.Helper()
	cur := doc
	for i, p := range path {
		switch c := cur.(type) {
		case map[string]any:
			cur = c[p]
		case []any:
			n, err := strconv.Atoi(p)
			if err != nil || n >= len(c) {
				t.Fatalf("%s: no item %s", strings.Join(path[:i], "."), p)
			}
			cur = c[n]
		default:
			t.Fatalf("%s: not a map or list: %v", strings.Join(path[:i], "."), cur)
		}
	}
	return cur
}

func writeValues(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "values.yaml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLint(t *testing.T) {
	out, err := exec.Command(helmBinary(t), "lint", "--strict", "ck").CombinedOutput()
	if err != nil {
		t.Fatalf("helm lint --strict: %v\n%s", err, out)
	}
}

// TestManySites renders 25 sites from one values file, as the federation's
// central host has them, and checks each site's objects and start time.
func TestManySites(t *testing.T) {
	var b strings.Builder
	b.WriteString("sites:\n")
	const n = 25
	for i := range n {
		fmt.Fprintf(&b, "  - name: site-%02d\n    config: {os-cloud: cloud-%02d, mapping-file: /etc/ck/site/mapping.json}\n    files: {mapping.json: '{}'}\n", i, i)
	}
	fmt.Fprintf(&b, "  - name: fixed\n    schedule: \"5 4 * * *\"\n    config: {os-cloud: fixed}\n")
	docs, err := render(t, writeValues(t, b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 2*(n+1) {
		t.Errorf("%d objects rendered, want a ConfigMap and a CronJob for each of %d sites", len(docs), n+1)
	}
	starts := map[int]string{}
	for i := range n {
		site := fmt.Sprintf("site-%02d", i)
		cj := docs["CronJob/ck-sync-"+site]
		if cj == nil {
			t.Fatalf("no CronJob ck-sync-%s", site)
		}
		checkCronJob(t, site, cj)
		cm := docs["ConfigMap/ck-site-"+site]
		if cm == nil {
			t.Fatalf("no ConfigMap ck-site-%s", site)
		}
		if get(t, cm, "data", "mapping.json") != "{}\n" {
			t.Errorf("%s: mapping.json = %q", site, get(t, cm, "data", "mapping.json"))
		}
		cfg := loadSiteConfig(t, site, get(t, cm, "data", "site.yaml").(string))
		if cfg.OSCloud != fmt.Sprintf("cloud-%02d", i) || cfg.MappingFile != "/etc/ck/site/mapping.json" || !cfg.RequireCRL {
			t.Errorf("%s: site.yaml gave os-cloud=%q mapping-file=%q require-crl=%v", site, cfg.OSCloud, cfg.MappingFile, cfg.RequireCRL)
		}

		// Every 3 hours, at a minute of the period that is the site's own.
		sched := get(t, cj, "spec", "schedule").(string)
		var minute, hour int
		if _, err := fmt.Sscanf(sched, "%d %d-23/3 * * *", &minute, &hour); err != nil || minute > 59 || hour > 2 {
			t.Fatalf("%s: schedule %q is not every 3 hours from a start in the first 3", site, sched)
		}
		start := hour*60 + minute
		if other, ok := starts[start]; ok {
			t.Errorf("%s starts at the same time as %s (%q)", site, other, sched)
		}
		starts[start] = site
	}
	// Evenly spread: every site, even one with its own schedule, has a
	// turn: 180 minutes / 26 sites, 6 minutes or more apart.
	gap := 180 / (n + 1)
	prev := -1
	for m := range 180 {
		if _, ok := starts[m]; !ok {
			continue
		}
		if prev >= 0 && m-prev < gap {
			t.Errorf("starts at minute %d and %d of the period: closer than %d minutes", prev, m, gap)
		}
		prev = m
	}
	if got := get(t, docs["CronJob/ck-sync-fixed"], "spec", "schedule"); got != "5 4 * * *" {
		t.Errorf("a site's own schedule was replaced: %q", got)
	}
	for key := range docs {
		if strings.HasPrefix(key, "Secret/") {
			t.Errorf("the chart rendered %s: credentials must stay out of values and manifests", key)
		}
	}
}

// checkCronJob: the site's own args, Secret and ConfigMap, and the pod
// hardening of the single-site example it replaces.
func checkCronJob(t *testing.T, site string, cj map[string]any) {
	t.Helper()
	spec := func(path ...string) any {
		return get(t, cj, append([]string{"spec", "jobTemplate", "spec", "template", "spec"}, path...)...)
	}
	want := map[string]any{
		"concurrencyPolicy": "Forbid",
	}
	for k, v := range want {
		if got := get(t, cj, "spec", k); got != v {
			t.Errorf("%s: spec.%s = %v, want %v", site, k, got, v)
		}
	}
	if got := get(t, cj, "spec", "jobTemplate", "spec", "backoffLimit"); got != 0 {
		t.Errorf("%s: backoffLimit = %v, want 0", site, got)
	}
	args := fmt.Sprint(spec("containers", "0", "args"))
	if wantArgs := fmt.Sprintf("[sync --config /etc/ck/site/site.yaml --site %s --log-format json --progress never]", site); args != wantArgs {
		t.Errorf("%s: args %s, want %s", site, args, wantArgs)
	}
	if got := fmt.Sprint(spec("containers", "0", "env")); got != "[map[name:OS_CLIENT_CONFIG_FILE value:/etc/ck/secret/clouds.yaml]]" {
		t.Errorf("%s: env %s: want only OS_CLIENT_CONFIG_FILE (CK_* would override the site file)", site, got)
	}
	volumes := map[string]string{}
	for _, v := range spec("volumes").([]any) {
		v := v.(map[string]any)
		switch {
		case v["secret"] != nil:
			volumes[v["name"].(string)] = "secret " + get(t, v, "secret", "secretName").(string)
		case v["configMap"] != nil:
			volumes[v["name"].(string)] = "configMap " + get(t, v, "configMap", "name").(string)
		}
	}
	if volumes["secret"] != "secret ck-clouds-"+site || volumes["site"] != "configMap ck-site-"+site || volumes["ca"] != "configMap ck-ca" {
		t.Errorf("%s: volumes %v, want its own Secret ck-clouds-%s and ConfigMap ck-site-%s, the shared ck-ca", site, volumes, site, site)
	}
	hardening := []struct {
		path []string
		want any
	}{
		{[]string{"automountServiceAccountToken"}, false},
		{[]string{"restartPolicy"}, "Never"},
		{[]string{"securityContext", "runAsNonRoot"}, true},
		{[]string{"securityContext", "fsGroup"}, 65532},
		{[]string{"securityContext", "seccompProfile", "type"}, "RuntimeDefault"},
		{[]string{"containers", "0", "securityContext", "allowPrivilegeEscalation"}, false},
		{[]string{"containers", "0", "securityContext", "readOnlyRootFilesystem"}, true},
		{[]string{"containers", "0", "securityContext", "capabilities", "drop", "0"}, "ALL"},
	}
	for _, h := range hardening {
		if got := spec(h.path...); got != h.want {
			t.Errorf("%s: %s = %v, want %v", site, strings.Join(h.path, "."), got, h.want)
		}
	}
}

// loadSiteConfig reads a rendered site.yaml the way ck does, so a key ck
// does not know fails here rather than in the first run.
func loadSiteConfig(t *testing.T, site, body string) *cmdutil.Globals {
	t.Helper()
	path := filepath.Join(t.TempDir(), site+".yaml")
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	fs := pflag.NewFlagSet("ck", pflag.ContinueOnError)
	g := &cmdutil.Globals{}
	cmdutil.BindGlobals(fs, g)
	if err := fs.Parse([]string{"--config", path, "--site", site}); err != nil {
		t.Fatal(err)
	}
	if err := cmdutil.ApplyEnvAndConfig(fs, nil, nil, g, func(string) string { return "" }); err != nil {
		t.Fatalf("%s: ck refuses its site.yaml: %v\n%s", site, err, body)
	}
	if err := g.Validate(); err != nil {
		t.Fatalf("%s: %v", site, err)
	}
	return g
}

// TestChartValues: the chart's own values render, and ck accepts the site
// file they make; a site's config overrides siteDefaults key by key, and
// null drops a default.
func TestChartValues(t *testing.T) {
	docs, err := render(t)
	if err != nil {
		t.Fatal(err)
	}
	checkCronJob(t, "example", docs["CronJob/ck-sync-example"])
	loadSiteConfig(t, "example", get(t, docs["ConfigMap/ck-site-example"], "data", "site.yaml").(string))

	docs, err = render(t, writeValues(t, "sites:\n  - {name: a, config: {os-cloud: a, require-crl: null, parallel: 0, tag: site-a}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	body := get(t, docs["ConfigMap/ck-site-a"], "data", "site.yaml").(string)
	var cfg map[string]any
	if err := yaml.Unmarshal([]byte(body), &cfg); err != nil {
		t.Fatal(err)
	}
	if _, ok := cfg["require-crl"]; ok || cfg["parallel"] != 0 || cfg["tag"] != "site-a" || cfg["ca-dir"] != "/etc/grid-security/certificates" {
		t.Errorf("site.yaml %v: want require-crl dropped, parallel 0 and tag site-a from the site, ca-dir from siteDefaults", cfg)
	}
	if got := get(t, docs["CronJob/ck-sync-a"], "spec", "schedule"); got != "0 0-23/3 * * *" {
		t.Errorf("one site: schedule %q, want the start of the period", got)
	}
}

// TestBadValues: values the chart cannot honour are refused, naming the
// value, rather than rendered into something else.
func TestBadValues(t *testing.T) {
	tests := []struct {
		name, values, want string
	}{
		{"upper-case name", "sites:\n  - {name: Site-A, config: {}}\n", "/sites/0/name"},
		{"name too long for a CronJob", "sites:\n  - {name: " + strings.Repeat("a", 45) + ", config: {}}\n", "/sites/0/name"},
		{"site twice", "sites:\n  - {name: a, config: {}}\n  - {name: a, config: {}}\n", `sites[1]: site "a" is listed twice`},
		{"misspelt key of a site", "sites:\n  - {name: a, config: {}, schedul: '1 * * * *'}\n", "'schedul' not allowed"},
		{"site without config", "sites:\n  - {name: a}\n", "config"},
		{"no sites", "sites: []\n", "/sites"},
		{"period not dividing the day", "everyHours: 5\n", "everyHours: 5 does not divide 24"},
		{"file hiding site.yaml", "sites:\n  - {name: a, config: {}, files: {site.yaml: x}}\n", "files: site.yaml"},
		{"file name not a ConfigMap key", "sites:\n  - {name: a, config: {}, files: {'a/b': x}}\n", "'a/b' does not match"},
		{"unknown top-level key", "imageTag: v1\n", "'imageTag' not allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := render(t, writeValues(t, tt.values))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}
