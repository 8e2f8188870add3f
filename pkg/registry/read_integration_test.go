package registry_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/ck-sync/ck/pkg/ociref"
	"github.com/ck-sync/ck/pkg/registry"
	"github.com/ck-sync/ck/pkg/registry/registrytest"
)

// These tests read artifacts that the real oras CLI pushed into the real
// local docker-registry (contrib/devcloud), as EGI's pipeline does.

func read(t *testing.T, reg *registrytest.Registry, src string, opts registry.Options) (*registry.Listing, error) {
	t.Helper()
	ref, err := ociref.Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	if opts.HTTP == nil {
		opts.HTTP = reg.HTTPClient()
	}
	return registry.Read(context.Background(), ref, opts)
}

func TestReadEGIRepository(t *testing.T) {
	env := registrytest.Setup(t)
	reg := env.Anon
	a := reg.Push(t, registrytest.Spec{SBOM: true})
	project := strings.Split(a.Repo, "/")[0]
	// An old-style build, one without eu.egi.cloud.tag, one with two disks,
	// in the same repository under moving-style tags.
	legacy := reg.Push(t, registrytest.Spec{Repo: a.Repo, Tags: []string{"22.04"}, MediaType: registrytest.MediaTypeLegacyLayer})
	reg.Push(t, registrytest.Spec{Repo: a.Repo, Tags: []string{"20.04"}, Omit: []string{registrytest.AnnTag}})
	reg.Push(t, registrytest.Spec{Repo: a.Repo, Tags: []string{"18.04"}, Layers: 2})

	l, err := read(t, reg, "oci://"+reg.Host+"/"+a.Repo, registry.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Artifacts) != 2 {
		t.Fatalf("artifacts = %+v, want 24.04 and 22.04", l.Artifacts)
	}
	got := map[string]registry.Artifact{}
	for _, x := range l.Artifacts {
		got[x.Tag] = x
	}
	if x := got["24.04"]; x.ManifestDigest != a.Digest || x.Disk.Digest != a.Layers[0].Digest || x.Disk.Size != a.Layers[0].Size || x.Disk.MediaType != registry.MediaTypeQemuDisk {
		t.Errorf("24.04 = %+v, pushed %s layer %+v", x, a.Digest, a.Layers[0])
	}
	if x := got["22.04"]; x.ManifestDigest != legacy.Digest || x.Disk.MediaType != registry.MediaTypeOCITar {
		t.Errorf("22.04 = %+v", x)
	}
	if len(l.Skipped) != 2 {
		t.Fatalf("skipped = %+v, want 18.04 (two disks) and 20.04 (no tag annotation)", l.Skipped)
	}
	if s := l.Skipped[0]; s.Tag != "18.04" || !strings.Contains(s.Reason, "2 disk layers") {
		t.Errorf("skipped[0] = %+v", s)
	}
	if s := l.Skipped[1]; s.Tag != "20.04" || !strings.Contains(s.Reason, "eu.egi.cloud.tag is missing") {
		t.Errorf("skipped[1] = %+v", s)
	}
	// The long tag fails the default pattern; the SBOM's sha256-… tag is a referrer.
	if l.Unselected != 1 || l.Referrers != 1 {
		t.Errorf("unselected %d, referrers %d; want 1 and 1", l.Unselected, l.Referrers)
	}

	list := l.List()
	if list.ID != "oci://"+reg.Host+"/"+a.Repo || len(list.Images) != 2 || len(list.Skipped) != 2 {
		t.Fatalf("list = %+v", list)
	}
	img := list.Images[1] // sorted by tag: 22.04, 24.04
	if img.ID != reg.Host+"/"+a.Repo+":24.04" || img.Title != a.Repo+":24.04" {
		t.Errorf("id %q title %q", img.ID, img.Title)
	}
	if img.URI != "oci://"+reg.Host+"/"+a.Repo+"@"+a.Layers[0].Digest || img.Digest != a.Layers[0].Digest || img.SHA512 != "" {
		t.Errorf("uri %q digest %q sha512 %q", img.URI, img.Digest, img.SHA512)
	}
	if img.Version != a.Digest || img.OSName != "ubuntu" || img.OSVersion != "24.04" || img.Arch != "x86_64" || img.Format != "qcow2" {
		t.Errorf("image = %+v", img)
	}
	wantID := reg.Host + "/" + a.Repo + ":24.04-" + a.Digest
	if img.Properties[registry.PropAppDBID] != wantID || img.MPURI != wantID || img.Properties[registry.PropImageHash] != a.Layers[0].Digest {
		t.Errorf("properties = %v", img.Properties)
	}
	if img.Properties[registry.PropOSAdminUser] != "ubuntu" || img.Properties[registry.PropOSType] != "linux" || img.Properties[registry.PropHVVersion] != a.ImageTag {
		t.Errorf("properties = %v", img.Properties)
	}
	var attrs map[string]string
	if err := json.Unmarshal(img.Raw, &attrs); err != nil {
		t.Fatal(err)
	}
	if attrs[registry.AnnotationImageRef] != a.Repo+":24.04" || attrs[registry.AnnotationTag] != a.ImageTag || attrs["org.opencontainers.image.revision"] != a.Revision {
		t.Errorf("attributes = %v", attrs)
	}
	if list.Skipped[0].ID != reg.Host+"/"+a.Repo+":18.04" {
		t.Errorf("skipped id %q", list.Skipped[0].ID)
	}
	_ = project
}

