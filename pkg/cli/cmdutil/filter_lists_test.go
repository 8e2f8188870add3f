package cmdutil

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// images: in a lists: entry is the subscription's image filter, for every
// kind of source: a list of non-empty strings.
func TestListEntryImages(t *testing.T) {
	g, err := loadConfig(t, `lists:
  - url: https://`+testToken+`:x-oauth-basic@h.example/a.list
    images: [76fdee70-8119-5d33-aaaa-3c57e1c60df1, "image two"]
  - url: harbor://registry.example/egi_vm_images
    images:
      - registry.example/egi_vm_images/ubuntu:24.04
      - alma:9
      - "22.04"
  - url: https://h.example/b.list
    images: []
  - url: https://h.example/c.list
`)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		key  string
		want []string
	}{
		{"https://h.example/a.list", []string{"76fdee70-8119-5d33-aaaa-3c57e1c60df1", "image two"}},
		{"harbor://registry.example/egi_vm_images", []string{"registry.example/egi_vm_images/ubuntu:24.04", "alma:9", "22.04"}},
		{"https://h.example/b.list", nil},
		{"https://h.example/c.list", nil},
	} {
		e, ok := g.ListEntry(tt.key)
		if !ok {
			t.Fatalf("no entry for %s", tt.key)
		}
		if !slices.Equal(e.Images, tt.want) {
			t.Errorf("%s: images = %q, want %q", tt.key, e.Images, tt.want)
		}
	}
}

func TestListEntryImagesErrors(t *testing.T) {
	tests := []struct{ name, entry, want string }{
		{"not a list", "url: https://h.example/a.list\n    images: abc", "cannot unmarshal"},
		{"a mapping in the list", "url: https://h.example/a.list\n    images: [{id: a}]", "cannot unmarshal"},
		{"empty entry", "url: https://" + testToken + "@h.example/a.list\n    images: [a, '']", "lists[0] (https://h.example/a.list): images[1]: an empty image id"},
		{"blank entry", "url: https://h.example/a.list\n    images: ['  ']", "images[0]: an empty image id"},
		{"padded entry", "url: https://h.example/a.list\n    images: [' a']", `images[0]: " a": leading or trailing white space`},
		{"registry digest", "url: oci://r.example/p/r\n    images: ['sha256:" + strings.Repeat("0", 64) + "']", "subscribe to oci://HOST/PATH/REPO@sha256:… for that"},
		{"registry repository without a tag", "url: harbor://r.example/p\n    images: [p/ubuntu]", `images[0]: "p/ubuntu": no tag`},
		{"registry atrope identifier", "url: harbor://r.example/p\n    images: ['r.example/p/ubuntu:24.04-sha256:" + strings.Repeat("0", 64) + "']", "names one build"},
		{"registry bad tag", "url: harbor://r.example/p\n    images: ['-rc1']", `"-rc1" is not a valid tag`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadConfig(t, "lists:\n  - "+tt.entry+"\n")
			var ue *UsageError
			if !errors.As(err, &ue) || ue.Flag != "--config" || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want a --config usage error containing %q", err, tt.want)
			}
			if strings.Contains(err.Error(), testToken) {
				t.Errorf("error leaks the token: %v", err)
			}
		})
	}
}
