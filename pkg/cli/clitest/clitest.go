// Package clitest runs ck commands in-process against the local Keystone +
// Glance of contrib/devcloud/devcloud.sh, with signed test lists, a mapping
// file and a namespace tag of the test's own: what the integration tests of
// prune and of adoption share.
package clitest

import (
	"context"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ck-sync/ck/pkg/cli/cmdutil"
	"github.com/ck-sync/ck/pkg/cli/root"
	"github.com/ck-sync/ck/pkg/glance"
	"github.com/ck-sync/ck/pkg/glance/glancetest"
	"github.com/ck-sync/ck/pkg/imagelist"
	"github.com/ck-sync/ck/pkg/plan"
)

// Now is the tests' clock: inside the test lists' and certificates' validity.
var Now = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// The endorser that testdata/pki/sign.sh signs as by default.
const (
	EndorserDN = "/DC=EU/DC=EGI/C=NL/O=Hosts/O=EGI.eu/CN=appdb.ck-test.example"
	EndorserCA = "/DC=org/DC=ck-test/CN=ck Test Issuing CA"
)

// PKIDir is testdata/pki, found from this file so any package can use it.
func PKIDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "testdata", "pki")
}

// Fixture is one test's namespace, directory, mapping and connections.
type Fixture struct {
	Env      *glancetest.Env
	Ctx      context.Context
	Tag      string // ck's --tag: the test's namespace
	Dir      string
	Mapping  string // mapping.json: alpha.vo → vo-alpha by id, beta.vo → vo-beta by name
	PageSize int    // Run's --page-size: 50
}

// New sets up a fixture (skipping or failing as glancetest.Setup does).
func New(t *testing.T) *Fixture {
	t.Helper()
	env := glancetest.Setup(t)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	t.Cleanup(cancel)
	fx := &Fixture{Env: env, Ctx: ctx, Tag: env.Namespace, Dir: t.TempDir(), PageSize: 50}
	fx.Mapping = filepath.Join(fx.Dir, "mapping.json")
	m := fmt.Sprintf(`{
  "alpha.vo": {"project": %q},
  "beta.vo": {"project": "vo-beta", "domain": "egi"}
}`, env.ProjectVOAlpha)
	if err := os.WriteFile(fx.Mapping, []byte(m), 0o644); err != nil {
		t.Fatal(err)
	}
	return fx
}

// List is one signed list written by a test.
type List struct {
	Path   string
	Source string // what ck writes into ck_list_url
	List   *imagelist.List
}

// ImageSpec is one image of a test list; zero fields get defaults.
type ImageSpec struct {
	ID   string
	URI  string // default https://images.ck-test.example/<id>.img
	Data []byte // the bytes: sha512 and size come from them; default "<list id>/<id>"
	// Props sets or overrides fields of the hv:image entry ("hv:format",
	// "dc:title", "hv:size"...) after the defaults.
	Props map[string]string
}

// ListJSON is the unsigned HEPiX list document of VO vo holding images.
func ListJSON(t *testing.T, id, vo string, images ...ImageSpec) []byte {
	t.Helper()
	entries := make([]any, 0, len(images))
	for _, img := range images {
		if img.Data == nil {
			img.Data = []byte(id + "/" + img.ID)
		}
		if img.URI == "" {
			img.URI = "https://images.ck-test.example/" + img.ID + ".img"
		}
		sum := sha512.Sum512(img.Data)
		entry := map[string]any{
			"dc:identifier":      img.ID,
			"dc:title":           "Image " + img.ID,
			"dc:description":     "Test image " + img.ID + ".",
			"ad:mpuri":           "https://appdb.ck-test.example/store/vo/image/" + img.ID + ":1/",
			"hv:format":          "RAW",
			"hv:ram_minimum":     "1024",
			"hv:size":            fmt.Sprint(len(img.Data)),
			"hv:uri":             img.URI,
			"hv:version":         "1.0",
			"sl:arch":            "x86_64",
			"sl:checksum:sha512": hex.EncodeToString(sum[:]),
			"sl:osname":          "Ubuntu",
			"sl:osversion":       "24.04",
		}
		for k, v := range img.Props {
			entry[k] = v
		}
		entries = append(entries, map[string]any{"hv:image": entry})
	}
	doc := map[string]any{"hv:imagelist": map[string]any{
		"dc:date:created": "2026-01-01T00:00:00Z",
		"dc:date:expires": "2044-12-31T00:00:00Z",
		"dc:identifier":   id,
		"dc:title":        "list " + id,
		"dc:description":  "ck integration test list.",
		"ad:vo":           vo,
		"hv:endorser": map[string]any{"hv:x509": map[string]any{
			"dc:creator": "Applications Database", "hv:ca": EndorserCA, "hv:dn": EndorserDN,
			"hv:email": "appdb-support@ck-test.example",
		}},
		"hv:images":  entries,
		"hv:uri":     "https://appdb.ck-test.example/store/vo/" + vo + "/image.list",
		"hv:version": "20260101000000",
	}}
	payload, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return payload
}

