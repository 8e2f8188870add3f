package sync_test

// Helpers of the integration tests: an image server with faults on demand,
// signed lists that point at it, a fixture that runs ck in-process against
// the local Keystone + Glance of contrib/devcloud/devcloud.sh, and a
// counting proxy in front of that cloud.

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ck-sync/ck/pkg/cli/clitest"
	"github.com/ck-sync/ck/pkg/glance"
	"github.com/ck-sync/ck/pkg/glance/glancetest"
	"github.com/ck-sync/ck/pkg/plan"
)

// now is the tests' clock: inside the test lists' and certificates' validity.
var now = clitest.Now

const (
	pkiDir = "../../../testdata/pki"
	// tinyQCOW2 is a real, empty qcow2 of 1 MiB virtual size, made with
	// `qemu-img create -f qcow2 -o cluster_size=512 tiny.qcow2 1M`.
	tinyQCOW2 = "testdata/tiny.qcow2"
)

// fault is how the image server misbehaves for one file.
type fault int

const (
	serveOK            fault = iota // http.ServeContent: Content-Length, Range, If-Range
	serveCorrupt                    // the right size, one byte wrong
	serveTruncated                  // declares the whole size, sends half, closes; ignores Range
	serveTruncatedOnce              // the first response is cut at half; then Range is honoured
	serveShort                      // 10 bytes fewer, with a matching Content-Length
	serveShortChunked               // 10 bytes fewer, chunked (no Content-Length)
	serveStall                      // never sends past half (honouring Range), then nothing until the client gives up
	serve500                        // 500 Internal Server Error, always
	serveSlow                       // a steady trickle, well inside the idle timeout
	servePause                      // the first 1 MiB, then nothing until the client gives up
)

func (f fault) String() string {
	return [...]string{"ok", "corrupt", "truncated", "truncated-once", "short", "short-chunked", "stall", "500", "slow", "pause"}[f]
}

// served is one file of the image server.
type served struct {
	data  []byte
	fault fault
	user  string // when set, Basic auth with this user name is required
	// hold, when set, stops a serveOK response at half way until closed.
	hold chan struct{}
}

// imageServer serves images and lists on 127.0.0.1 and counts requests.
type imageServer struct {
	*httptest.Server
	quit    chan struct{} // closed at cleanup: stalled handlers return
	mu      sync.Mutex
	files   map[string]served
	hits    map[string]int
	started atomic.Int64 // responses that began sending a paused file
}

// newImageServer starts a plain HTTP server, or an HTTPS one whose
// certificate is written to a PEM file for --extra-ca-file.
func newImageServer(t *testing.T, tls bool) *imageServer {
	t.Helper()
	s := &imageServer{quit: make(chan struct{}), files: map[string]served{}, hits: map[string]int{}}
	h := http.HandlerFunc(s.serveHTTP)
	if tls {
		s.Server = httptest.NewTLSServer(h)
	} else {
		s.Server = httptest.NewServer(h)
	}
	t.Cleanup(func() {
		close(s.quit)
		s.Close()
	})
	return s
}

// caFile writes the TLS server's certificate as a PEM file.
func (s *imageServer) caFile(t *testing.T) string {
	t.Helper()
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate().Raw})
	path := filepath.Join(t.TempDir(), "image-server-ca.pem")
	if err := os.WriteFile(path, pemBytes, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func (s *imageServer) put(path string, f served) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.files[path] = f
}

func (s *imageServer) remove(path string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.files, path)
}

// imageHits counts the requests for images (not lists) so far.
func (s *imageServer) imageHits() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for p, c := range s.hits {
		if strings.HasPrefix(p, "/images/") {
			n += c
		}
	}
	return n
}

