package registry

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ck-sync/ck/pkg/ociref"
)

// countingTransport counts the requests under way.
type countingTransport struct {
	base     http.RoundTripper
	inFlight atomic.Int32
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.inFlight.Add(1)
	defer c.inFlight.Add(-1)
	return c.base.RoundTrip(r)
}

// When one repository of a source fails, Read cancels the manifest reads
// already started and returns only once they have: nothing of the run is
// left talking to the registry. A real registry cannot be made to hold a
// manifest request until the client gives up, so an in-process server
// stands in for Harbor's API and the registry: repository a's manifest
// hangs, and repository b's tag listing fails once that manifest is being
// read.
func TestReadWaitsForEveryRequest(t *testing.T) {
	arrived, done := make(chan struct{}), make(chan struct{})
	var once sync.Once
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/v2.0/projects/proj/repositories":
			w.Header().Set("X-Total-Count", "2")
			fmt.Fprint(w, `[{"name":"proj/a"},{"name":"proj/b"}]`)
		case "/v2/proj/a/tags/list":
			fmt.Fprint(w, `{"name":"proj/a","tags":["1"]}`)
		case "/v2/proj/a/manifests/1":
			once.Do(func() { close(arrived) })
			select {
			case <-r.Context().Done():
			case <-done:
			}
		case "/v2/proj/b/tags/list":
			select {
			case <-arrived:
			case <-time.After(10 * time.Second):
			}
			http.Error(w, `{"errors":[{"code":"UNKNOWN","message":"internal"}]}`, http.StatusInternalServerError)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(done) }) // runs first: unblocks a leaked request
	client := srv.Client()
	ct := &countingTransport{base: client.Transport}
	client.Transport = ct

	ref, err := ociref.Parse("harbor://" + strings.TrimPrefix(srv.URL, "https://") + "/proj")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	_, err = Read(ctx, ref, Options{HTTP: client, HarborAPI: srv.URL + "/api/v2.0"})
	if err == nil || !strings.Contains(err.Error(), "repository proj/b: list tags") || !strings.Contains(err.Error(), "HTTP 500") {
		t.Fatalf("err = %v, want repository proj/b's tag listing to fail with HTTP 500", err)
	}
	if n := ct.inFlight.Load(); n != 0 {
		t.Errorf("Read returned with %d request(s) still under way", n)
	}
}
