package registrytest_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/ck-sync/ck/pkg/registry/registrytest"
)

func sha256File(t *testing.T, path string) (string, []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:]), b
}

func digestOf(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// TestPushEGIArtifact pushes the default Spec to both shared registries and
// reads it back with plain net/http: the manifest oras 1.x writes, EGI's
// annotations, both tags, and a layer whose bytes are the qcow2 pushed.
func TestPushEGIArtifact(t *testing.T) {
	env := registrytest.Setup(t)
	for _, tc := range []struct {
		name string
		reg  *registrytest.Registry
	}{
		{"anonymous", env.Anon},
		{"htpasswd", env.Auth},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := tc.reg.Push(t, registrytest.Spec{})

			m := a.Manifest
			if m.SchemaVersion != 2 || m.MediaType != registrytest.MediaTypeManifest ||
				m.ArtifactType != registrytest.ArtifactTypeUnknown || m.Config.MediaType != registrytest.MediaTypeEmpty {
				t.Errorf("manifest: schemaVersion %d, mediaType %q, artifactType %q, config %q; want 2, %q, %q, %q",
					m.SchemaVersion, m.MediaType, m.ArtifactType, m.Config.MediaType,
					registrytest.MediaTypeManifest, registrytest.ArtifactTypeUnknown, registrytest.MediaTypeEmpty)
			}
			if got := digestOf(a.RawManifest); got != a.Digest {
				t.Errorf("manifest digest: oras said %s, the bytes hash to %s", a.Digest, got)
			}
			if len(a.Layers) != 1 {
				t.Fatalf("layers: got %d, want 1", len(a.Layers))
			}
			l := a.Layers[0]
			if l.MediaType != registrytest.MediaTypeQEMUDisk {
				t.Errorf("layer media type: got %q, want %q", l.MediaType, registrytest.MediaTypeQEMUDisk)
			}

			if !regexpMatch(`^2025-10-07-[0-9a-f]{8}$`, a.ImageTag) {
				t.Errorf("ImageTag %q: want 2025-10-07-<8 hex>", a.ImageTag)
			}
			wantLayer := map[string]string{
				registrytest.AnnTag:             a.ImageTag,
				registrytest.AnnDescription:     "EGI Ubuntu 24.04 image",
				registrytest.AnnOSDistro:        "ubuntu",
				registrytest.AnnOSVersion:       "24.04",
				registrytest.AnnOSType:          "linux",
				registrytest.AnnOSAdminUser:     "ubuntu",
				registrytest.AnnArchitecture:    "x86_64",
				registrytest.AnnDiskFormat:      "qcow2",
				registrytest.AnnContainerFormat: "bare",
				registrytest.AnnTitle:           "Ubuntu.24.04-" + a.ImageTag + ".qcow2",
			}
			assertMap(t, "layer annotations", l.Annotations, wantLayer)
			if !regexpMatch(`^[0-9a-f]{40}$`, a.Revision) || !strings.HasSuffix(a.ImageTag, a.Revision[:8]) {
				t.Errorf("revision %q: want 40 hex starting with the tag's commit (%s)", a.Revision, a.ImageTag)
			}
			if m.Annotations[registrytest.AnnCreated] == "" {
				t.Errorf("manifest annotations %v: no %s", m.Annotations, registrytest.AnnCreated)
			}
			delete(m.Annotations, registrytest.AnnCreated)
			assertMap(t, "manifest annotations", m.Annotations, map[string]string{
				registrytest.AnnRevision: a.Revision,
				registrytest.AnnSource:   registrytest.EGISource,
			})

			wantTags := []string{"24.04-" + a.ImageTag, "24.04"}
			if !slices.Equal(a.Tags, wantTags) {
				t.Errorf("Tags: got %v, want %v", a.Tags, wantTags)
			}
			got := tc.reg.Tags(t, a.Repo)
			slices.Sort(got)
			slices.Sort(wantTags)
			if !slices.Equal(got, wantTags) {
				t.Errorf("registry tags of %s: got %v, want %v", a.Repo, got, wantTags)
			}
			for _, tag := range wantTags {
				if raw, _ := tc.reg.Manifest(t, a.Repo, tag); digestOf(raw) != a.Digest {
					t.Errorf("tag %s points to %s, want %s", tag, digestOf(raw), a.Digest)
				}
			}

			fileDigest, data := sha256File(t, l.File)
			if l.Digest != fileDigest || l.Size != int64(len(data)) {
				t.Errorf("layer: digest %s size %d; the pushed file has %s and %d bytes", l.Digest, l.Size, fileDigest, len(data))
			}
			if !bytes.HasPrefix(data, []byte("QFI\xfb")) {
				t.Errorf("layer file %s is not a qcow2 (starts with %q)", l.File, data[:4])
			}
			if l.Size < 128<<10 || l.Size > 2<<20 {
				t.Errorf("layer size %d: want a few hundred KiB", l.Size)
			}
			stored, err := os.ReadFile(tc.reg.BlobPath(l.Digest))
			if err != nil || !bytes.Equal(stored, data) {
				t.Errorf("BlobPath(%s): the stored file differs from the pushed one (%v)", l.Digest, err)
			}

			if n := tc.reg.BlobGETs(t, a.Repo, l.Digest); n != 0 {
				t.Errorf("BlobGETs after push: got %d, want 0 (oras push sends HEAD, not GET)", n)
			}
			for i := 1; i <= 2; i++ {
				resp, body := tc.reg.Get(t, a.Repo+"/blobs/"+l.Digest, "", false)
				if resp.StatusCode != 200 || digestOf(body) != l.Digest {
					t.Fatalf("GET blob: status %d, digest %s; want 200, %s", resp.StatusCode, digestOf(body), l.Digest)
				}
				if n := tc.reg.BlobGETs(t, a.Repo, l.Digest); n != i {
					t.Errorf("BlobGETs after %d downloads: got %d", i, n)
				}
			}
		})
	}
}