func (s *imageServer) serveHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.hits[r.URL.Path]++
	nth := s.hits[r.URL.Path]
	f, ok := s.files[r.URL.Path]
	s.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	if f.user != "" {
		if u, _, ok := r.BasicAuth(); !ok || u != f.user {
			http.Error(w, "token required", http.StatusUnauthorized)
			return
		}
	}
	data := f.data
	flush := func() { http.NewResponseController(w).Flush() } //nolint:errcheck // best effort
	switch f.fault {
	case serveOK:
		if f.hold != nil {
			w.Header().Set("Content-Length", strconv.Itoa(len(data)))
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write(data[:len(data)/2])
			flush()
			select {
			case <-f.hold:
				_, _ = w.Write(data[len(data)/2:])
			case <-r.Context().Done():
			case <-s.quit:
			}
			return
		}
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
	case serveCorrupt:
		bad := slices.Clone(data)
		bad[len(bad)/2] ^= 0xff
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(bad))
	case serveTruncated:
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(data[:len(data)/2])
		// Returning short of Content-Length makes net/http close the connection.
	case serveTruncatedOnce:
		if nth > 1 {
			http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(data[:len(data)/2])
	case serveShort:
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data[:len(data)-10]))
	case serveShortChunked:
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(data[:len(data)-10])
	case serveStall:
		half := len(data) / 2
		from := rangeStart(r)
		if from == 0 {
			w.Header().Set("Content-Length", strconv.Itoa(len(data)))
			w.WriteHeader(http.StatusOK)
		} else {
			w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", from, len(data)-1, len(data)))
			w.Header().Set("Content-Length", strconv.Itoa(len(data)-from))
			w.WriteHeader(http.StatusPartialContent)
		}
		if from < half {
			_, _ = w.Write(data[from:half])
		}
		flush()
		select {
		case <-r.Context().Done():
		case <-s.quit:
		}
	case serve500:
		http.Error(w, "image store on fire", http.StatusInternalServerError)
	case serveSlow:
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		w.WriteHeader(http.StatusOK)
		const chunk = 32 << 10
		for off := 0; off < len(data); off += chunk {
			if _, err := w.Write(data[off:min(off+chunk, len(data))]); err != nil {
				return
			}
			flush()
			time.Sleep(25 * time.Millisecond)
		}
	case servePause:
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		w.WriteHeader(http.StatusOK)
		head := min(1<<20, len(data)/2)
		_, _ = w.Write(data[:head])
		flush()
		s.started.Add(1)
		select {
		case <-r.Context().Done():
		case <-s.quit:
		}
	}
}

// rangeStart returns N of a "Range: bytes=N-" header, or 0.
func rangeStart(r *http.Request) int {
	v, ok := strings.CutPrefix(r.Header.Get("Range"), "bytes=")
	if !ok {
		return 0
	}
	n, err := strconv.Atoi(strings.TrimSuffix(v, "-"))
	if err != nil {
		return 0
	}
	return n
}

// image is one entry of a test list, served by the image server.
type image struct {
	id, title string
	data      []byte
	fault     fault
	format    string // hv:format; "" = RAW
	size      int64  // hv:size; 0 = len(data)
	version   string // hv:version; "" = 1.0
	hold      chan struct{}
}

func (im image) sha512() string {
	sum := sha512.Sum512(im.data)
	return hex.EncodeToString(sum[:])
}

func (im image) declaredSize() int64 {
	if im.size != 0 {
		return im.size
	}
	return int64(len(im.data))
}

// rawImage returns n bytes that no format detector mistakes for anything
// but a raw disk: a zeroed first sector, then random bytes.
func rawImage(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b[512:]); err != nil {
		t.Fatal(err)
	}
	return b
}

