package sync_test

// ck sync of registry sources (spec §11) on the local Glance, from the real
// local docker-registry holding artifacts the real oras CLI pushed the way
// EGI's pipeline does.

import (
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ck-sync/ck/pkg/cli/cmdutil"
	"github.com/ck-sync/ck/pkg/glance"
	"github.com/ck-sync/ck/pkg/glance/glancetest"
	"github.com/ck-sync/ck/pkg/plan"
	"github.com/ck-sync/ck/pkg/registry/registrytest"
)

// regFixture is a sync fixture subscribed to registry sources through its
// own image-lists file and config file.
type regFixture struct {
	*fixture
	reg *registrytest.Registry
}

func newRegFixture(t *testing.T, reg *registrytest.Registry) *regFixture {
	t.Helper()
	return &regFixture{fixture: newFixture(t, false), reg: reg}
}

// subscribe writes the image-lists file and the config file (lists:
// entries as YAML lines) and returns the arguments that use them.
func (fx *regFixture) subscribe(t *testing.T, sources []string, entries string) []string {
	t.Helper()
	subs := filepath.Join(fx.dir, "image-lists.conf")
	cfg := filepath.Join(fx.dir, "ck.yaml")
	if err := os.WriteFile(subs, []byte(strings.Join(sources, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, []byte("lists:\n"+entries), 0o600); err != nil {
		t.Fatal(err)
	}
	return []string{"--image-lists-file", subs, "--config", cfg, "--extra-ca-file", fx.reg.CAFile}
}

func (fx *regFixture) sync(t *testing.T, args []string, more ...string) result {
	t.Helper()
	return fx.run(t, "sync", append(append([]string{"-o", "json"}, args...), more...)...)
}

func TestRegistrySync(t *testing.T) {
	reg := registrytest.Setup(t).Anon
	fx := newRegFixture(t, reg)
	a := reg.Push(t, registrytest.Spec{SBOM: true})
	src := "oci://" + reg.Host + "/" + a.Repo
	id := reg.Host + "/" + a.Repo + ":24.04"
	args := fx.subscribe(t, []string{src}, "  - url: "+src+"\n    vos: [alpha.vo]\n")

	// A foreign image in the same project, with a registry image's name.
	foreign, err := fx.env.VOAlpha.CreateImage(fx.ctx, glance.CreateSpec{Name: fx.env.Name(a.Repo + ":24.04"), DiskFormat: "raw", ContainerFormat: "bare", Visibility: "private", Tags: []string{fx.tag}})
	if err != nil {
		t.Fatal(err)
	}
	fx.env.Track(foreign.ID)
	foreignBefore := marshal(fx.get(t, foreign.ID))

	// First sync: one image, one blob download.
	r := fx.sync(t, args)
	if r.code != 0 {
		t.Fatalf("first sync: %s", r)
	}
	img := fx.current(t, id)
	p := img.Properties
	layer := a.Layers[0]
	for k, want := range map[string]string{
		plan.PropListID: src, plan.PropImageID: id, plan.PropDigest: layer.Digest, plan.PropSize: itoa(layer.Size),
		plan.PropVersion: a.Digest, plan.PropListURL: src, plan.PropSHA512: img.HashValue,
		"appdb_id": id + "-" + a.Digest, plan.PropMPURI: id + "-" + a.Digest, "image_hash": layer.Digest,
		"os_type": "linux", "os_admin_user": "ubuntu", plan.PropOSDistro: "ubuntu", plan.PropOSVersion: "24.04", plan.PropArchitecture: "x86_64",
		plan.PropDescription: layer.Annotations[registrytest.AnnDescription], plan.PropHVVersion: a.ImageTag,
	} {
		if p[k] != want {
			t.Errorf("property %s = %q, want %q", k, p[k], want)
		}
	}
	if img.Owner != fx.env.ProjectVOAlpha || img.DiskFormat != "qcow2" || img.Size != layer.Size || img.HashAlgo != "sha512" || img.Name != a.Repo+":24.04" || img.Hidden {
		t.Errorf("image = %+v", img)
	}
	var attrs map[string]string
	if err := json.Unmarshal([]byte(p[plan.PropAttributes]), &attrs); err != nil || attrs["eu.egi.cloud.image_ref"] != a.Repo+":24.04" || attrs["eu.egi.cloud.tag"] != a.ImageTag {
		t.Errorf("APPLIANCE_ATTRIBUTES = %s (%v)", p[plan.PropAttributes], err)
	}
	if n := reg.BlobGETs(t, a.Repo, layer.Digest); n != 1 {
		t.Errorf("blob downloads after the first sync = %d, want 1", n)
	}

	// No-op: no blob fetched, no Glance write.
	before := fx.snapshot(t)
	if r := fx.sync(t, args); r.code != 0 || !strings.Contains(r.stdout, `"changes":[]`) {
		t.Fatalf("second sync is not a no-op: %s", r)
	}
	if n := reg.BlobGETs(t, a.Repo, layer.Digest); n != 1 {
		t.Errorf("blob downloads after the no-op = %d, want still 1", n)
	}
	if after := fx.snapshot(t); !equalMaps(before, after) {
		t.Errorf("the no-op sync changed Glance")
	}

	// The moving tag gets a new build: replace, new first, old retired.
	b := reg.Push(t, registrytest.Spec{Repo: a.Repo, Tags: []string{"24.04-2025-11-01-abcdef01", "24.04"}})
	r = fx.sync(t, args)
	if r.code != 0 {
		t.Fatalf("sync after the rebuild: %s", r)
	}
	if c := parseLines(t, r.stdout).change(t, id); c.Action != "replace" || c.Status != "done" {
		t.Errorf("change = %+v", c)
	}
	now := fx.current(t, id)
	if now.Properties[plan.PropDigest] != b.Layers[0].Digest || now.ID == img.ID {
		t.Errorf("current after the rebuild = %+v", now)
	}
	old := fx.get(t, img.ID)
	if old.Properties[plan.PropRetired] == "" || !old.Hidden {
		t.Errorf("the old build is not retired: %+v", old)
	}
	if after := marshal(fx.get(t, foreign.ID)); after != foreignBefore {
		t.Errorf("the foreign image was touched:\n%s\n%s", foreignBefore, after)
	}
}

// A blob whose stored bytes were altered on the registry's disk never
// becomes an active image, and nothing is left behind.
func TestRegistrySyncTamperedBlob(t *testing.T) {
	reg := registrytest.Setup(t).Anon
	fx := newRegFixture(t, reg)
	a := reg.Push(t, registrytest.Spec{})
	reg.CorruptBlob(t, a.Layers[0].Digest)
	src := "oci://" + reg.Host + "/" + a.Repo
	args := fx.subscribe(t, []string{src}, "  - url: "+src+"\n    vos: [alpha.vo]\n")
	r := fx.sync(t, args)
	if r.code != 3 {
		t.Fatalf("sync of a tampered blob: %s", r)
	}
	c := parseLines(t, r.stdout).change(t, reg.Host+"/"+a.Repo+":24.04")
	if c.Status != "failed" || !strings.Contains(c.Error, "sha256") {
		t.Errorf("change = %+v", c)
	}
	if imgs := fx.images(t); len(imgs) != 0 {
		t.Errorf("images left behind: %+v", imgs)
	}
}

// A registry that stops answering fails its source: exit 3, nothing
// retired, nothing changed.
func TestRegistrySyncRegistryDown(t *testing.T) {
	p := registrytest.StartPrivate(t, false)
	fx := newRegFixture(t, p.Registry)
	a := p.Push(t, registrytest.Spec{})
	src := "oci://" + p.Host + "/" + a.Repo
	args := fx.subscribe(t, []string{src}, "  - url: "+src+"\n    vos: [alpha.vo]\n")
	if r := fx.sync(t, args); r.code != 0 {
		t.Fatalf("first sync: %s", r)
	}
	before := fx.snapshot(t)
	p.Stop(t)
	r := fx.sync(t, args)
	if r.code != 3 || !strings.Contains(r.stdout, `"status":"failed"`) || !strings.Contains(r.stdout, "connection refused") {
		t.Fatalf("sync with the registry down: %s", r)
	}
	if after := fx.snapshot(t); !equalMaps(before, after) {
		t.Errorf("Glance changed while the registry was down")
	}
}

// The htpasswd registry: refused without credentials (nothing happens),
// synced with the robot account's password file.
func TestRegistrySyncAuth(t *testing.T) {
	reg := registrytest.Setup(t).Auth
	fx := newRegFixture(t, reg)
	a := reg.Push(t, registrytest.Spec{})
	src := "oci://" + reg.Host + "/" + a.Repo
	r := fx.sync(t, fx.subscribe(t, []string{src}, "  - url: "+src+"\n    vos: [alpha.vo]\n"))
	if r.code != 3 || !strings.Contains(r.stdout, "HTTP 401") {
		t.Fatalf("sync without credentials: %s", r)
	}
	if imgs := fx.images(t); len(imgs) != 0 {
		t.Fatalf("images: %+v", imgs)
	}
	pw := filepath.Join(fx.dir, "robot.secret")
	if err := os.WriteFile(pw, []byte(reg.Password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r = fx.sync(t, fx.subscribe(t, []string{src}, "  - url: "+src+"\n    vos: [alpha.vo]\n    username: "+reg.Username+"\n    password_file: "+pw+"\n"), "--log-level", "debug")
	if r.code != 0 {
		t.Fatalf("sync with credentials: %s", r)
	}
	img := fx.current(t, reg.Host+"/"+a.Repo+":24.04")
	if img.Properties[plan.PropDigest] != a.Layers[0].Digest {
		t.Errorf("image = %+v", img)
	}
	for _, img := range fx.images(t) {
		b, _ := json.Marshal(img)
		if strings.Contains(string(b), reg.Password) {
			t.Errorf("the registry password is in Glance: %s", b)
		}
	}
	if strings.Contains(r.stdout+r.stderr, reg.Password) {
		t.Errorf("the registry password is in the output")
	}
}

// An image atrope made from the registry (its tag, image_list, appdb_id =
// HOST/REPO:TAG-<manifest digest>, image_hash = the layer digest) is
// adopted after one verifying download: no upload.
func TestRegistrySyncAdoptsAtropeImage(t *testing.T) {
	reg := registrytest.Setup(t).Anon
	fx := newRegFixture(t, reg)
	a := reg.Push(t, registrytest.Spec{})
	layer := a.Layers[0]
	id := reg.Host + "/" + a.Repo + ":24.04"
	data, err := os.ReadFile(layer.File)
	if err != nil {
		t.Fatal(err)
	}
	seed := func(name string, bytes []byte) glance.Image {
		img, err := fx.env.VOAlpha.CreateImage(fx.ctx, glance.CreateSpec{
			Name: fx.env.Name(name), DiskFormat: "qcow2", ContainerFormat: "bare", Visibility: "private",
			Tags: []string{"atrope-catchall", fx.tag + "-atrope"},
			Properties: map[string]string{"appdb_id": id + "-" + a.Digest, "image_hash": layer.Digest, "image_list": "egi_vm_images",
				"vmcatcher_event_ad_mpuri": id + "-" + a.Digest},
		})
		if err != nil {
			t.Fatal(err)
		}
		fx.env.Track(img.ID)
		if err := fx.env.VOAlpha.Upload(fx.ctx, img.ID, strings.NewReader(string(bytes))); err != nil {
			t.Fatal(err)
		}
		return img
	}
	legacy := seed("registry.egi.eu "+a.Repo+":24.04", data)
	src := "oci://" + reg.Host + "/" + a.Repo
	r := fx.sync(t, fx.subscribe(t, []string{src}, "  - url: "+src+"\n    vos: [alpha.vo]\n"))
	if r.code != 0 {
		t.Fatalf("sync: %s", r)
	}
	c := parseLines(t, r.stdout).change(t, id)
	if c.Action != "adopt" || c.Reason != "atrope" || c.Status != "done" {
		t.Fatalf("change = %+v", c)
	}
	got := fx.current(t, id)
	if got.ID != legacy.ID || got.Properties[plan.PropSHA512] != got.HashValue || got.Properties[plan.PropDigest] != layer.Digest {
		t.Errorf("adopted image = %+v", got)
	}
	if n := len(fx.images(t)); n != 1 {
		t.Errorf("%d images carry ck's tag, want only the adopted one", n)
	}
	if n := reg.BlobGETs(t, a.Repo, layer.Digest); n != 1 {
		t.Errorf("blob downloads = %d, want 1 (the proof)", n)
	}
	// The next run is a no-op on the adopted image.
	if r := fx.sync(t, fx.subscribe(t, []string{src}, "  - url: "+src+"\n    vos: [alpha.vo]\n")); r.code != 0 || !strings.Contains(r.stdout, `"changes":[]`) {
		t.Fatalf("sync after adoption is not a no-op: %s", r)
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// get returns one image as admin sees it.
func (fx *regFixture) get(t *testing.T, id string) glance.Image {
	t.Helper()
	img, err := fx.env.Admin.GetImage(fx.ctx, id)
	if err != nil {
		t.Fatalf("get image %s: %v", id, err)
	}
	return img
}

func marshal(v any) string { b, _ := json.Marshal(v); return string(b) }

// No registry secret — a robot account's password, a Docker config's auth
// entry (base64 of user:password), nor a wrong password ck was given — is
// printed, logged, saved in a plan or written to Glance, by any command,
// on success and failure paths, in text and JSON, at debug level.
func TestRegistrySecretsNeverPrinted(t *testing.T) {
	reg := registrytest.Setup(t).Auth
	fx := newRegFixture(t, reg)
	a := reg.Push(t, registrytest.Spec{})
	src := "oci://" + reg.Host + "/" + a.Repo
	pw := filepath.Join(fx.dir, "robot.secret")
	wrong := filepath.Join(fx.dir, "wrong.secret")
	const wrongPassword = "not-the-Pa55word"
	docker := filepath.Join(fx.dir, "docker.json")
	dockerAuth := base64.StdEncoding.EncodeToString([]byte(reg.Username + ":" + reg.Password))
	for path, body := range map[string]string{
		pw: reg.Password + "\n", wrong: wrongPassword + "\n",
		docker: `{"auths":{"` + reg.Host + `":{"auth":"` + dockerAuth + `"}}}`,
	} {
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	secrets := []string{reg.Password, dockerAuth, wrongPassword}
	planFile := filepath.Join(fx.dir, "plan.json")
	entry := func(auth string) string { return "  - url: " + src + "\n    vos: [alpha.vo]\n" + auth }
	runs := []struct {
		name string
		cfg  string
		cmd  []string
	}{
		{"fetch", entry("    username: " + reg.Username + "\n    password_file: " + pw + "\n"), []string{"fetch"}},
		{"verify json", entry("    docker_config: " + docker + "\n"), []string{"verify", "-o", "json"}},
		{"verify, wrong password", entry("    username: " + reg.Username + "\n    password_file: " + wrong + "\n"), []string{"verify"}},
		{"diff --out", entry("    username: " + reg.Username + "\n    password_file: " + pw + "\n"), []string{"diff", "--out", planFile}},
		{"sync", entry("    docker_config: " + docker + "\n"), []string{"sync", "-o", "json"}},
		{"sync, wrong password", entry("    username: " + reg.Username + "\n    password_file: " + wrong + "\n"), []string{"sync"}},
	}
	for _, r := range runs {
		args := fx.subscribe(t, []string{src}, r.cfg)
		res := fx.run(t, r.cmd[0], append(append(args, r.cmd[1:]...), "--log-level", "debug")...)
		for _, s := range secrets {
			if strings.Contains(res.stdout+res.stderr, s) {
				t.Errorf("%s: a secret is in the output:\n%s", r.name, res)
			}
		}
	}
	plan, err := os.ReadFile(planFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range secrets {
		if strings.Contains(string(plan), s) {
			t.Errorf("a secret is in the saved plan")
		}
	}
	imgs := fx.images(t)
	if len(imgs) != 1 {
		t.Fatalf("sync made %d images, want 1", len(imgs))
	}
	for _, img := range imgs {
		b, _ := json.Marshal(img)
		for _, s := range secrets {
			if strings.Contains(string(b), s) {
				t.Errorf("a secret is in Glance: %s", b)
			}
		}
	}
}

// --convert-to raw (Ceph sites): the layer's qcow2, verified by its digest
// on the way in, is converted by qemu-img and uploaded raw; ck records the
// layer's sha512 and the source format, and the next run is a no-op.
func TestRegistrySyncConvertToRaw(t *testing.T) {
	reg := registrytest.Setup(t).Anon
	fx := newRegFixture(t, reg)
	a := reg.Push(t, registrytest.Spec{})
	src := "oci://" + reg.Host + "/" + a.Repo
	id := reg.Host + "/" + a.Repo + ":24.04"
	args := fx.subscribe(t, []string{src}, "  - url: "+src+"\n    vos: [alpha.vo]\n    convert_to: raw\n")
	if r := fx.sync(t, args, "--work-dir", t.TempDir()); r.code != 0 {
		t.Fatalf("sync: %s", r)
	}
	img := fx.current(t, id)
	layer, err := os.ReadFile(a.Layers[0].File)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha512.Sum512(layer)
	if img.DiskFormat != "raw" || img.Properties["ck_source_format"] != "qcow2" || img.Properties[plan.PropSHA512] != hex.EncodeToString(sum[:]) ||
		img.Properties[plan.PropDigest] != a.Layers[0].Digest || img.HashValue == img.Properties[plan.PropSHA512] {
		t.Errorf("converted image = %+v", img)
	}
	if r := fx.sync(t, args); r.code != 0 || !strings.Contains(r.stdout, `"changes":[]`) {
		t.Fatalf("second sync is not a no-op: %s", r)
	}
}

// alice, a member of vo-alpha, uploads her own bytes of the layer's size
// with ck's tag and a registry image's record: ck_digest of the listed
// layer, ck_size, and ck_sha512 = the sha512 of her bytes, so that Glance's
// own hash agrees with that record. Only ck's seal (keyed with a secret of
// ck's own OpenStack user) tells her image from ck's: it is reported and
// left alone, whether it comes before ck's upload or after it.
func TestRegistrySyncForgedImage(t *testing.T) {
	reg := registrytest.Setup(t).Anon
	fx := newRegFixture(t, reg)
	alice := fx.env.Connect(t, glancetest.CloudAlice, "")
	a := reg.Push(t, registrytest.Spec{})
	src := "oci://" + reg.Host + "/" + a.Repo
	id := reg.Host + "/" + a.Repo + ":24.04"
	args := fx.subscribe(t, []string{src}, "  - url: "+src+"\n    vos: [alpha.vo]\n")
	forge := func(layer registrytest.Layer) glance.Image {
		t.Helper()
		bytes := make([]byte, layer.Size)
		copy(bytes, "alice's own bytes")
		sum := sha512.Sum512(bytes)
		img, err := alice.CreateImage(fx.ctx, glance.CreateSpec{
			Name: fx.env.Name(a.Repo + ":24.04"), DiskFormat: "qcow2", ContainerFormat: "bare", Visibility: "private", Tags: []string{fx.tag},
			Properties: map[string]string{plan.PropListID: src, plan.PropImageID: id, plan.PropDigest: layer.Digest,
				plan.PropSize: itoa(layer.Size), plan.PropSHA512: hex.EncodeToString(sum[:]), plan.PropListURL: src},
		})
		if err != nil {
			t.Fatal(err)
		}
		fx.env.Track(img.ID)
		if err := alice.Upload(fx.ctx, img.ID, strings.NewReader(string(bytes))); err != nil {
			t.Fatal(err)
		}
		return fx.get(t, img.ID)
	}
	// Before ck's first sync: her image does not stand in for the layer.
	early := forge(a.Layers[0])
	r := fx.sync(t, args)
	if r.code != 0 {
		t.Fatalf("first sync: %s", r)
	}
	lines := parseLines(t, r.stdout)
	if c := lines.change(t, id); c.Action != "update-metadata" || c.Reason != "unsealed" || c.GlanceID == early.ID {
		t.Errorf("first sync: change %+v, want her image proven (and found other bytes) and the layer uploaded", c)
	}
	genuine := fx.currentBut(t, id, early.ID)
	if genuine.ID == early.ID || genuine.Properties[plan.PropSeal] == "" || genuine.HashValue == early.HashValue {
		t.Fatalf("current image = %+v", genuine)
	}
	// After it, for the tag's next build: hers is newer, ck's stays.
	b := reg.Push(t, registrytest.Spec{Repo: a.Repo, Tags: []string{"24.04"}})
	late := forge(b.Layers[0])
	r = fx.sync(t, args)
	if r.code != 0 {
		t.Fatalf("sync after the rebuild: %s", r)
	}
	if c := parseLines(t, r.stdout).change(t, id); c.Action != "replace" || c.Status != "done" {
		t.Errorf("change %+v, want a replace by ck's own upload of the new build", c)
	}
	now := fx.currentBut(t, id, early.ID, late.ID)
	if now.ID == late.ID || now.Properties[plan.PropDigest] != b.Layers[0].Digest {
		t.Errorf("current = %+v", now)
	}
	for _, f := range []glance.Image{early, late} {
		got := fx.get(t, f.ID)
		if got.Properties[plan.PropRetired] != "" || got.Properties[plan.PropSeal] != "" || got.Visibility != f.Visibility || got.Name != f.Name {
			t.Errorf("alice's image %s was touched: %+v", f.ID, got)
		}
	}
	if !strings.Contains(r.stdout, `"kind":"unproven"`) {
		t.Errorf("alice's image is not reported:\n%s", r.stdout)
	}
}

// An image of ck's whose seal does not hold (its key changed with the
// cloud's secret, or it was made before ck sealed) is proven by one
// download of the layer and sealed again: no upload.
func TestRegistrySyncResealsWithoutUpload(t *testing.T) {
	reg := registrytest.Setup(t).Anon
	fx := newRegFixture(t, reg)
	a := reg.Push(t, registrytest.Spec{})
	src := "oci://" + reg.Host + "/" + a.Repo
	id := reg.Host + "/" + a.Repo + ":24.04"
	args := fx.subscribe(t, []string{src}, "  - url: "+src+"\n    vos: [alpha.vo]\n")
	if r := fx.sync(t, args); r.code != 0 {
		t.Fatalf("first sync: %s", r)
	}
	img := fx.current(t, id)
	if _, err := fx.env.VOAlpha.UpdateImage(fx.ctx, img.ID, []glance.Patch{{Op: glance.OpReplace, Path: "/" + plan.PropSeal, Value: "0000"}}); err != nil {
		t.Fatal(err)
	}
	r := fx.sync(t, args)
	if r.code != 0 {
		t.Fatalf("sync: %s", r)
	}
	c := parseLines(t, r.stdout).change(t, id)
	if c.Action != "update-metadata" || c.Reason != "unsealed" || c.Status != "done" || c.GlanceID != img.ID {
		t.Errorf("change %+v, want the image proven in place", c)
	}
	if n := len(fx.images(t)); n != 1 {
		t.Errorf("%d images, want 1 (no upload)", n)
	}
	if n := reg.BlobGETs(t, a.Repo, a.Layers[0].Digest); n != 2 {
		t.Errorf("blob downloads = %d, want 2 (the upload and the proof)", n)
	}
	if r := fx.sync(t, args); r.code != 0 || !strings.Contains(r.stdout, `"changes":[]`) {
		t.Errorf("not sealed again: %s", r)
	}
}

// currentBut is the one current image of imageID other than the given
// ones (a member's uploads posing as ck's).
func (fx *regFixture) currentBut(t *testing.T, imageID string, not ...string) glance.Image {
	t.Helper()
	var cur []glance.Image
	for _, img := range fx.byImageID(t)[imageID] {
		if img.Properties[plan.PropRetired] == "" && !slices.Contains(not, img.ID) {
			cur = append(cur, img)
		}
	}
	if len(cur) != 1 {
		t.Fatalf("image %s: %d current Glance images besides %v, want 1", imageID, len(cur), not)
	}
	return cur[0]
}

// A registry source without vos takes its registry project's name as its
// VO when the mapping file has it, else goes to the default project. Only
// ck's default mapping file may then be missing (a registry-only site
// without one); a mapping file the operator named must exist.
func TestRegistryGuessedVOMappingFile(t *testing.T) {
	if _, err := os.Stat(cmdutil.DefaultMappingFile); err == nil {
		t.Skipf("%s exists on this machine", cmdutil.DefaultMappingFile)
	}
	reg := registrytest.Setup(t).Anon
	fx := newRegFixture(t, reg)
	a := reg.Push(t, registrytest.Spec{})
	src := "oci://" + reg.Host + "/" + a.Repo
	args := fx.subscribe(t, []string{src}, "  - url: "+src+"\n")
	diff := func(t *testing.T, mappingFile string) (result, *plan.Plan) {
		t.Helper()
		r := fx.run(t, "diff", append(append([]string{"-o", "json"}, args...), "--mapping-file", mappingFile)...)
		var p plan.Plan
		if r.code == 0 {
			if err := json.Unmarshal([]byte(r.stdout), &p); err != nil {
				t.Fatalf("%v: %s", err, r)
			}
		}
		return r, &p
	}
	for _, m := range []string{fx.mapping, cmdutil.DefaultMappingFile} {
		r, p := diff(t, m)
		if r.code != 0 || len(p.Changes) != 1 || p.Changes[0].Action != plan.ActionCreate || p.Changes[0].Project != fx.env.ProjectCK {
			t.Errorf("--mapping-file %s: want one image created in the default project %s: %s", m, fx.env.ProjectCK, r)
		}
	}
	missing := filepath.Join(fx.dir, "missing.json")
	if r, _ := diff(t, missing); r.code != cmdutil.ExitError || !strings.Contains(r.stderr, "--mapping-file") || !strings.Contains(r.stderr, "missing.json") {
		t.Errorf("named mapping file missing: want a usage error naming it: %s", r)
	}
}
