package verify_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/ck-sync/ck/pkg/cli/cmdutil"
	"github.com/ck-sync/ck/pkg/cli/verify"
	"github.com/ck-sync/ck/pkg/imagelist"
	"github.com/ck-sync/ck/pkg/registry"
	"github.com/ck-sync/ck/pkg/verdict"
)

// The two images of testdata/signed/valid.json.
const (
	validImg1 = "7c0e8f1e-5a3b-4c2d-9e10-000000000101"
	validImg2 = "7c0e8f1e-5a3b-4c2d-9e10-000000000102"
)

// ck verify shows a subscription's image filter (lists: images): which
// images pass, how many are filtered out, and the entries that name no
// image of the list, which are also logged as warnings.
func TestVerifyImageFilter(t *testing.T) {
	dir := t.TempDir()
	valid, missing := signed(t, "valid.signed"), signed(t, "missing.signed")
	cfg := write(t, dir, "ck.yaml", "lists:\n  - url: "+valid+"\n    images: ["+validImg1+", gone-image]\n  - url: "+missing+"\n    images: [a, b]\n")

	code, stdout, stderr := run(t, nil, "verify", "--config", cfg, valid, missing)
	if code != cmdutil.ExitPartial {
		t.Errorf("exit %d, want 3 (the missing list)", code)
	}
	rest := stdout
	for _, w := range []string{
		valid,
		"image filter (lists: images): 1 of 2 image(s) pass, 1 filtered out",
		"passes " + validImg1,
		`filter entry "gone-image" names no image of the list`,
		"invalid  " + missing,
		"image filter (lists: images): 2 entries; the list was not read",
	} {
		i := strings.Index(rest, w)
		if i < 0 {
			t.Fatalf("stdout lacks %q (in order):\n%s", w, stdout)
		}
		rest = rest[i+len(w):]
	}
	if strings.Contains(stdout, validImg2) {
		t.Errorf("stdout names the filtered-out image:\n%s", stdout)
	}
	if !strings.Contains(stderr, `msg="image filter entry names no image of the list`) || !strings.Contains(stderr, "entry=gone-image") {
		t.Errorf("stderr lacks the warning naming the entry:\n%s", stderr)
	}

	_, stdout, _ = run(t, nil, "verify", "--config", cfg, "-o", "json", valid, missing)
	var doc verify.Document
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil || len(doc.Lists) != 2 {
		t.Fatalf("%v:\n%s", err, stdout)
	}
	for i, want := range []*verify.FilterJSON{
		{Entries: []string{validImg1, "gone-image"}, Passing: []string{validImg1}, FilteredOut: 1, Unmatched: []string{"gone-image"}},
		{Entries: []string{"a", "b"}, Passing: []string{}},
	} {
		if got := doc.Lists[i].Filter; !reflect.DeepEqual(got, want) {
			t.Errorf("lists[%d].filter = %+v, want %+v", i, got, want)
		}
	}

	// Without a filter, none is shown.
	_, stdout, _ = run(t, nil, "verify", "-o", "json", valid)
	if strings.Contains(stdout, `"filter"`) {
		t.Errorf("a list without a filter shows one:\n%s", stdout)
	}
}

// A registry source's filter is shown after its images; an entry may be a
// tag, naming it in every repository.
func TestWriteRegistryImageFilter(t *testing.T) {
	const src = "harbor://registry.example/egi_vm_images"
	img := func(id string) imagelist.Image {
		return imagelist.Image{ID: id, Digest: "sha256:" + strings.Repeat("a", 64), Size: 1, Version: "sha256:" + strings.Repeat("b", 64)}
	}
	v := verdict.Verdict{
		Source: src, Status: verdict.Valid, Listing: &registry.Listing{},
		List: &imagelist.List{ID: src, Images: []imagelist.Image{
			img("registry.example/egi_vm_images/alma:9"), img("registry.example/egi_vm_images/ubuntu:22.04"), img("registry.example/egi_vm_images/ubuntu:24.04"),
		}},
		Filter: []string{"24.04", "alma:9", "20.04"},
	}
	var text bytes.Buffer
	if err := verify.WriteText(&text, []verdict.Verdict{v}); err != nil {
		t.Fatal(err)
	}
	rest := text.String()
	for _, w := range []string{
		"image registry.example/egi_vm_images/ubuntu:24.04",
		"image filter (lists: images): 2 of 3 image(s) pass, 1 filtered out",
		"passes registry.example/egi_vm_images/alma:9",
		"passes registry.example/egi_vm_images/ubuntu:24.04",
		`filter entry "20.04" names no image of the list`,
	} {
		i := strings.Index(rest, w)
		if i < 0 {
			t.Fatalf("text lacks %q (in order):\n%s", w, text.String())
		}
		rest = rest[i+len(w):]
	}
	var js bytes.Buffer
	if err := verify.WriteJSON(&js, []verdict.Verdict{v}); err != nil {
		t.Fatal(err)
	}
	var doc verify.Document
	if err := json.Unmarshal(js.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	want := &verify.FilterJSON{Entries: v.Filter, FilteredOut: 1, Unmatched: []string{"20.04"},
		Passing: []string{"registry.example/egi_vm_images/alma:9", "registry.example/egi_vm_images/ubuntu:24.04"}}
	if got := doc.Lists[0].Filter; !reflect.DeepEqual(got, want) {
		t.Errorf("filter = %+v, want %+v", got, want)
	}
}
