package apply

import (
	"context"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/ck-sync/ck/pkg/glance"
	"github.com/ck-sync/ck/pkg/plan"
	"github.com/ck-sync/ck/pkg/transfer"
)

// quotaGlance refuses every create, as a project over quota does.
type quotaGlance struct{ *fakeGlance }

func (q quotaGlance) CreateImage(context.Context, glance.CreateSpec) (glance.Image, error) {
	time.Sleep(10 * time.Millisecond) // a real round trip
	return glance.Image{}, errors.New("create image: HTTP 413: quota exceeded")
}

// Glance refuses the create while the read-ahead is still downloading from
// a server that has more to send: closing the download must not race the
// goroutine reading it (it once panicked).
func TestGlanceFailsWhileDownloadIsInFlight(t *testing.T) {
	const size = 8 << 20
	data := make([]byte, size)
	data[0] = 'x'
	sum := sha512.Sum512(data)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(size))
		w.Write(data[:128<<10])
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	defer srv.Close()
	g := quotaGlance{newFake()}
	p := &plan.Plan{Changes: []plan.Change{{
		Action: plan.ActionCreate, Project: "p", ListID: "l", ImageID: "i",
		Desired: &plan.Desired{Name: "n", URI: srv.URL + "/i", Size: size, SHA512: hex.EncodeToString(sum[:]), Tags: []string{"ck"}},
	}}}
	res, err := Apply(context.Background(), p, Options{
		Glance: func(string) (Glance, error) { return g, nil },
		Open: func(ctx context.Context, src transfer.Source) (io.ReadCloser, error) {
			return transfer.Open(ctx, src, transfer.Options{IdleTimeout: time.Minute})
		},
	})
	if err != nil || res.Outcomes[0].Status != Failed {
		t.Fatalf("outcome %+v, err %v: want a clean failure (no panic)", res.Outcomes[0], err)
	}
}