// TestPushVariants covers the artifacts that ck must handle or skip besides
// the standard one.
func TestPushVariants(t *testing.T) {
	env := registrytest.Setup(t)
	disk := filepath.Join(t.TempDir(), "given.qcow2")
	if err := os.WriteFile(disk, []byte("QFI\xfb not really a disk, but bytes a test chose"), 0o644); err != nil {
		t.Fatal(err)
	}
	givenDigest, _ := sha256File(t, disk)

	for _, tc := range []struct {
		name  string
		spec  registrytest.Spec
		check func(t *testing.T, a *registrytest.Artifact)
	}{
		{
			name: "old-style layer media type",
			spec: registrytest.Spec{MediaType: registrytest.MediaTypeLegacyLayer},
			check: func(t *testing.T, a *registrytest.Artifact) {
				if got := a.Layers[0].MediaType; got != registrytest.MediaTypeLegacyLayer {
					t.Errorf("layer media type: got %q, want %q", got, registrytest.MediaTypeLegacyLayer)
				}
			},
		},
		{
			name: "without eu.egi.cloud.tag",
			spec: registrytest.Spec{Omit: []string{registrytest.AnnTag}},
			check: func(t *testing.T, a *registrytest.Artifact) {
				ann := a.Layers[0].Annotations
				if _, ok := ann[registrytest.AnnTag]; ok || a.ImageTag != "" {
					t.Errorf("layer annotations %v (ImageTag %q): want no %s", ann, a.ImageTag, registrytest.AnnTag)
				}
				if ann[registrytest.AnnOSDistro] != "ubuntu" {
					t.Errorf("layer annotations %v: the other EGI annotations should stay", ann)
				}
			},
		},
		{
			name: "two disk layers",
			spec: registrytest.Spec{Layers: 2},
			check: func(t *testing.T, a *registrytest.Artifact) {
				if len(a.Layers) != 2 {
					t.Fatalf("layers: got %d, want 2", len(a.Layers))
				}
				l0, l1 := a.Layers[0], a.Layers[1]
				if l0.Digest == l1.Digest || l0.Annotations[registrytest.AnnTitle] == l1.Annotations[registrytest.AnnTitle] {
					t.Errorf("layers share a digest or a title: %+v %+v", l0, l1)
				}
				for _, l := range a.Layers {
					if l.MediaType != registrytest.MediaTypeQEMUDisk || l.Annotations[registrytest.AnnTag] != a.ImageTag {
						t.Errorf("layer %s: media type %q, tag %q; want %q, %q", l.Digest, l.MediaType,
							l.Annotations[registrytest.AnnTag], registrytest.MediaTypeQEMUDisk, a.ImageTag)
					}
				}
			},
		},
		{
			name: "SBOM attached",
			spec: registrytest.Spec{SBOM: true},
			check: func(t *testing.T, a *registrytest.Artifact) {
				r := a.Registry
				_, sbom := r.Manifest(t, a.Repo, a.SBOM)
				if sbom.ArtifactType != registrytest.ArtifactTypeSBOM || sbom.Subject == nil || sbom.Subject.Digest != a.Digest {
					t.Errorf("SBOM manifest: artifactType %q, subject %+v; want %q, %s",
						sbom.ArtifactType, sbom.Subject, registrytest.ArtifactTypeSBOM, a.Digest)
				}
				if len(sbom.Layers) != 1 || sbom.Layers[0].MediaType != registrytest.MediaTypeLegacyLayer {
					t.Errorf("SBOM layers %+v: want one of oras's default type %s", sbom.Layers, registrytest.MediaTypeLegacyLayer)
				}
				// distribution 2.8 has no referrers API: oras used the tag schema.
				schemaTag := "sha256-" + strings.TrimPrefix(a.Digest, "sha256:")
				if tags := r.Tags(t, a.Repo); !slices.Contains(tags, schemaTag) {
					t.Fatalf("tags %v: no referrers tag %s", tags, schemaTag)
				}
				_, idx := r.Manifest(t, a.Repo, schemaTag)
				if idx.MediaType != registrytest.MediaTypeIndex || len(idx.Manifests) != 1 || idx.Manifests[0].Digest != a.SBOM {
					t.Errorf("referrers tag %s: %+v; want an index of %s", schemaTag, idx, a.SBOM)
				}
			},
		},
		{
			name: "no annotation file",
			spec: registrytest.Spec{NoAnnotationFile: true},
			check: func(t *testing.T, a *registrytest.Artifact) {
				ann := a.Layers[0].Annotations
				if len(ann) != 1 || ann[registrytest.AnnTitle] == "" {
					t.Errorf("layer annotations %v: want oras's title alone", ann)
				}
				if _, ok := a.Manifest.Annotations[registrytest.AnnRevision]; ok || a.ImageTag != "" || a.Revision != "" {
					t.Errorf("manifest annotations %v, ImageTag %q, Revision %q: want none of EGI's",
						a.Manifest.Annotations, a.ImageTag, a.Revision)
				}
			},
		},
		{
			name: "given disk, repo, tags and annotations",
			spec: registrytest.Spec{
				Repo: registrytest.NewProject() + "/alma", Tags: []string{"9.6-2025-10-01-0a1b2c3d", "9.6"},
				Disks:               []string{disk},
				LayerAnnotations:    map[string]string{registrytest.AnnOSDistro: "alma", registrytest.AnnOSVersion: "9.6"},
				ManifestAnnotations: map[string]string{registrytest.AnnRevision: "0a1b2c3d"},
			},
			check: func(t *testing.T, a *registrytest.Artifact) {
				if !strings.HasSuffix(a.Repo, "/alma") || !slices.Equal(a.Tags, []string{"9.6-2025-10-01-0a1b2c3d", "9.6"}) {
					t.Errorf("repo %s, tags %v", a.Repo, a.Tags)
				}
				if a.Layers[0].Digest != givenDigest {
					t.Errorf("layer digest %s, want the given file's %s", a.Layers[0].Digest, givenDigest)
				}
				ann := a.Layers[0].Annotations
				if ann[registrytest.AnnOSDistro] != "alma" || ann[registrytest.AnnOSVersion] != "9.6" || ann[registrytest.AnnOSType] != "linux" {
					t.Errorf("layer annotations %v: want the overrides merged over the defaults", ann)
				}
				if a.Revision != "0a1b2c3d" || a.Manifest.Annotations[registrytest.AnnRevision] != "0a1b2c3d" {
					t.Errorf("revision %q / %v", a.Revision, a.Manifest.Annotations)
				}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.check(t, env.Anon.Push(t, tc.spec))
		})
	}
}

