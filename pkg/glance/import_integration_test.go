package glance_test

// Integration tests of interoperable import against the local Glance; they
// skip (fail under CI=true) without it, like integration_test.go.

import (
	"bytes"
	"context"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ck-sync/ck/pkg/glance"
	"github.com/ck-sync/ck/pkg/glance/glancetest"
)

// importCtx bounds a whole import test: a failed import must be noticed well
// within it, not by running into it.
func importCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// serveLoopback serves h on 127.0.0.1, the only host this Glance's
// import_filtering_opts let web-download fetch from.
func serveLoopback(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &httptest.Server{Listener: l, Config: &http.Server{Handler: h}}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

func sha512Hex(b []byte) string {
	sum := sha512.Sum512(b)
	return hex.EncodeToString(sum[:])
}

func assertImported(t *testing.T, img glance.Image, data []byte) {
	t.Helper()
	if img.Status != "active" || img.Size != int64(len(data)) || img.HashAlgo != "sha512" || img.HashValue != sha512Hex(data) {
		t.Fatalf("imported image: status %s, size %d, %s %s; want active, %d bytes, sha512 %s",
			img.Status, img.Size, img.HashAlgo, img.HashValue, len(data), sha512Hex(data))
	}
}

func TestIntegrationImportGlanceDirect(t *testing.T) {
	t.Parallel()
	env := glancetest.Setup(t)
	ctx := importCtx(t)
	img, err := env.CK.CreateImage(ctx, env.Spec("glance-direct"))
	if err != nil {
		t.Fatalf("CreateImage: %v", err)
	}
	data := randomBytes(t, 3<<20+17)
	if err := env.CK.Stage(ctx, img.ID, plainReader{bytes.NewReader(data)}); err != nil {
		t.Fatalf("Stage: %v", err)
	}
	if err := env.CK.Import(ctx, img.ID, glance.ImportGlanceDirect, ""); err != nil {
		t.Fatalf("Import: %v", err)
	}
	got, err := env.CK.WaitActive(ctx, img.ID)
	if err != nil {
		t.Fatalf("WaitActive: %v", err)
	}
	assertImported(t, got, data)
}

func TestIntegrationImportWebDownload(t *testing.T) {
	t.Parallel()
	env := glancetest.Setup(t)
	ctx := importCtx(t)
	data := randomBytes(t, 2<<20+5)
	srv := serveLoopback(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// ServeContent sends a Content-Length, which web-download needs.
		http.ServeContent(w, r, "image.raw", time.Time{}, bytes.NewReader(data))
	}))
	img, err := env.CK.CreateImage(ctx, env.Spec("web-download"))
	if err != nil {
		t.Fatalf("CreateImage: %v", err)
	}
	if err := env.CK.Import(ctx, img.ID, glance.ImportWebDownload, srv.URL+"/image.raw"); err != nil {
		t.Fatalf("Import: %v", err)
	}
	got, err := env.CK.WaitActive(ctx, img.ID)
	if err != nil {
		t.Fatalf("WaitActive: %v", err)
	}
	assertImported(t, got, data)
}

func TestIntegrationImportWebDownloadChunkedFails(t *testing.T) {
	t.Parallel()
	env := glancetest.Setup(t)
	ctx := importCtx(t)
	data := randomBytes(t, 1<<20)
	srv := serveLoopback(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Copying from a reader without a length makes net/http reply
		// chunked, which this Glance's web-download cannot take.
		_, _ = io.Copy(w, plainReader{bytes.NewReader(data)})
	}))
	img, err := env.CK.CreateImage(ctx, env.Spec("web-download-chunked"))
	if err != nil {
		t.Fatalf("CreateImage: %v", err)
	}
	if err := env.CK.Import(ctx, img.ID, glance.ImportWebDownload, srv.URL+"/image.raw"); err != nil {
		t.Fatalf("Import: %v", err)
	}
	waitCtx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	start := time.Now()
	got, err := env.CK.WaitActive(waitCtx, img.ID)
	var ie *glance.ImportError
	if !errors.As(err, &ie) || !errors.Is(err, glance.ErrImportFailed) {
		t.Fatalf("WaitActive after %v = %+v, %v; want an *ImportError", time.Since(start), got, err)
	}
	if ie.ImageID != img.ID || ie.Method != glance.ImportWebDownload || !strings.Contains(err.Error(), img.ID) ||
		!strings.Contains(err.Error(), "web-download") {
		t.Errorf("error %q (%+v) should name the image and the method", err, ie)
	}
	t.Logf("failed in %v: %v", time.Since(start).Round(time.Millisecond), err)
	if err := env.CK.DeleteImage(ctx, img.ID); err != nil {
		t.Fatalf("DeleteImage: %v", err)
	}
}

func TestIntegrationStageFailingReaderNeverActivates(t *testing.T) {
	t.Parallel()
	env := glancetest.Setup(t)
	ctx := importCtx(t)
	img, err := env.CK.CreateImage(ctx, env.Spec("stage-broken"))
	if err != nil {
		t.Fatalf("CreateImage: %v", err)
	}
	boom := errors.New("sha512 mismatch")
	err = env.CK.Stage(ctx, img.ID, &failingReader{data: randomBytes(t, 256<<10), err: boom})
	if !errors.Is(err, boom) {
		t.Fatalf("Stage error = %v, want the reader's error", err)
	}
	// Whatever Glance kept of the aborted stage must not be importable into
	// an active image: the import is refused (409, not staged), or, when it
	// arrives while Glance is still failing the stage, accepted and failed —
	// Glance then loses the staged file and leaves the image importing
	// without its lock, which WaitActive must report, not wait out.
	waitCtx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := env.CK.Import(waitCtx, img.ID, glance.ImportGlanceDirect, ""); err == nil {
		got, err := env.CK.WaitActive(waitCtx, img.ID)
		if !errors.Is(err, glance.ErrImportFailed) {
			t.Fatalf("import of an aborted stage: WaitActive = %+v, %v; want ErrImportFailed", got, err)
		}
		t.Logf("import accepted, then: %v", err)
	} else if !errors.Is(err, glance.ErrConflict) {
		t.Fatalf("import of an aborted stage: %v; want 409 or a failed import", err)
	} else {
		t.Logf("import refused: %v", err)
	}
	got, err := env.CK.GetImage(ctx, img.ID)
	if err != nil && !errors.Is(err, glance.ErrNotFound) {
		t.Fatalf("GetImage: %v", err)
	}
	if got.Status == "active" {
		t.Fatalf("after an aborted stage: status %s, size %d", got.Status, got.Size)
	}
}
