package diff_test

import (
	"slices"
	"testing"

	"github.com/ck-sync/ck/pkg/cli/diff"
	"github.com/ck-sync/ck/pkg/imagelist"
	"github.com/ck-sync/ck/pkg/ociref"
	"github.com/ck-sync/ck/pkg/registry"
	"github.com/ck-sync/ck/pkg/verdict"
)

// Every list input carries its subscription's image filter, whatever the
// list's status, and so does each VO's input of a registry source.
func TestInputsCarryTheImageFilter(t *testing.T) {
	const reg = "oci://registry.example/egi_vm_images/ubuntu"
	ref, err := ociref.Parse(reg)
	if err != nil {
		t.Fatal(err)
	}
	verdicts := []verdict.Verdict{
		{Source: "https://h.example/a.list", Status: verdict.Valid, List: &imagelist.List{ID: "LA"}, Filter: []string{"i1"}},
		{Source: "https://h.example/b.list", Status: verdict.Invalid, Check: verdict.CheckFetch, Reason: "404", Filter: []string{"i2"}},
		{Source: "https://h.example/c.list", Status: verdict.Valid, List: &imagelist.List{ID: "LC"}},
		{Source: reg, Status: verdict.Valid, List: &imagelist.List{ID: reg}, Listing: &registry.Listing{Ref: ref}, VOs: []string{"a.vo", "b.vo"}, Filter: []string{"24.04"}},
	}
	got := diff.Inputs(verdicts)
	want := [][]string{{"i1"}, {"i2"}, nil, {"24.04"}, {"24.04"}}
	if len(got) != len(want) {
		t.Fatalf("%d inputs, want %d", len(got), len(want))
	}
	for i, in := range got {
		if !slices.Equal(in.Images, want[i]) {
			t.Errorf("inputs[%d] (%s): images = %q, want %q", i, in.Source, in.Images, want[i])
		}
	}
}