// TestPushFreshContent: two pushes never share a blob, so altering one in a
// test cannot break another.
func TestPushFreshContent(t *testing.T) {
	env := registrytest.Setup(t)
	a := env.Anon.Push(t, registrytest.Spec{})
	b := env.Anon.Push(t, registrytest.Spec{})
	if a.Layers[0].Digest == b.Layers[0].Digest || a.Repo == b.Repo || a.ImageTag == b.ImageTag {
		t.Errorf("two pushes share a layer, a repository or a tag: %s %s %s / %s %s %s",
			a.Repo, a.ImageTag, a.Layers[0].Digest, b.Repo, b.ImageTag, b.Layers[0].Digest)
	}
}

// TestDeleteManifest: deleting a build removes every tag that pointed to it
// and leaves the other builds of the repository alone.
func TestDeleteManifest(t *testing.T) {
	env := registrytest.Setup(t)
	old := env.Auth.Push(t, registrytest.Spec{})
	// A rebuild moves the short tag "24.04" to the new build, as EGI's pipeline does.
	rebuilt := env.Auth.Push(t, registrytest.Spec{Repo: old.Repo})
	if raw, _ := env.Auth.Manifest(t, old.Repo, "24.04"); digestOf(raw) != rebuilt.Digest {
		t.Fatalf("24.04 points to %s after the rebuild, want %s", digestOf(raw), rebuilt.Digest)
	}
	env.Auth.DeleteManifest(t, old.Repo, old.Digest)
	got := env.Auth.Tags(t, old.Repo)
	slices.Sort(got)
	want := []string{"24.04", rebuilt.Tags[0]}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("tags after deleting the old build: got %v, want %v", got, want)
	}
	if resp, _ := env.Auth.Get(t, old.Repo+"/manifests/"+old.Digest, registrytest.MediaTypeManifest, false); resp.StatusCode != 404 {
		t.Errorf("GET deleted manifest: %d, want 404", resp.StatusCode)
	}
}