// Sign writes payload to dir/<id>.json and signs it with
// testdata/pki/sign.sh, as AppDB would, into dir/<id>.list: the path it
// returns.
func Sign(t *testing.T, dir, id string, payload []byte) string {
	t.Helper()
	plain := filepath.Join(dir, id+".json")
	signed := filepath.Join(dir, id+".list")
	if err := os.WriteFile(plain, payload, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("sh", filepath.Join(PKIDir(), "sign.sh"), plain, signed).CombinedOutput(); err != nil {
		t.Fatalf("sign %s: %v\n%s", id, err, out)
	}
	return signed
}

// WriteList signs a HEPiX list of VO vo holding images into dir, as AppDB
// would, and parses it back.
func WriteList(t *testing.T, dir, id, vo string, images ...ImageSpec) List {
	t.Helper()
	payload := ListJSON(t, id, vo, images...)
	signed := Sign(t, dir, id, payload)
	list, err := imagelist.Parse(payload)
	if err != nil {
		t.Fatal(err)
	}
	src, err := imagelist.ParseSource(signed)
	if err != nil {
		t.Fatal(err)
	}
	return List{Path: signed, Source: src.String(), List: list}
}

// WriteList signs a HEPiX list of VO vo holding images into the fixture's
// directory, as AppDB would.
func (fx *Fixture) WriteList(t *testing.T, id, vo string, images ...ImageSpec) List {
	t.Helper()
	return WriteList(t, fx.Dir, id, vo, images...)
}

// Subscribe writes an image-lists.conf holding lists and returns its path.
func (fx *Fixture) Subscribe(t *testing.T, lists ...List) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("# test subscriptions\n")
	for _, l := range lists {
		b.WriteString(l.Path + "\n")
	}
	path := filepath.Join(fx.Dir, "image-lists.conf")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// Desired is the image ck would create for image img of l.
func (fx *Fixture) Desired(t *testing.T, l List, img string) plan.Desired {
	t.Helper()
	for _, im := range l.List.Images {
		if im.ID == img {
			return plan.DesiredImage(l.List, im, l.Source, plan.Policy{Tag: fx.Tag})
		}
	}
	t.Fatalf("list %s has no image %s", l.List.ID, img)
	return plan.Desired{}
}

// Seed creates an active image holding data as ck would have from d,
// changed by edit; its name carries the namespace so cleanup finds it.
func (fx *Fixture) Seed(t *testing.T, svc *glance.Service, d plan.Desired, data []byte, edit func(*glance.CreateSpec)) glance.Image {
	t.Helper()
	spec := glance.CreateSpec{
		Name: fx.Env.Name(d.Name), DiskFormat: "raw", ContainerFormat: "bare", Visibility: d.Visibility,
		MinRAM: d.MinRAM, Tags: slices.Clone(d.Tags), Properties: maps.Clone(d.Properties),
	}
	if spec.Properties == nil {
		spec.Properties = map[string]string{}
	}
	if edit != nil {
		edit(&spec)
	}
	img, err := svc.CreateImage(fx.Ctx, spec)
	if err != nil {
		t.Fatalf("seed %s: %v", spec.Name, err)
	}
	fx.Env.Track(img.ID)
	if data == nil {
		data = []byte("ck test bytes")
	}
	if err := svc.Upload(fx.Ctx, img.ID, strings.NewReader(string(data))); err != nil {
		t.Fatalf("seed %s: upload: %v", spec.Name, err)
	}
	got, err := svc.GetImage(fx.Ctx, img.ID)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// Run runs ck with the fixture's cloud, CA, mapping, tag and page size
// before args.
func (fx *Fixture) Run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	if len(args) == 0 {
		t.Fatal("clitest: Run needs a command")
	}
	base := []string{args[0], "--os-cloud", glancetest.CloudCK, "--tag", fx.Tag,
		"--ca-dir", filepath.Join(PKIDir(), "cadir"), "--mapping-file", fx.Mapping, "--page-size", strconv.Itoa(fx.PageSize)}
	return RunArgs(fx.Ctx, append(base, args[1:]...)...)
}

// RunArgs runs `ck ARGS...` in-process with test streams, the clock Now
// and an empty environment.
func RunArgs(ctx context.Context, args ...string) (code int, stdout, stderr string) {
	io, out, errOut := cmdutil.Test()
	f := &cmdutil.Factory{
		IO:       io,
		Globals:  &cmdutil.Globals{},
		Redactor: &cmdutil.Redactor{},
		Now:      func() time.Time { return Now },
		Getenv:   func(string) string { return "" },
	}
	code = root.Run(ctx, f, args)
	return code, out.String(), errOut.String()
}

// Get returns an image as admin sees it; ok is false once it is gone.
func (fx *Fixture) Get(t *testing.T, id string) (glance.Image, bool) {
	t.Helper()
	img, err := fx.Env.Admin.GetImage(fx.Ctx, id)
	if err != nil {
		if errors.Is(err, glance.ErrNotFound) {
			return glance.Image{}, false
		}
		t.Fatalf("get image %s: %v", id, err)
	}
	return img, true
}

// PlanLine decodes the first JSON line of sync or prune (-o json): the plan.
func PlanLine(t *testing.T, stdout string) *plan.Plan {
	t.Helper()
	first, _, _ := strings.Cut(stdout, "\n")
	var doc struct {
		Type string     `json:"type"`
		Plan *plan.Plan `json:"plan"`
	}
	if err := json.Unmarshal([]byte(first), &doc); err != nil || doc.Type != "plan" || doc.Plan == nil {
		t.Fatalf("first line is not a plan (%v):\n%s", err, stdout)
	}
	return doc.Plan
}

// Brief renders a change as "action reason image-id glance-id".
func Brief(c plan.Change) string {
	return strings.TrimSpace(fmt.Sprintf("%s %s %s %s", c.Action, c.Reason, c.ImageID, c.GlanceImageID))
}
