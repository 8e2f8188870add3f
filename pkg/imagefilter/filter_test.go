package imagefilter_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/ck-sync/ck/pkg/imagefilter"
)

const (
	hepix   = "https://lists.example.org/alpha.list"
	harbor  = "harbor://registry.example/egi_vm_images"
	oci     = "oci://127.0.0.1:5443/egi_vm_images/ubuntu"
	ubuntu  = "registry.example/egi_vm_images/ubuntu:24.04"
	ubuntu2 = "registry.example/egi_vm_images/ubuntu:22.04"
	alma    = "registry.example/egi_vm_images/alma:24.04"
	nested  = "registry.example/egi_vm_images/tools/jupyter:24.04"
	ported  = "127.0.0.1:5443/egi_vm_images/ubuntu:24.04"
)

func TestMatch(t *testing.T) {
	ids := []string{ubuntu, ubuntu2, alma, nested}
	tests := []struct {
		name    string
		source  string
		entries []string
		ids     []string
		want    []string // the ids that pass
	}{
		{name: "no filter passes everything", source: harbor, ids: ids, want: ids},
		{name: "hepix: exact dc:identifier", source: hepix, entries: []string{"b"}, ids: []string{"a", "b", "bb"}, want: []string{"b"}},
		{name: "hepix: no registry reading of an id", source: hepix, entries: []string{"24.04", "ubuntu:24.04"}, ids: ids, want: nil},
		{name: "registry: full id", source: harbor, entries: []string{ubuntu}, ids: ids, want: []string{ubuntu}},
		{name: "registry: REPO:TAG", source: harbor, entries: []string{"ubuntu:24.04"}, ids: ids, want: []string{ubuntu}},
		{name: "registry: PROJECT/REPO:TAG", source: harbor, entries: []string{"egi_vm_images/alma:24.04"}, ids: ids, want: []string{alma}},
		{name: "registry: nested repository tail", source: harbor, entries: []string{"tools/jupyter:24.04"}, ids: ids, want: []string{nested}},
		{name: "registry: a tail is cut at a slash", source: harbor, entries: []string{"buntu:24.04", "images/ubuntu:24.04"}, ids: ids, want: nil},
		{name: "registry: bare TAG in every repository", source: harbor, entries: []string{"24.04"}, ids: ids, want: []string{ubuntu, alma, nested}},
		{name: "registry: a bare word is a tag, not a repository", source: harbor, entries: []string{"ubuntu"}, ids: ids, want: nil},
		{name: "registry: host with a port", source: oci, entries: []string{ported, "22.04"}, ids: []string{ported, "127.0.0.1:5443/egi_vm_images/ubuntu:22.04"},
			want: []string{ported, "127.0.0.1:5443/egi_vm_images/ubuntu:22.04"}},
		{name: "registry: scheme in any case", source: "OCI://registry.example/egi_vm_images/ubuntu", entries: []string{"22.04"}, ids: ids, want: []string{ubuntu2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := imagefilter.New(tt.source, tt.entries)
			if f.Active() != (len(tt.entries) > 0) {
				t.Errorf("Active = %v", f.Active())
			}
			var got []string
			for _, id := range tt.ids {
				if f.Match(id) {
					got = append(got, id)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("passing = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestUnmatched(t *testing.T) {
	f := imagefilter.New(harbor, []string{"24.04", "gone:1.0", "ubuntu:22.04", "gone:1.0", "20.04"})
	got := f.Unmatched([]string{ubuntu, ubuntu2})
	if want := []string{"gone:1.0", "20.04"}; !slices.Equal(got, want) {
		t.Errorf("Unmatched = %q, want %q", got, want)
	}
	if got := imagefilter.New(hepix, nil).Unmatched([]string{"a"}); got != nil {
		t.Errorf("Unmatched of no filter = %q", got)
	}
}

func TestEqual(t *testing.T) {
	tests := []struct {
		name string
		a, b imagefilter.Filter
		want bool
	}{
		{"none", imagefilter.New(hepix, nil), imagefilter.New(hepix, []string{}), true},
		{"order and repeats do not count", imagefilter.New(hepix, []string{"a", "b", "a"}), imagefilter.New(hepix, []string{"b", "a"}), true},
		{"another entry", imagefilter.New(hepix, []string{"a"}), imagefilter.New(hepix, []string{"a", "b"}), false},
		{"a filter and none", imagefilter.New(hepix, []string{"a"}), imagefilter.New(hepix, nil), false},
		{"another kind of source", imagefilter.New(hepix, []string{"a"}), imagefilter.New(harbor, []string{"a"}), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.a.Equal(tt.b); got != tt.want {
				t.Errorf("Equal = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		source, entry string
		err           string // "" = accepted
	}{
		{hepix, "76fdee70-8119-5d33-aaaa-3c57e1c60df1", ""},
		{hepix, "any text: a dc:identifier is free-form", ""},
		{hepix, "", "an empty image id"},
		{hepix, "  ", "an empty image id"},
		{hepix, " a", "leading or trailing white space"},
		{harbor, ubuntu, ""},
		{harbor, ported, ""},
		{harbor, "egi_vm_images/ubuntu:24.04", ""},
		{harbor, "ubuntu:24.04", ""},
		{harbor, "24.04", ""},
		{harbor, "latest", ""},
		{harbor, "ubuntu", ""}, // a tag named ubuntu: valid, and reported when it names nothing
		{harbor, "", "an empty image id"},
		{harbor, "ubuntu :24.04", "white space"},
		{harbor, "sha256:" + strings.Repeat("a", 64), "a digest names one manifest"},
		{harbor, "egi_vm_images/ubuntu@sha256:" + strings.Repeat("a", 64), "a digest names one manifest"},
		{harbor, ubuntu + "-sha256:" + strings.Repeat("a", 64), "atrope's HOST/PROJECT/REPO:TAG-sha256:DIGEST"},
		{harbor, "egi_vm_images/ubuntu", "no tag"},
		{harbor, "Ubuntu:24.04", `repository "Ubuntu" is not a valid repository name`},
		{harbor, "ubuntu:", `"" is not a valid tag`},
		{harbor, ":24.04", `repository "" is not a valid repository name`},
		{harbor, ".hidden", `".hidden" is not a valid tag`},
		{harbor, "ubuntu:" + strings.Repeat("x", 129), "is not a valid tag"},
		{harbor, "egi_vm_images//ubuntu:24.04", "an empty path segment"},
		{harbor, "/ubuntu:24.04", "an empty path segment"},
	}
	for _, tt := range tests {
		t.Run(tt.source+" "+tt.entry, func(t *testing.T) {
			err := imagefilter.Check(tt.source, tt.entry)
			switch {
			case tt.err == "" && err != nil:
				t.Errorf("Check = %v, want accepted", err)
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
				t.Errorf("Check = %v, want an error containing %q", err, tt.err)
			}
		})
	}
}