func qcow2Image(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(tinyQCOW2)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// list is a signed HEPiX list as the test published it.
type list struct {
	id, vo string
	url    string // where ck fetches it, credentials included
	source string // what ck must write into ck_list_url
	path   string // the server path of the signed list
}

// publish signs a list of VO vo holding images and serves it (and them)
// on s; user, when set, is the token the list URL must carry.
func publish(t *testing.T, s *imageServer, dir, id, vo, user string, images ...image) list {
	t.Helper()
	specs := make([]clitest.ImageSpec, 0, len(images))
	for _, im := range images {
		path := "/images/" + id + "/" + im.id
		s.put(path, served{data: im.data, fault: im.fault, hold: im.hold})
		format, version := im.format, im.version
		if format == "" {
			format = "RAW"
		}
		if version == "" {
			version = "1.0"
		}
		data := im.data
		if data == nil {
			data = []byte{} // no bytes, not clitest's default ones
		}
		specs = append(specs, clitest.ImageSpec{ID: im.id, URI: s.URL + path, Data: data, Props: map[string]string{
			"dc:title":       im.title,
			"hv:format":      format,
			"hv:hypervisor":  "KVM",
			"hv:ram_minimum": "2048",
			"hv:size":        strconv.FormatInt(im.declaredSize(), 10),
			"hv:version":     version,
			"sl:arch":        "amd64",
			"sl:os":          "Linux",
		}})
	}
	signed := clitest.Sign(t, dir, id, clitest.ListJSON(t, id, vo, specs...))
	body, err := os.ReadFile(signed)
	if err != nil {
		t.Fatal(err)
	}
	path := "/lists/" + id + ".list"
	s.put(path, served{data: body, user: user})
	l := list{id: id, vo: vo, path: path, source: s.URL + path}
	l.url = l.source
	if user != "" {
		u, _ := url.Parse(l.source)
		u.User = url.UserPassword(user, "x-oauth-basic")
		l.url = u.String()
	}
	return l
}

// fixture is one test's namespace, servers, files and flags.
type fixture struct {
	env     *glancetest.Env
	ctx     context.Context
	tag     string
	dir     string
	mapping string
	srv     *imageServer
}

func newFixture(t *testing.T, tls bool) *fixture {
	t.Helper()
	c := clitest.New(t)
	ctx, cancel := context.WithTimeout(c.Ctx, 3*time.Minute)
	t.Cleanup(cancel)
	return &fixture{env: c.Env, ctx: ctx, tag: c.Tag, dir: c.Dir, mapping: c.Mapping, srv: newImageServer(t, tls)}
}

// publish signs and serves a list in the fixture's namespace.
func (fx *fixture) publish(t *testing.T, name, vo string, images ...image) list {
	t.Helper()
	return publish(t, fx.srv, fx.dir, fx.tag+"-"+name, vo, "", images...)
}

// result is what one ck run left.
type result struct {
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// run runs `ck CMD ARGS...` in-process with the fixture's cloud, CA,
// mapping and tag, a 1s idle timeout and no progress bars.
func (fx *fixture) run(t *testing.T, cmd string, args ...string) result {
	t.Helper()
	argv := append([]string{cmd, "--os-cloud", glancetest.CloudCK, "--tag", fx.tag,
		"--ca-dir", filepath.Join(pkiDir, "cadir"), "--mapping-file", fx.mapping,
		"--progress", "never", "--timeout", "1s"}, args...)
	code, stdout, stderr := clitest.RunArgs(fx.ctx, argv...)
	return result{code: code, stdout: stdout, stderr: stderr}
}

// images returns every image of the namespace, hidden, queued or saving
// included, keyed by nothing: callers pick by ck_image_id.
func (fx *fixture) images(t *testing.T) []glance.Image {
	t.Helper()
	imgs, err := fx.env.Admin.ListImages(fx.ctx, glance.ListFilter{Tag: fx.tag})
	if err != nil {
		t.Fatal(err)
	}
	return imgs
}

// byImageID groups the namespace's images by ck_image_id.
func (fx *fixture) byImageID(t *testing.T) map[string][]glance.Image {
	t.Helper()
	out := map[string][]glance.Image{}
	for _, img := range fx.images(t) {
		id := img.Properties[plan.PropImageID]
		out[id] = append(out[id], img)
	}
	return out
}

// current returns the one current (not retired) image of imageID, failing
// the test if there is not exactly one.
func (fx *fixture) current(t *testing.T, imageID string) glance.Image {
	t.Helper()
	var cur []glance.Image
	for _, img := range fx.byImageID(t)[imageID] {
		if img.Properties[plan.PropRetired] == "" {
			cur = append(cur, img)
		}
	}
	if len(cur) != 1 {
		t.Fatalf("image %s: %d current Glance images, want 1: %+v", imageID, len(cur), cur)
	}
	return cur[0]
}

// snapshot is every field of every image of the namespace, to prove that
// a run changed nothing.
func (fx *fixture) snapshot(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, img := range fx.images(t) {
		b, _ := json.Marshal(img)
		out[img.ID] = string(b)
	}
	return out
}

// jsonLines is sync's -o json output.
type jsonLines struct {
	plan    *plan.Plan
	changes []changeLine
	summary summaryLine
}

type changeLine struct {
	Action   string `json:"action"`
	Reason   string `json:"reason"`
	Project  string `json:"project"`
	ImageID  string `json:"image_id"`
	Status   string `json:"status"`
	GlanceID string `json:"glance_id"`
	Bytes    int64  `json:"bytes"`
	Error    string `json:"error"`
}

type summaryLine struct {
	Changes, Done, Failed, Skipped int
	Bytes                          int64
}

func parseLines(t *testing.T, stdout string) jsonLines {
	t.Helper()
	var out jsonLines
	types := []string{}
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		var head struct {
			Type string          `json:"type"`
			Plan json.RawMessage `json:"plan"`
		}
		if err := json.Unmarshal([]byte(line), &head); err != nil {
			t.Fatalf("stdout line is not JSON: %v\n%s", err, line)
		}
		types = append(types, head.Type)
		var err error
		switch head.Type {
		case "plan":
			out.plan = &plan.Plan{}
			err = json.Unmarshal(head.Plan, out.plan)
		case "change":
			var c changeLine
			err = json.Unmarshal([]byte(line), &c)
			out.changes = append(out.changes, c)
		case "summary":
			err = json.Unmarshal([]byte(line), &out.summary)
		default:
			t.Fatalf("stdout line of unknown type %q: %s", head.Type, line)
		}
		if err != nil {
			t.Fatalf("stdout %s line: %v\n%s", head.Type, err, line)
		}
	}
	if len(types) < 2 || types[0] != "plan" || types[len(types)-1] != "summary" {
		t.Fatalf("stdout lines are %v, want plan, change..., summary", types)
	}
	return out
}

// change returns the applied change of imageID.
func (l jsonLines) change(t *testing.T, imageID string) changeLine {
	t.Helper()
	for _, c := range l.changes {
		if c.ImageID == imageID {
			return c
		}
	}
	t.Fatalf("no change line for image %s: %+v", imageID, l.changes)
	return changeLine{}
}

// callCounter counts the HTTP requests ck makes to Keystone and Glance,
// through reverse proxies on 127.0.0.1: a copy of the devcloud clouds.yaml
// points auth_url at the Keystone proxy, which rewrites the token's
// catalogue so that the identity and image endpoints are the proxies too.
// Nothing in ck is bypassed or stubbed; only the addresses differ.
type callCounter struct {
	cloudsFile string // the rewritten clouds.yaml

	mu       sync.Mutex
	glance   []string // "METHOD /path?query"
	keystone []string
	image    *url.URL // Glance's real endpoint, from the catalogue
}

var authURL = regexp.MustCompile(`(?m)^(\s*auth_url:\s*)(\S+)\s*$`)

func newCallCounter(t *testing.T, cloudsFile string) *callCounter {
	t.Helper()
	yaml, err := os.ReadFile(cloudsFile)
	if err != nil {
		t.Fatal(err)
	}
	m := authURL.FindSubmatch(yaml)
	if m == nil {
		t.Fatalf("%s has no auth_url", cloudsFile)
	}
	ks, err := url.Parse(string(m[2]))
	if err != nil {
		t.Fatal(err)
	}
	c := &callCounter{}
	ksOrigin := &url.URL{Scheme: ks.Scheme, Host: ks.Host}

	var glanceProxy, ksProxy *httptest.Server
	glanceProxy = httptest.NewServer(c.count(&c.glance, &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			c.mu.Lock()
			target := c.image
			c.mu.Unlock()
			r.SetURL(target)
		},
	}))
	ksProxy = httptest.NewServer(c.count(&c.keystone, &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(ksOrigin)
			r.Out.Header.Del("Accept-Encoding")
		},
		ModifyResponse: func(resp *http.Response) error {
			return c.rewriteCatalog(resp, ksProxy.URL, glanceProxy.URL)
		},
	}))
	t.Cleanup(glanceProxy.Close)
	t.Cleanup(ksProxy.Close)

	proxied := ksProxy.URL + ks.Path
	out := authURL.ReplaceAll(yaml, []byte("${1}"+proxied))
	c.cloudsFile = filepath.Join(t.TempDir(), "clouds.yaml")
	if err := os.WriteFile(c.cloudsFile, out, 0o600); err != nil {
		t.Fatal(err)
	}
	return c
}

