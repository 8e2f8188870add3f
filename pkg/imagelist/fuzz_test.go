package imagelist

import (
	"encoding/json"
	"net/url"
	"path/filepath"
	"regexp"
	"testing"
)

var sha512Pattern = regexp.MustCompile(`^[0-9a-f]{128}$`)

func FuzzParse(f *testing.F) {
	for _, pattern := range []string{"samples/*.json", "lists/*.json"} {
		files, err := filepath.Glob(filepath.Join("..", "..", "testdata", pattern))
		if err != nil {
			f.Fatal(err)
		}
		for _, file := range files {
			rel, _ := filepath.Rel(filepath.Join("..", "..", "testdata"), file)
			f.Add(readTestdata(f, rel))
		}
	}
	f.Add([]byte(`{"hv:imagelist": {"hv:images": [[[[{"hv:image": "\"\\"}]]]]}}`))
	f.Add([]byte("\ufeff{\r\n}"))

	f.Fuzz(func(t *testing.T, payload []byte) {
		l, err := Parse(payload)
		if err != nil {
			if _, ok := err.(*ParseError); !ok {
				t.Fatalf("error %T is not a *ParseError: %v", err, err)
			}
			if l != nil {
				t.Fatal("a List came back with an error")
			}
			return
		}
		if l.ID == "" || l.Expires.IsZero() || l.Endorser.DN == "" || l.Endorser.CA == "" {
			t.Fatalf("list missing required fields: %+v", l)
		}
		if len(l.Images) > MaxImages || len(l.Images)+len(l.Skipped) > MaxImages {
			t.Fatalf("%d images, %d skipped", len(l.Images), len(l.Skipped))
		}
		seen := map[string]bool{}
		for _, im := range l.Images {
			u, err := url.Parse(im.URI)
			if im.ID == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
				!sha512Pattern.MatchString(im.SHA512) || im.Size <= 0 || im.RAMMinimum < 0 || im.CoreMinimum < 0 {
				t.Fatalf("invalid image survived: %+v", im)
			}
			if seen[im.ID] {
				t.Fatalf("duplicate image id %q", im.ID)
			}
			seen[im.ID] = true
			if !json.Valid(im.Raw) {
				t.Fatalf("Raw is not JSON: %s", im.Raw)
			}
			if loc := im.Expires.Location(); !im.Expires.IsZero() && loc.String() != "UTC" {
				t.Fatalf("image expiry not UTC: %v", im.Expires)
			}
		}
		for k, v := range l.Extra {
			if listKeys[k] || !json.Valid(v) {
				t.Fatalf("bad Extra %q: %s", k, v)
			}
		}
	})
}
