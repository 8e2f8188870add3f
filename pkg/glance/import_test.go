package glance

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestImportRequestBodies(t *testing.T) {
	tests := []struct {
		name, method, uri, want string
	}{
		{"glance-direct", ImportGlanceDirect, "", `{"method":{"name":"glance-direct"}}`},
		{"web-download", ImportWebDownload, "http://127.0.0.1:8080/a.img", `{"method":{"name":"web-download","uri":"http://127.0.0.1:8080/a.img"}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeGlance{status: http.StatusAccepted}
			s := newTestService(t, f)
			if err := s.Import(context.Background(), "i1", tc.method, tc.uri); err != nil {
				t.Fatal(err)
			}
			var got, want any
			if err := json.Unmarshal(f.data, &got); err != nil {
				t.Fatalf("body %q: %v", f.data, err)
			}
			_ = json.Unmarshal([]byte(tc.want), &want)
			b1, _ := json.Marshal(got)
			b2, _ := json.Marshal(want)
			if f.last.Method != http.MethodPost || f.last.URL.Path != "/v2/images/i1/import" || string(b1) != string(b2) {
				t.Errorf("request %s %s %s, want POST /v2/images/i1/import %s", f.last.Method, f.last.URL.Path, b1, b2)
			}
		})
	}
}

func TestImportRejectsBadArguments(t *testing.T) {
	tests := []struct{ name, method, uri string }{
		{"web-download without uri", ImportWebDownload, ""},
		{"glance-direct with uri", ImportGlanceDirect, "http://x/"},
		{"unknown method", "copy-image", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeGlance{status: http.StatusAccepted}
			s := newTestService(t, f)
			if err := s.Import(context.Background(), "i1", tc.method, tc.uri); err == nil {
				t.Fatal("no error")
			}
			if f.last != nil {
				t.Errorf("a request was sent: %s %s", f.last.Method, f.last.URL)
			}
		})
	}
}

func TestImportConflictIsMapped(t *testing.T) {
	s := newTestService(t, &fakeGlance{status: http.StatusConflict, body: `{"message": "Image needs to be staged before 'glance-direct' method can be used"}`})
	err := s.Import(context.Background(), "i1", ImportGlanceDirect, "")
	if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "import image i1 (glance-direct): 409 conflict: Image needs to be staged") {
		t.Fatalf("err = %v", err)
	}
}

func TestStageStreamsWithoutLength(t *testing.T) {
	f := &fakeGlance{status: http.StatusNoContent}
	s := newTestService(t, f)
	if err := s.Stage(context.Background(), "i1", strings.NewReader("hello")); err != nil {
		t.Fatal(err)
	}
	r := f.last
	if r.Method != http.MethodPut || r.URL.Path != "/v2/images/i1/stage" || r.ContentLength != -1 ||
		len(r.TransferEncoding) != 1 || r.TransferEncoding[0] != "chunked" ||
		r.Header.Get("X-Auth-Token") != "test-token" || r.Header.Get("Content-Type") != "application/octet-stream" ||
		string(f.data) != "hello" {
		t.Fatalf("request %s %s length %d te %v headers %v body %q", r.Method, r.URL.Path, r.ContentLength, r.TransferEncoding, r.Header, f.data)
	}
}

func TestStageReaderErrorWins(t *testing.T) {
	s := newTestService(t, &fakeGlance{status: http.StatusNoContent})
	boom := errors.New("sha512 mismatch")
	err := s.Stage(context.Background(), "i1", io.MultiReader(strings.NewReader("data"), iotestErrReader{boom}))
	if !errors.Is(err, boom) || errors.Is(err, ErrRetryable) || !strings.HasPrefix(err.Error(), "stage image i1: ") {
		t.Fatalf("err = %v, want the reader's error and not retryable", err)
	}
}

func TestStageErrorStatus(t *testing.T) {
	s := newTestService(t, &fakeGlance{status: http.StatusConflict, body: `{"message": "Image i1 is not queued"}`})
	err := s.Stage(context.Background(), "i1", strings.NewReader("x"))
	if !errors.Is(err, ErrConflict) || err.Error() != "stage image i1: 409 conflict: Image i1 is not queued" {
		t.Fatalf("err = %v", err)
	}
}

func TestImportVerdict(t *testing.T) {
	p := func(kv ...string) map[string]string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	tests := []struct {
		name   string
		img    Image
		active bool
		failed bool
	}{
		{"active", Image{Status: "active"}, true, false},
		{"active although one store failed", Image{Status: "active", Properties: p("os_glance_failed_import", "ceph")}, true, false},
		{"importing", Image{Status: "importing", Properties: p("os_glance_import_task", "t1")}, false, false},
		{"importing with a store failed so far", Image{Status: "importing", Properties: p("os_glance_import_task", "t1", "os_glance_failed_import", "a")}, false, false},
		{"saving (upload, no lock)", Image{Status: "saving"}, false, false},
		{"left importing, lock dropped, store failed", Image{Status: "importing", Properties: p("os_glance_failed_import", "local", "os_glance_importing_to_stores", "")}, false, true},
		{"left importing, lock dropped", Image{Status: "importing"}, false, true},
		{"queued, import accepted, not started", Image{Status: "queued", Properties: p("os_glance_import_task", "t1")}, false, false},
		{"staged, import accepted", Image{Status: "uploading", Properties: p("os_glance_import_task", "t1")}, false, false},
		{"queued with a stale failure, new import running", Image{Status: "queued", Properties: p("os_glance_import_task", "t2", "os_glance_failed_import", "local")}, false, false},
		{"killed", Image{Status: "killed"}, false, true},
		{"deleted", Image{Status: "deleted"}, false, true},
		{"pending_delete", Image{Status: "pending_delete"}, false, true},
		{"deactivated", Image{Status: "deactivated"}, false, true},
		{"failed import property", Image{Status: "queued", Properties: p("os_glance_failed_import", "local")}, false, true},
		{"back to queued, lock dropped", Image{Status: "queued", Properties: p()}, false, true},
		{"staged, no import asked", Image{Status: "uploading"}, false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			active, reason := importVerdict(tc.img)
			if active != tc.active || (reason != "") != tc.failed {
				t.Errorf("importVerdict = %v, %q; want active %v, failed %v", active, reason, tc.active, tc.failed)
			}
		})
	}
}

// fastPolling makes WaitActive poll every millisecond or so.
func fastPolling(t *testing.T) {
	first, maxi := pollFirst, pollMax
	pollFirst, pollMax = time.Millisecond, 4*time.Millisecond
	t.Cleanup(func() { pollFirst, pollMax = first, maxi })
}

// glanceSequence answers GET /v2/images/{id} with its replies in turn,
// repeating the last, and 202 to POST …/import.
type glanceSequence struct {
	mu      sync.Mutex
	replies []reply
	gets    int
}

type reply struct {
	status int
	image  string // JSON fields after "id"
}

func (g *glanceSequence) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost {
		w.WriteHeader(http.StatusAccepted)
		return
	}
	g.mu.Lock()
	rep := g.replies[min(g.gets, len(g.replies)-1)]
	g.gets++
	g.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(rep.status)
	_, _ = io.WriteString(w, `{"id": "i1", `+rep.image+`}`)
}

func TestWaitActive(t *testing.T) {
	fastPolling(t)
	importing := reply{200, `"status": "importing", "os_glance_import_task": "t1"`}
	tests := []struct {
		name    string
		replies []reply
		timeout time.Duration
		check   func(t *testing.T, img Image, err error)
	}{
		{"becomes active", []reply{importing, importing, {200, `"status": "active", "os_hash_algo": "sha512", "os_hash_value": "abc", "size": 3`}}, 0,
			func(t *testing.T, img Image, err error) {
				if err != nil || img.Status != "active" || img.HashValue != "abc" || img.Size != 3 {
					t.Fatalf("got %+v, %v", img, err)
				}
			}},
		{"rides out a 503", []reply{importing, {503, `"message": "busy"`}, {200, `"status": "active"`}}, 0,
			func(t *testing.T, img Image, err error) {
				if err != nil || img.Status != "active" {
					t.Fatalf("got %+v, %v", img, err)
				}
			}},
		{"killed", []reply{importing, {200, `"status": "killed"`}}, 0,
			func(t *testing.T, _ Image, err error) {
				var ie *ImportError
				if !errors.As(err, &ie) || ie.Status != "killed" || ie.Method != ImportWebDownload ||
					err.Error() != "import image i1 (web-download): the image ended killed: status killed" {
					t.Fatalf("err = %v", err)
				}
			}},
		{"failed import property", []reply{importing, {200, `"status": "queued", "os_glance_failed_import": "local", "os_glance_importing_to_stores": ""`}}, 0,
			func(t *testing.T, _ Image, err error) {
				if !errors.Is(err, ErrImportFailed) ||
					err.Error() != "import image i1 (web-download): Glance could not import into store local: status queued, os_glance_failed_import=local" {
					t.Fatalf("err = %v", err)
				}
			}},
		{"deleted under us", []reply{importing, {404, `"message": "No image found with ID i1"`}}, 0,
			func(t *testing.T, _ Image, err error) {
				if !errors.Is(err, ErrImportFailed) || !strings.Contains(err.Error(), "deleted while importing") {
					t.Fatalf("err = %v", err)
				}
			}},
		{"forbidden is not waited out", []reply{{403, `"message": "no"`}}, 0,
			func(t *testing.T, _ Image, err error) {
				if !errors.Is(err, ErrForbidden) || errors.Is(err, ErrImportFailed) {
					t.Fatalf("err = %v", err)
				}
			}},
		{"context timeout", []reply{importing}, 50 * time.Millisecond,
			func(t *testing.T, img Image, err error) {
				if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrImportFailed) || img.Status != "importing" ||
					!strings.Contains(err.Error(), `web-download; last status "importing" map[os_glance_import_task:t1]`) {
					t.Fatalf("got %+v, %v", img, err)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestService(t, &glanceSequence{replies: tc.replies})
			ctx := context.Background()
			if tc.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.timeout)
				defer cancel()
			}
			if err := s.Import(ctx, "i1", ImportWebDownload, "http://127.0.0.1/x"); err != nil {
				t.Fatal(err)
			}
			img, err := s.WaitActive(ctx, "i1")
			tc.check(t, img, err)
		})
	}
}

func TestWaitActiveBacksOff(t *testing.T) {
	first, maxi := pollFirst, pollMax
	t.Cleanup(func() { pollFirst, pollMax = first, maxi })
	pollFirst, pollMax = 10*time.Millisecond, 40*time.Millisecond
	g := &glanceSequence{replies: []reply{{200, `"status": "importing", "os_glance_import_task": "t1"`}}}
	s := newTestService(t, g)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, _ = s.WaitActive(ctx, "i1")
	// 10+20+40+40+… ms: about 9 polls in 300 ms; without backing off, 30.
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.gets < 4 || g.gets > 14 {
		t.Errorf("%d polls in 300ms with intervals 10ms doubling to 40ms", g.gets)
	}
}