func (c *callCounter) count(into *[]string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		*into = append(*into, r.Method+" "+r.URL.RequestURI())
		c.mu.Unlock()
		next.ServeHTTP(w, r)
	})
}

// rewriteCatalog points the identity and image endpoints of a token
// response's catalogue at the proxies, remembering Glance's real origin.
func (c *callCounter) rewriteCatalog(resp *http.Response, ksProxy, glanceProxy string) error {
	if resp.Request.URL.Path != "/v3/auth/tokens" || resp.StatusCode/100 != 2 {
		return nil
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil {
		return err
	}
	token, _ := doc["token"].(map[string]any)
	catalog, _ := token["catalog"].([]any)
	for _, svc := range catalog {
		s, _ := svc.(map[string]any)
		proxy := ""
		switch s["type"] {
		case "identity":
			proxy = ksProxy
		case "image":
			proxy = glanceProxy
		default:
			continue
		}
		eps, _ := s["endpoints"].([]any)
		for _, ep := range eps {
			e, _ := ep.(map[string]any)
			raw, _ := e["url"].(string)
			u, err := url.Parse(raw)
			if err != nil {
				return err
			}
			if s["type"] == "image" {
				c.mu.Lock()
				c.image = &url.URL{Scheme: u.Scheme, Host: u.Host}
				c.mu.Unlock()
			}
			e["url"] = proxy + u.Path
		}
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	resp.Body = io.NopCloser(bytes.NewReader(out))
	resp.ContentLength = int64(len(out))
	resp.Header.Set("Content-Length", strconv.Itoa(len(out)))
	return nil
}

// take returns the calls counted since the last take and resets them.
func (c *callCounter) take() (keystone, glance []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	keystone, glance = c.keystone, c.glance
	c.keystone, c.glance = nil, nil
	return keystone, glance
}