// TestAuthRefusesAnonymous: the htpasswd instance answers 401 with a Basic
// challenge without the credential, 200 with it.
func TestAuthRefusesAnonymous(t *testing.T) {
	env := registrytest.Setup(t)
	if env.Auth.Username == "" || env.Auth.Password == "" || env.Anon.Username != "" {
		t.Fatalf("credentials: auth %q/%t, anonymous %q", env.Auth.Username, env.Auth.Password != "", env.Anon.Username)
	}
	a := env.Auth.Push(t, registrytest.Spec{})
	for _, path := range []string{"", a.Repo + "/tags/list", a.Repo + "/manifests/" + a.Digest, a.Repo + "/blobs/" + a.Layers[0].Digest} {
		resp, _ := env.Auth.Get(t, path, "", true)
		if resp.StatusCode != 401 || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic realm=") {
			t.Errorf("anonymous GET /v2/%s: status %d, WWW-Authenticate %q; want 401 and a Basic challenge",
				path, resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
		}
		if resp, _ := env.Auth.Get(t, path, registrytest.MediaTypeManifest, false); resp.StatusCode != 200 {
			t.Errorf("GET /v2/%s with the test credential: status %d, want 200", path, resp.StatusCode)
		}
	}
	if n := env.Auth.BlobGETs(t, a.Repo, a.Layers[0].Digest); n != 2 {
		t.Errorf("BlobGETs: got %d, want 2 (the refused GET is logged too)", n)
	}
}

