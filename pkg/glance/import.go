package glance

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gophercloud/gophercloud/v2"
)

// Import methods of Glance's interoperable image import that ck uses.
const (
	ImportGlanceDirect = "glance-direct" // Stage the bytes, then Import them
	ImportWebDownload  = "web-download"  // Glance fetches a public URL itself
)

// ErrImportFailed matches, with errors.Is, every *ImportError.
var ErrImportFailed = errors.New("import failed")

// ImportError says why an image will not become active: Glance reports import
// failures only through the image's status and os_glance_* properties.
type ImportError struct {
	ImageID string
	Method  string            // as given to Import; "" when unknown
	Status  string            // Glance's status when ck gave up
	Glance  map[string]string // the image's os_glance_* properties
	Reason  string            // what ck concluded from them
}

// Error renders "import image <id> (<method>): <reason>: status …, os_glance_…=…".
func (e *ImportError) Error() string {
	var b strings.Builder
	b.WriteString("import image ")
	b.WriteString(e.ImageID)
	if e.Method != "" {
		fmt.Fprintf(&b, " (%s)", e.Method)
	}
	fmt.Fprintf(&b, ": %s: status %s", e.Reason, e.Status)
	for _, k := range slices.Sorted(maps.Keys(e.Glance)) {
		fmt.Fprintf(&b, ", %s=%s", k, e.Glance[k])
	}
	return b.String()
}

// Unwrap makes errors.Is(err, ErrImportFailed) true.
func (e *ImportError) Unwrap() error { return ErrImportFailed }

// Stage sends body to Glance's staging area, the first step of glance-direct.
// Like Upload, it streams without a Content-Length, so a reader that fails
// its final read (a digest mismatch) aborts the request and Glance never
// holds a complete copy that an Import could activate.
func (s *Service) Stage(ctx context.Context, id string, body io.Reader) error {
	return s.putStream(ctx, "stage image "+id, s.image.ServiceURL("images", id, "stage"), body)
}

// putStream PUTs body as a chunked octet stream, outside gophercloud: its
// retry after a 401 would re-send the already consumed stream, and Glance
// would store a truncated or empty image. After a 401 it re-authenticates,
// so the caller only has to send again.
func (s *Service) putStream(ctx context.Context, op, url string, body io.Reader) error {
	if body == nil {
		return fmt.Errorf("%s: nil body", op)
	}
	// Wrapping hides any Len/Seek method, so net/http cannot learn a length:
	// the body goes chunked, and a read error aborts the request before its
	// final chunk.
	rb := &recordingReader{r: body}
	// net/http may go on reading the body from its own goroutine after Do
	// returns (Glance answered early: 401, 413, 5xx). The caller closes the
	// readers under it as soon as we return, so wait until the transport
	// has let go of the body: it closes it when done.
	reqCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	sent := &closeSignal{Reader: rb, closed: make(chan struct{})}
	req, err := http.NewRequestWithContext(reqCtx, http.MethodPut, url, sent)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	// The transport closes the body, even on errors, once Do is called.
	defer func() {
		cancel()
		select {
		case <-sent.closed:
		case <-time.After(30 * time.Second):
		}
	}()
	req.ContentLength = -1
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", s.provider.UserAgent.Join())
	token := s.provider.Token()
	req.Header.Set("X-Auth-Token", token)

	resp, err := s.provider.HTTPClient.Do(req)
	if rerr := rb.failure(); rerr != nil {
		if resp != nil {
			resp.Body.Close()
		}
		// The reader's own failure is the cause, not the connection it broke.
		return fmt.Errorf("%s: reading data: %w", op, rerr)
	}
	if err != nil {
		return wrapErr(op, err)
	}
	defer resp.Body.Close()
	respBody, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode == http.StatusNoContent || resp.StatusCode == http.StatusOK:
		return nil
	case resp.StatusCode == http.StatusUnauthorized:
		if rerr := s.provider.Reauthenticate(ctx, token); rerr != nil {
			return &Error{Op: op, Status: resp.StatusCode, Message: "token rejected and re-authentication failed", Kind: ErrUnauthorized, Err: rerr}
		}
		e := statusError(op, resp.StatusCode, respBody, nil)
		e.Message = "token expired during the transfer (re-authenticated; send again)"
		return e
	default:
		return statusError(op, resp.StatusCode, respBody, errors.New(resp.Status))
	}
}

// importMethods remembers, per image id, the method of the last Import, so
// that WaitActive's error can name it without the caller repeating it. An
// entry goes when WaitActive sees the import end; one left by an import
// never waited for costs a few bytes.
var importMethods sync.Map

