package apply

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ck-sync/ck/pkg/glance"
	"github.com/ck-sync/ck/pkg/glance/glancetest"
	"github.com/ck-sync/ck/pkg/plan"
	"github.com/ck-sync/ck/pkg/transfer"
)

// sendWatcher is the real Glance, noting for each upload or stage whether
// the body went by WriteTo and what Glance made of the image once the bytes
// were sent, before apply checks or deletes it.
type sendWatcher struct {
	*glance.Service
	mu       sync.Mutex
	writerTo []bool
	statuses []string
}

func (s *sendWatcher) Upload(ctx context.Context, id string, body io.Reader) error {
	err := s.Service.Upload(ctx, id, body)
	s.note(ctx, id, body, err)
	return err
}

func (s *sendWatcher) Stage(ctx context.Context, id string, body io.Reader) error {
	err := s.Service.Stage(ctx, id, body)
	s.note(ctx, id, body, err)
	return err
}

func (s *sendWatcher) note(ctx context.Context, id string, body io.Reader, err error) {
	if err != nil {
		// Glance notices an aborted request asynchronously.
		time.Sleep(500 * time.Millisecond)
	}
	status := "gone"
	if img, gerr := s.Service.GetImage(ctx, id); gerr == nil {
		status = img.Status
	}
	_, wt := body.(io.WriterTo)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writerTo = append(s.writerTo, wt)
	s.statuses = append(s.statuses, status)
}

// TestIntegrationWrongByteNeverActive sends images through the production
// chain (transfer.Open's verifying stream, the read-ahead, the upload's
// WriteTo) into the local Glance: a wrong, missing or extra byte anywhere
// aborts the request before Glance activates the image, with either method
// that streams bytes. The image server is an httptest one, which answers
// chunked so that a wrong length shows only at the stream's end. Skips
// without the devcloud (fails under CI=true).
func TestIntegrationWrongByteNeverActive(t *testing.T) {
	env := glancetest.Setup(t)
	good := make([]byte, 3<<20+123) // several read-ahead blocks
	_, _ = rand.NewChaCha8([32]byte{'x'}).Read(good)
	flip := func(i int) []byte { b := slices.Clone(good); b[i] ^= 1; return b }
	tests := []struct {
		name     string
		served   []byte
		wantFail string // "" means the image must become active
	}{
		{"good", good, ""},
		{"wrong last byte", flip(len(good) - 1), "sha512 mismatch"},
		{"wrong byte mid-stream", flip(len(good) / 2), "sha512 mismatch"},
		{"one byte short", good[:len(good)-1], "size mismatch"},
		{"one byte extra", append(slices.Clone(good), 0), "size mismatch"},
	}
	for _, method := range []Method{MethodUpload, MethodGlanceDirect} {
		for i, tt := range tests {
			t.Run(string(method)+"/"+tt.name, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				defer cancel()
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					w.(http.Flusher).Flush() // no Content-Length
					_, _ = w.Write(tt.served)
				}))
				defer srv.Close()
				imageID := fmt.Sprintf("%s-%d", method, i) // one per case: the good ones stay
				c := createChange(imageID, srv.URL+"/img", good, good)
				c.Project, c.Desired.Name, c.Desired.Tags = env.ProjectCK, env.Name(tt.name), []string{env.Namespace}
				g := &sendWatcher{Service: env.CK}
				res, err := Apply(ctx, &plan.Plan{Changes: []plan.Change{c}}, Options{
					Glance: func(string) (Glance, error) { return g, nil },
					Open: func(ctx context.Context, src transfer.Source) (io.ReadCloser, error) {
						return transfer.Open(ctx, src, transfer.Options{IdleTimeout: time.Minute})
					},
					Method: method,
				})
				if err != nil {
					t.Fatal(err)
				}
				o := res.Outcomes[0]
				if len(g.statuses) != 1 || !g.writerTo[0] {
					t.Fatalf("sends %d, by WriteTo %v (outcome %+v); want one, by WriteTo", len(g.statuses), g.writerTo, o)
				}
				if tt.wantFail == "" {
					img, err := env.CK.GetImage(ctx, o.NewImage)
					if o.Status != Done || err != nil || img.Status != "active" || img.HashValue != sum(good) {
						t.Fatalf("outcome %+v, image %+v, %v; want active with the list's sha512", o, img, err)
					}
					return
				}
				if o.Status != Failed || o.Err == nil || !strings.Contains(o.Err.Error(), tt.wantFail) {
					t.Fatalf("outcome %+v; want failed with %q", o, tt.wantFail)
				}
				if st := g.statuses[0]; st == "active" {
					t.Fatalf("Glance activated the image: status %s once the bytes were sent", st)
				}
				left, err := env.CK.ListImages(ctx, glance.ListFilter{Tag: env.Namespace, Properties: map[string]string{plan.PropImageID: imageID}})
				if err != nil || len(left) != 0 {
					t.Fatalf("images left in Glance: %+v, %v", left, err)
				}
			})
		}
	}
}
