package sync_test

import (
	"context"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/ck-sync/ck/pkg/cli/cmdutil"
	"github.com/ck-sync/ck/pkg/cli/diff"
	synccmd "github.com/ck-sync/ck/pkg/cli/sync"
)

func testFactory() *cmdutil.Factory {
	streams, _, _ := cmdutil.Test()
	return &cmdutil.Factory{IO: streams, Globals: &cmdutil.Globals{}, Redactor: &cmdutil.Redactor{}}
}

// Flags reach Options unchanged; run functions see them through runF.
func TestNewCmdFlags(t *testing.T) {
	defaults := synccmd.Options{UploadMethod: "upload", Options: diff.Options{MaxRetire: "25%", Visibility: "private", Adopt: true}}
	with := func(edit func(*synccmd.Options)) synccmd.Options {
		o := defaults
		edit(&o)
		return o
	}
	tests := []struct {
		name    string
		args    []string
		want    synccmd.Options
		wantErr string
	}{
		{"no flags", nil, defaults, ""},
		{"lists as arguments", []string{"https://a.example/image.list", "b.list"},
			with(func(o *synccmd.Options) { o.Lists = []string{"https://a.example/image.list", "b.list"} }), ""},
		{"dry run", []string{"--dry-run"}, with(func(o *synccmd.Options) { o.DryRun = true }), ""},
		{"dry run with exit code", []string{"--dry-run", "--exit-code"},
			with(func(o *synccmd.Options) { o.DryRun, o.ExitCode = true, true }), ""},
		{"saved plan", []string{"--plan", "plan.json"}, with(func(o *synccmd.Options) { o.PlanFile = "plan.json" }), ""},
		{"glance-direct", []string{"--upload-method", "glance-direct"},
			with(func(o *synccmd.Options) { o.UploadMethod = "glance-direct" }), ""},
		{"web-download", []string{"--upload-method=web-download"},
			with(func(o *synccmd.Options) { o.UploadMethod = "web-download" }), ""},
		{"plan flags shared with diff", []string{"--max-retire", "none", "--name-prefix", "EGI ", "--visibility", "shared", "--default-project", "ops"},
			with(func(o *synccmd.Options) {
				o.MaxRetire, o.NamePrefix, o.Visibility, o.DefaultProject = "none", "EGI ", "shared", "ops"
			}), ""},
		{"no adoption", []string{"--adopt=false"}, with(func(o *synccmd.Options) { o.Adopt = false }), ""},
		{"no --out on sync", []string{"--out", "x.json"}, synccmd.Options{}, "unknown flag: --out"},
		{"dry-run takes no value", []string{"--dry-run=maybe"}, synccmd.Options{}, "invalid argument"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := testFactory()
			var got *synccmd.Options
			cmd := synccmd.NewCmd(f, func(_ context.Context, o *synccmd.Options) error {
				got = o
				return nil
			})
			cmd.SetArgs(tc.args)
			cmd.SetOut(io.Discard)
			cmd.SetErr(io.Discard)
			err := cmd.Execute()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got == nil {
				t.Fatal("runF not called")
			}
			if got.Factory != f {
				t.Errorf("Options.Factory is not the command's factory")
			}
			got.Factory = nil
			if len(got.Lists) == 0 {
				got.Lists = nil // cobra passes an empty slice
			}
			if !reflect.DeepEqual(*got, tc.want) {
				t.Errorf("Options =\n %+v\nwant\n %+v", *got, tc.want)
			}
		})
	}
}

// Run refuses bad combinations before it reads a list or calls Glance:
// the errors are usage errors (exit 1) naming the flag.
func TestRunRefusesBadFlags(t *testing.T) {
	tests := []struct {
		name     string
		opts     synccmd.Options
		wantFlag string
		wantText string
	}{
		{"unknown upload method", synccmd.Options{UploadMethod: "scp"}, "--upload-method", `"scp"`},
		{"plan with dry run", synccmd.Options{UploadMethod: "upload", PlanFile: "plan.json", DryRun: true}, "--plan", "--dry-run"},
		{"missing plan file", synccmd.Options{UploadMethod: "upload", PlanFile: "/nonexistent/plan.json"}, "--plan", "plan.json"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := tc.opts
			opts.Factory = testFactory()
			err := synccmd.Run(t.Context(), &opts)
			var usage *cmdutil.UsageError
			if !errors.As(err, &usage) || usage.Flag != tc.wantFlag || !strings.Contains(err.Error(), tc.wantText) {
				t.Fatalf("err = %v, want a usage error on %s mentioning %s", err, tc.wantFlag, tc.wantText)
			}
			if code := cmdutil.ExitCode(err); code != cmdutil.ExitError {
				t.Errorf("exit code %d, want %d", code, cmdutil.ExitError)
			}
		})
	}
}
