package sync

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/spf13/pflag"

	"github.com/ck-sync/ck/pkg/cli/cmdutil"
	"github.com/ck-sync/ck/pkg/plan"
)

// TestConvertByListMatchesEverySpelling is issue 11 item 3 for convert_to:
// a lists: entry's convert_to reaches the changes of its list however the
// entry and the subscription are written (the changes carry the source as
// ck prints it: no credentials, path as given).
func TestConvertByListMatchesEverySpelling(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	cfg := filepath.Join(dir, "ck.yaml")
	body := "lists:\n" +
		"  - url: https://s3cr3tT0ken:x-oauth-basic@Lists.Example.org:443/a.list\n    convert_to: raw\n" +
		"  - url: http://lists.example.org:80/b.list\n    convert_to: qcow2\n" +
		"  - url: file://" + filepath.Join(dir, "c.list") + "\n    convert_to: none\n" +
		"  - url: https://lists.example.org/d.list\n    list_id: only-a-pin\n"
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	fs := pflag.NewFlagSet("ck", pflag.ContinueOnError)
	g := &cmdutil.Globals{}
	cmdutil.BindGlobals(fs, g)
	if err := fs.Parse([]string{"--config", cfg}); err != nil {
		t.Fatal(err)
	}
	if err := cmdutil.ApplyEnvAndConfig(fs, nil, nil, g, func(string) string { return "" }); err != nil {
		t.Fatal(err)
	}
	p := &plan.Plan{Changes: []plan.Change{
		{Action: plan.ActionCreate, Source: "https://lists.example.org/a.list"},
		{Action: plan.ActionCreate, Source: "https://lists.example.org/a.list"},
		{Action: plan.ActionCreate, Source: "HTTP://LISTS.example.org/b.list"},
		{Action: plan.ActionCreate, Source: "c.list"},
		{Action: plan.ActionCreate, Source: "https://lists.example.org/d.list"},
		{Action: plan.ActionCreate, Source: "https://lists.example.org/e.list"},
		{Action: plan.ActionRetire},
	}}
	want := map[string]string{
		"https://lists.example.org/a.list": "raw",
		"HTTP://LISTS.example.org/b.list":  "qcow2",
		"c.list":                           "none",
	}
	if got := convertByList(g, p); !reflect.DeepEqual(got, want) {
		t.Errorf("convertByList = %v, want %v", got, want)
	}
}