// A selected tag moved onto an SBOM (a manifest with a subject) is a skip,
// not a referrer: the image the tag named before is kept, not retired as
// removed. Only the referrers-tag-schema tag counts as a referrer.
func TestReadSubjectOnSelectedTag(t *testing.T) {
	reg := registrytest.Setup(t).Anon
	a := reg.Push(t, registrytest.Spec{SBOM: true})
	reg.Oras(t, t.TempDir(), "tag", reg.Host+"/"+a.Repo+"@"+a.SBOM, "24.04")

	for _, src := range []string{"oci://" + reg.Host + "/" + a.Repo, "oci://" + reg.Host + "/" + a.Repo + ":24.04"} {
		l, err := read(t, reg, src, registry.Options{})
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		if len(l.Artifacts) != 0 || len(l.Skipped) != 1 {
			t.Fatalf("%s: artifacts %+v, skipped %+v; want only 24.04 skipped", src, l.Artifacts, l.Skipped)
		}
		if s := l.Skipped[0]; s.Tag != "24.04" || s.ManifestDigest != a.SBOM || !strings.Contains(s.Reason, "subject") {
			t.Errorf("%s: skipped %+v", src, s)
		}
		if got := l.List().Skipped[0].ID; got != reg.Host+"/"+a.Repo+":24.04" {
			t.Errorf("%s: skipped id %q: the 24.04 image would not be kept", src, got)
		}
	}
	l, _ := read(t, reg, "oci://"+reg.Host+"/"+a.Repo, registry.Options{})
	if l.Referrers != 1 || l.Unselected != 1 {
		t.Errorf("referrers %d, unselected %d; want 1 (the sha256-… tag) and 1", l.Referrers, l.Unselected)
	}
}

func TestReadTagAndDigest(t *testing.T) {
	reg := registrytest.Setup(t).Anon
	a := reg.Push(t, registrytest.Spec{})
	long := a.Tags[0]
	for _, src := range []string{
		"oci://" + reg.Host + "/" + a.Repo + ":" + long, // a tag the default pattern would leave out
		"oci://" + reg.Host + "/" + a.Repo + "@" + a.Digest,
	} {
		l, err := read(t, reg, src, registry.Options{})
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		if len(l.Artifacts) != 1 || l.Artifacts[0].ManifestDigest != a.Digest {
			t.Fatalf("%s: %+v", src, l.Artifacts)
		}
	}
	// A custom pattern selects the long tags instead.
	l, err := read(t, reg, "oci://"+reg.Host+"/"+a.Repo, registry.Options{TagPattern: regexp.MustCompile(`^24\.04-`)})
	if err != nil || len(l.Artifacts) != 1 || l.Artifacts[0].Tag != long {
		t.Fatalf("pattern: %+v, %v", l, err)
	}
	// A subscribed tag that is gone fails the source: no retirement from it.
	if _, err := read(t, reg, "oci://"+reg.Host+"/"+a.Repo+":9.9", registry.Options{}); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("missing tag: %v", err)
	}
}

