package apply

import (
	"context"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"io"
	"slices"
	"testing"

	"github.com/ck-sync/ck/pkg/glance"
	"github.com/ck-sync/ck/pkg/plan"
)

// webFake adds Glance's web-download import to fakeGlance: Glance fetches
// the URL itself and activates whatever it got, before ck checks anything.
// The local Glance does web-download too, but the window between its
// activation and ck's check cannot be observed there on demand.
type webFake struct {
	*fakeGlance
	served   map[string][]byte // what Glance gets for a URL (may differ from the list)
	atImport []string          // the image's visibility and hidden flag when Glance activated it
}

func (f *webFake) Stage(context.Context, string, io.Reader) error {
	return errors.New("not used by web-download")
}

func (f *webFake) Import(_ context.Context, id, method, uri string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	img := f.images[id]
	data := f.served[uri]
	sum := sha512.Sum512(data)
	img.Status, img.Size, img.HashAlgo, img.HashValue = "active", int64(len(data)), "sha512", hex.EncodeToString(sum[:])
	hidden := "shown"
	if img.Hidden {
		hidden = "hidden"
	}
	f.atImport = append(f.atImport, img.Visibility+" "+hidden)
	f.log("import " + id + " " + method)
	return nil
}

func (f *webFake) WaitActive(ctx context.Context, id string) (glance.Image, error) {
	return f.GetImage(ctx, id)
}

// Issue 11 item 6: with web-download Glance activates the bytes it
// fetched before ck can check them, so the image is created private and
// hidden, and gets its visibility and is shown only once its hash is the
// list's; bad bytes are deleted without ever having been visible.
func TestWebDownloadIsPrivateAndHiddenUntilVerified(t *testing.T) {
	good := payload(64 << 10)
	bad := payload(64 << 10)
	bad[len(bad)-1] ^= 1
	for _, tt := range []struct {
		name   string
		served []byte
		ok     bool
	}{
		{"bytes as listed: shown with its visibility", good, true},
		{"other bytes: deleted, never shown", bad, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g := &webFake{fakeGlance: newFake(), served: map[string][]byte{"http://x/a": tt.served}}
			c := createChange("a", "http://x/a", good, good)
			c.Desired.Visibility = "public"
			res, err := Apply(context.Background(), &plan.Plan{Changes: []plan.Change{c}}, Options{
				Glance: func(string) (Glance, error) { return g, nil },
				Open:   server{"http://x/a": good}.open,
				Method: MethodWebDownload,
			})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(g.atImport, []string{"private hidden"}) {
				t.Errorf("when Glance activated the image it was %q, want private and hidden", g.atImport)
			}
			o := res.Outcomes[0]
			if !tt.ok {
				if o.Status != Failed || len(g.images) != 0 {
					t.Fatalf("outcome %+v, images %v: want failed and the image deleted", o, g.images)
				}
				return
			}
			img := g.images[o.NewImage]
			if o.Status != Done || img == nil || img.Visibility != "public" || img.Hidden || img.Properties[plan.PropUnverified] != "" {
				t.Fatalf("outcome %+v, image %+v: want a verified, shown, public image", o, img)
			}
		})
	}
}