// Import asks Glance to import the image's data by method (ImportGlanceDirect
// after Stage, or ImportWebDownload from uri). Glance answers 202 at once and
// works in the background: WaitActive tells how it ended.
func (s *Service) Import(ctx context.Context, id string, method string, uri string) error {
	op := fmt.Sprintf("import image %s (%s)", id, method)
	m := map[string]any{"name": method}
	switch method {
	case ImportGlanceDirect:
		if uri != "" {
			return fmt.Errorf("%s: a URI makes no sense for glance-direct", op)
		}
	case ImportWebDownload:
		if uri == "" {
			return fmt.Errorf("%s: web-download needs a URI", op)
		}
		m["uri"] = uri
	default:
		return fmt.Errorf("%s: unknown import method (want %s or %s)", op, ImportGlanceDirect, ImportWebDownload)
	}
	body := map[string]any{"method": m}
	_, err := s.image.Post(ctx, s.image.ServiceURL("images", id, "import"), body, nil,
		&gophercloud.RequestOpts{OkCodes: []int{http.StatusAccepted}})
	if err != nil {
		return wrapErr(op, err)
	}
	importMethods.Store(id, method)
	return nil
}

// Polling intervals of WaitActive: quick at first, since a small image is
// active within a second, then no more than one request every pollMax.
var (
	pollFirst = 200 * time.Millisecond
	pollMax   = 2 * time.Second
)

// maxPollErrors is how many retryable GET failures in a row WaitActive
// rides out: a restarting Glance should not fail an import it finishes.
const maxPollErrors = 5

// WaitActive polls the image until it is active and returns it, or until the
// import has visibly failed (an *ImportError matching ErrImportFailed), or ctx
// ends. Glance offers no other signal: a failed import only shows as a
// status or an os_glance_* property.
func (s *Service) WaitActive(ctx context.Context, id string) (Image, error) {
	method := ""
	if v, ok := importMethods.Load(id); ok {
		method = v.(string)
	}
	interval := pollFirst
	errorsInRow := 0
	var last Image
	for {
		img, err := s.GetImage(ctx, id)
		switch {
		case err == nil:
			errorsInRow = 0
			last = img
			active, reason := importVerdict(img)
			if active {
				importMethods.Delete(id)
				return img, nil
			}
			if reason != "" {
				importMethods.Delete(id)
				return img, &ImportError{ImageID: id, Method: method, Status: img.Status, Glance: glanceProps(img), Reason: reason}
			}
		case ctx.Err() != nil:
			return last, waitEnded(ctx, id, method, last)
		case errors.Is(err, ErrNotFound):
			importMethods.Delete(id)
			return Image{}, &ImportError{ImageID: id, Method: method, Status: "deleted", Reason: "the image was deleted while importing"}
		case errors.Is(err, ErrRetryable) && errorsInRow < maxPollErrors:
			errorsInRow++
		default:
			return last, fmt.Errorf("wait for image %s to become active: %w", id, err)
		}

		t := time.NewTimer(interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return last, waitEnded(ctx, id, method, last)
		case <-t.C:
		}
		interval = min(interval*2, pollMax)
	}
}

// waitEnded is WaitActive's error when ctx ends first: the import may still
// succeed, so it says where Glance was rather than that it failed.
func waitEnded(ctx context.Context, id, method string, last Image) error {
	if method == "" {
		method = "method unknown"
	}
	return fmt.Errorf("wait for image %s to become active (%s; last status %q %v): %w", id, method, last.Status, glanceProps(last), ctx.Err())
}

// importVerdict reads one observation of an image: active, failed (a reason),
// or neither (keep waiting). An import holds a lock on the image,
// os_glance_import_task, from the import call (before its 202) until the
// task ends, after the image became active or failed; so an image that is
// not active once the lock is gone will stay so. Glance normally marks a
// failure by putting the image back to queued with the store in
// os_glance_failed_import, but some failures (the staged file gone) leave it
// importing. While the lock is held, a failed-store list may be stale, from
// an earlier attempt that this import has not cleared yet.
func importVerdict(img Image) (active bool, reason string) {
	failed := img.Properties["os_glance_failed_import"]
	locked := img.Properties["os_glance_import_task"] != ""
	switch img.Status {
	case "active":
		return true, ""
	case "killed", "deleted", "pending_delete", "deactivated":
		return false, "the image ended " + img.Status
	case "saving":
		return false, "" // a plain upload, which takes no lock
	}
	// queued, uploading (staged) or importing.
	switch {
	case locked:
		return false, ""
	case failed != "":
		return false, "Glance could not import into store " + failed
	case img.Status == "importing":
		return false, "the import task ended without making the image active"
	default:
		return false, "no import is running and the image has no data"
	}
}

// glanceProps picks Glance's own import bookkeeping out of the properties.
func glanceProps(img Image) map[string]string {
	out := map[string]string{}
	for k, v := range img.Properties {
		if strings.HasPrefix(k, "os_glance_") && v != "" {
			out[k] = v
		}
	}
	return out
}

// closeSignal tells when net/http has closed a request body, which it does
// once it will read no more of it.
type closeSignal struct {
	io.Reader
	once   sync.Once
	closed chan struct{}
}

// WriteTo implements io.WriterTo, which net/http's upload prefers to Read,
// so that the reader's own WriteTo is used (see recordingReader.WriteTo).
func (c *closeSignal) WriteTo(w io.Writer) (int64, error) { return io.Copy(w, c.Reader) }

// Close implements io.Closer.
func (c *closeSignal) Close() error {
	c.once.Do(func() { close(c.closed) })
	return nil
}