func TestReadAuth(t *testing.T) {
	reg := registrytest.Setup(t).Auth
	a := reg.Push(t, registrytest.Spec{})
	src := "oci://" + reg.Host + "/" + a.Repo
	dir := t.TempDir()

	_, err := read(t, reg, src, registry.Options{})
	if err == nil || !strings.Contains(err.Error(), "HTTP 401") {
		t.Fatalf("anonymous: %v, want HTTP 401", err)
	}
	pw := dir + "/pw"
	if err := os.WriteFile(pw, []byte(reg.Password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	wrong := dir + "/wrong"
	_ = os.WriteFile(wrong, []byte("not-the-password\n"), 0o600)
	docker := dir + "/config.json"
	auth := base64.StdEncoding.EncodeToString([]byte(reg.Username + ":" + reg.Password))
	_ = os.WriteFile(docker, []byte(`{"auths":{"`+reg.Host+`":{"auth":"`+auth+`"}}}`), 0o600)

	for _, tt := range []struct {
		name string
		auth registry.Auth
		ok   bool
	}{
		{"password file", registry.Auth{Username: reg.Username, PasswordFile: pw}, true},
		{"docker config", registry.Auth{DockerConfig: docker}, true},
		{"wrong password", registry.Auth{Username: reg.Username, PasswordFile: wrong}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cred, err := tt.auth.Load(reg.Host, nil)
			if err != nil {
				t.Fatal(err)
			}
			l, err := read(t, reg, src, registry.Options{Credential: cred})
			if !tt.ok {
				if err == nil || !strings.Contains(err.Error(), "HTTP 401") {
					t.Fatalf("err = %v, want HTTP 401", err)
				}
				if strings.Contains(err.Error(), reg.Password) || strings.Contains(err.Error(), "not-the-password") {
					t.Errorf("error shows a password: %v", err)
				}
				return
			}
			if err != nil || len(l.Artifacts) != 1 || l.Artifacts[0].ManifestDigest != a.Digest {
				t.Fatalf("%+v, %v", l, err)
			}
		})
	}
}

// A manifest whose stored bytes no longer hash to its digest fails the
// whole source.
func TestReadManifestTampered(t *testing.T) {
	reg := registrytest.Setup(t).Anon
	a := reg.Push(t, registrytest.Spec{})
	reg.CorruptBlob(t, a.Digest)
	_, err := read(t, reg, "oci://"+reg.Host+"/"+a.Repo, registry.Options{})
	if err == nil || !strings.Contains(err.Error(), "digest mismatch") {
		t.Fatalf("err = %v, want a digest mismatch", err)
	}
}

func TestReadRegistryDown(t *testing.T) {
	p := registrytest.StartPrivate(t, false)
	a := p.Push(t, registrytest.Spec{})
	src := "oci://" + p.Host + "/" + a.Repo
	if l, err := read(t, p.Registry, src, registry.Options{}); err != nil || len(l.Artifacts) != 1 {
		t.Fatalf("before: %+v, %v", l, err)
	}
	p.Stop(t)
	if _, err := read(t, p.Registry, src, registry.Options{}); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("registry down: err = %v", err)
	}
}

// harbor:// enumerates a project's repositories through Harbor's REST
// API. Harbor cannot run on these machines: an in-process server answers
// the documented shape of GET /api/v2.0/projects/{p}/repositories, naming
// repositories that exist on the real local registry, which serves
// everything after enumeration.
func TestReadHarborProject(t *testing.T) {
	reg := registrytest.Setup(t).Anon
	project := registrytest.NewProject()
	ubuntu := reg.Push(t, registrytest.Spec{Repo: project + "/ubuntu"})
	alma := reg.Push(t, registrytest.Spec{Repo: project + "/nested/alma", Tags: []string{"9"}})

	var paths []string
	api := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		paths = append(paths, r.URL.RequestURI())
		if r.URL.Path != "/api/v2.0/projects/"+project+"/repositories" {
			http.NotFound(w, r)
			return
		}
		page := r.URL.Query().Get("page")
		w.Header().Set("X-Total-Count", "2")
		w.Header().Set("Content-Type", "application/json")
		switch page {
		case "1":
			w.Header().Set("Link", fmt.Sprintf(`</api/v2.0/projects/%s/repositories?page=2&page_size=100>; rel="next"`, project))
			fmt.Fprintf(w, `[{"id":1,"name":%q,"artifact_count":1}]`, project+"/ubuntu")
		case "2":
			fmt.Fprintf(w, `[{"id":2,"name":%q,"artifact_count":1}]`, project+"/nested/alma")
		default:
			http.Error(w, "bad page", http.StatusBadRequest)
		}
	}))
	defer api.Close()
	client := reg.HTTPClient()
	tr := client.Transport.(*http.Transport).Clone()
	tr.TLSClientConfig.RootCAs.AddCert(api.Certificate())
	client.Transport = tr

	l, err := read(t, reg, "harbor://"+reg.Host+"/"+project, registry.Options{HTTP: client, HarborAPI: api.URL + "/api/v2.0"})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Artifacts) != 2 || l.Artifacts[0].ManifestDigest != alma.Digest || l.Artifacts[1].ManifestDigest != ubuntu.Digest {
		t.Fatalf("artifacts = %+v", l.Artifacts)
	}
	if len(paths) != 2 {
		t.Errorf("harbor API calls = %v, want two pages", paths)
	}
	if got := l.List().ID; got != "harbor://"+reg.Host+"/"+project {
		t.Errorf("list id %q", got)
	}
}