// TestCorruptBlob: the registry serves the altered bytes under the same
// digest and size, so only a client that hashes what it streams notices.
func TestCorruptBlob(t *testing.T) {
	env := registrytest.Setup(t)
	a := env.Anon.Push(t, registrytest.Spec{})
	l := a.Layers[0]
	env.Anon.CorruptBlob(t, l.Digest)
	resp, body := env.Anon.Get(t, a.Repo+"/blobs/"+l.Digest, "", false)
	if resp.StatusCode != 200 || int64(len(body)) != l.Size || resp.Header.Get("Content-Length") != strconv.FormatInt(l.Size, 10) {
		t.Fatalf("GET altered blob: status %d, %d bytes, Content-Length %s; want 200 and %d", resp.StatusCode, len(body), resp.Header.Get("Content-Length"), l.Size)
	}
	if digestOf(body) == l.Digest {
		t.Errorf("the altered blob still hashes to %s", l.Digest)
	}
	if resp.Header.Get("Docker-Content-Digest") != l.Digest {
		t.Errorf("Docker-Content-Digest %q, want the original %s", resp.Header.Get("Docker-Content-Digest"), l.Digest)
	}
}

// TestStartPrivate stops and restarts a private registry, and checks that the
// auth variant refuses anonymous requests.
func TestStartPrivate(t *testing.T) {
	t.Run("anonymous stop and start", func(t *testing.T) {
		t.Parallel()
		p := registrytest.StartPrivate(t, false)
		if dir := registrytest.Setup(t).Anon.StorageDir; p.StorageDir == dir {
			t.Fatalf("private registry shares the shared instance's storage %s", dir)
		}
		a := p.Push(t, registrytest.Spec{})
		p.Stop(t)
		c := p.HTTPClient()
		_, err := c.Get("https://" + p.Host + "/v2/")
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("GET after Stop: %v, want connection refused", err)
		}
		p.Stop(t) // a second Stop does nothing
		p.Start(t)
		if raw, _ := p.Manifest(t, a.Repo, a.Tags[0]); digestOf(raw) != a.Digest {
			t.Errorf("after restart, %s points to %s, want %s", a.Tags[0], digestOf(raw), a.Digest)
		}
		resp, _ := p.Get(t, a.Repo+"/blobs/"+a.Layers[0].Digest, "", false)
		if resp.StatusCode != 200 || p.BlobGETs(t, a.Repo, a.Layers[0].Digest) != 1 {
			t.Errorf("GET blob: status %d, BlobGETs %d; want 200, 1", resp.StatusCode, p.BlobGETs(t, a.Repo, a.Layers[0].Digest))
		}
	})
	t.Run("htpasswd", func(t *testing.T) {
		t.Parallel()
		p := registrytest.StartPrivate(t, true)
		if resp, _ := p.Get(t, "", "", true); resp.StatusCode != 401 {
			t.Errorf("anonymous GET /v2/: %d, want 401", resp.StatusCode)
		}
		a := p.Push(t, registrytest.Spec{})
		if resp, _ := p.Get(t, a.Repo+"/tags/list", "", false); resp.StatusCode != 200 {
			t.Errorf("GET tags with the credential: %d, want 200", resp.StatusCode)
		}
	})
}

func regexpMatch(re, s string) bool { return regexp.MustCompile(re).MatchString(s) }

func assertMap(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s[%s] = %q, want %q", what, k, got[k], v)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: unexpected %s=%q", what, k, got[k])
		}
	}
}
