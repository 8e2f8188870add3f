package registrytest

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ck-sync/ck/pkg/transfer/imagetest"
)

// Media types and annotation keys of EGI's artifacts (see
// shared/research/oci-registry.md).
const (
	MediaTypeQEMUDisk    = "application/x-qemu-disk"                    // EGI's disk layer since July 2025
	MediaTypeLegacyLayer = "application/vnd.oci.image.layer.v1.tar"     // EGI's disk layer before; oras's default
	MediaTypeManifest    = "application/vnd.oci.image.manifest.v1+json" // what oras 1.x pushes
	MediaTypeIndex       = "application/vnd.oci.image.index.v1+json"    // oras's referrers tag-schema index
	MediaTypeEmpty       = "application/vnd.oci.empty.v1+json"          // the empty config of artifacts
	ArtifactTypeUnknown  = "application/vnd.unknown.artifact.v1"        // oras push's artifactType
	ArtifactTypeSBOM     = "application/vnd.cyclonedx+json"             // EGI's SBOM referrers

	AnnTag             = "eu.egi.cloud.tag"
	AnnDescription     = "eu.egi.cloud.description"
	AnnOSDistro        = "org.openstack.glance.os_distro"
	AnnOSVersion       = "org.openstack.glance.os_version"
	AnnOSType          = "org.openstack.glance.os_type"
	AnnOSAdminUser     = "org.openstack.glance.os_admin_user"
	AnnArchitecture    = "org.openstack.glance.architecture"
	AnnDiskFormat      = "org.openstack.glance.disk_format"
	AnnContainerFormat = "org.openstack.glance.container_format"
	AnnTitle           = "org.opencontainers.image.title" // added by oras: the file name
	AnnRevision        = "org.opencontainers.image.revision"
	AnnSource          = "org.opencontainers.image.source"
	AnnCreated         = "org.opencontainers.image.created" // added by oras

	// EGISource is the org.opencontainers.image.source EGI's pipeline sets.
	EGISource = "https://github.com/EGI-Federation/fedcloud-vmi-templates"
)

// Spec describes an artifact to push. The zero Spec is an EGI Ubuntu 24.04
// build: one fresh qcow2 layer of type application/x-qemu-disk, tags
// "24.04-2025-10-07-<commit>" and "24.04", EGI's layer and manifest
// annotations, in a repository of its own.
type Spec struct {
	// Repo is the repository path below the host (e.g. "egi_vm_images/ubuntu").
	// Default: NewProject() + "/ubuntu", so parallel tests never share one.
	Repo string
	// Tags are pushed at once, as EGI does ("LONG,SHORT"). Default: the
	// EGI-style long tag and "24.04".
	Tags []string
	// MediaType of every disk layer. Default MediaTypeQEMUDisk.
	MediaType string
	// Layers is how many fresh disks to push as layers. Default 1.
	Layers int
	// Disks are existing files to push instead of fresh ones (e.g. the same
	// bytes a test uploads to Glance as an atrope image). Overrides Layers.
	Disks []string
	// Size is the bytes of random data in each fresh disk. Default 128 KiB;
	// the qcow2 is about 0.5 MiB (metadata, one compressed cluster, the data).
	Size int
	// LayerAnnotations are merged over the EGI defaults on every disk layer.
	LayerAnnotations map[string]string
	// ManifestAnnotations are merged over the EGI defaults of the manifest.
	ManifestAnnotations map[string]string
	// Omit removes these keys from the layer and manifest annotations (e.g.
	// AnnTag for an artifact atrope and ck must ignore).
	Omit []string
	// NoAnnotationFile pushes without --annotation-file, as EGI's pipeline
	// does when its first push fails: only oras's own annotations remain.
	NoAnnotationFile bool
	// SBOM attaches a CycloneDX SBOM to the pushed manifest with
	// `oras attach --artifact-type application/vnd.cyclonedx+json`.
	SBOM bool
}

// Artifact is what Push pushed, as read back from the registry.
type Artifact struct {
	Registry    *Registry
	Repo        string
	Tags        []string
	Digest      string   // the manifest's digest
	RawManifest []byte   // the manifest as the registry serves it
	Manifest    Manifest // and parsed
	Layers      []Layer
	ImageTag    string // the eu.egi.cloud.tag pushed ("" when omitted)
	Revision    string // the org.opencontainers.image.revision pushed
	SBOM        string // the SBOM manifest's digest, "" without Spec.SBOM
}

// Layer is one disk layer of an Artifact.
type Layer struct {
	Digest      string
	Size        int64
	MediaType   string
	Annotations map[string]string
	File        string // the local copy of its bytes
}

// Manifest is the part of an OCI image manifest (or index) tests look at.
type Manifest struct {
	SchemaVersion int               `json:"schemaVersion"`
	MediaType     string            `json:"mediaType"`
	ArtifactType  string            `json:"artifactType,omitempty"`
	Config        Descriptor        `json:"config"`
	Layers        []Descriptor      `json:"layers"`
	Subject       *Descriptor       `json:"subject,omitempty"`
	Manifests     []Descriptor      `json:"manifests,omitempty"` // when it is an index
	Annotations   map[string]string `json:"annotations,omitempty"`
}

// Descriptor is an OCI content descriptor.
type Descriptor struct {
	MediaType    string            `json:"mediaType"`
	ArtifactType string            `json:"artifactType,omitempty"`
	Digest       string            `json:"digest"`
	Size         int64             `json:"size"`
	Annotations  map[string]string `json:"annotations,omitempty"`
}

// Ref returns HOST/REPO:tag, or HOST/REPO@digest when tag is a digest.
func (a *Artifact) Ref(tag string) string {
	if strings.HasPrefix(tag, "sha256:") {
		return a.Registry.Host + "/" + a.Repo + "@" + tag
	}
	return a.Registry.Host + "/" + a.Repo + ":" + tag
}

// NewProject returns a fresh project name ("cktest-1a2b3c4d"), to build
// repositories ("cktest-1a2b3c4d/ubuntu") that no other test touches.
func NewProject() string { return "cktest-" + randomHex(4) }

// Push pushes spec with the oras CLI the way EGI's pipeline does (one
// `oras push --annotation-file … REPO:LONG,SHORT FILE:MEDIATYPE`), optionally
// attaches an SBOM, and returns the artifact read back from the registry.
// Every fresh disk holds random bytes, so that no two pushes share a blob
// (tests alter stored blobs).
func (r *Registry) Push(t testing.TB, spec Spec) *Artifact {
	t.Helper()
	imagetest.Need(t)
	dir := t.TempDir()
	commit := randomHex(20)
	imageTag := "2025-10-07-" + commit[:8]
	repo := spec.Repo
	if repo == "" {
		repo = NewProject() + "/ubuntu"
	}
	tags := spec.Tags
	if len(tags) == 0 {
		tags = []string{"24.04-" + imageTag, "24.04"}
	}
	mediaType := spec.MediaType
	if mediaType == "" {
		mediaType = MediaTypeQEMUDisk
	}

	files := r.disks(t, dir, spec, imageTag)

	layerAnn := map[string]string{
		AnnTag:             imageTag,
		AnnDescription:     "EGI Ubuntu 24.04 image",
		AnnOSDistro:        "ubuntu",
		AnnOSVersion:       "24.04",
		AnnOSType:          "linux",
		AnnOSAdminUser:     "ubuntu",
		AnnArchitecture:    "x86_64",
		AnnDiskFormat:      "qcow2",
		AnnContainerFormat: "bare",
	}
	maps.Copy(layerAnn, spec.LayerAnnotations)
	manifestAnn := map[string]string{AnnRevision: commit, AnnSource: EGISource}
	maps.Copy(manifestAnn, spec.ManifestAnnotations)
	for _, k := range spec.Omit {
		delete(layerAnn, k)
		delete(manifestAnn, k)
	}

	args := []string{"push"}
	if !spec.NoAnnotationFile {
		ann := map[string]map[string]string{"$manifest": manifestAnn}
		for _, f := range files {
			ann[filepath.Base(f)] = layerAnn
		}
		b, err := json.MarshalIndent(ann, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		imagetest.Write(t, dir, "metadata.json", b)
		args = append(args, "--annotation-file", "metadata.json")
	}
	args = append(args, r.Host+"/"+repo+":"+strings.Join(tags, ","))
	for _, f := range files {
		// oras wants names relative to its working directory (they become the titles).
		args = append(args, filepath.Base(f)+":"+mediaType)
	}
	digest := r.orasDigest(t, dir, args...)

	a := &Artifact{Registry: r, Repo: repo, Tags: tags, Digest: digest,
		ImageTag: layerAnn[AnnTag], Revision: manifestAnn[AnnRevision]}
	if spec.NoAnnotationFile {
		a.ImageTag, a.Revision = "", ""
	}
	a.RawManifest, a.Manifest = r.Manifest(t, repo, digest)
	if len(a.Manifest.Layers) != len(files) {
		t.Fatalf("push %s: the registry's manifest has %d layers, pushed %d", a.Ref(digest), len(a.Manifest.Layers), len(files))
	}
	for i, l := range a.Manifest.Layers {
		a.Layers = append(a.Layers, Layer{Digest: l.Digest, Size: l.Size, MediaType: l.MediaType,
			Annotations: l.Annotations, File: files[i]})
	}
	if spec.SBOM {
		a.SBOM = r.AttachSBOM(t, repo, digest)
	}
	return a
}

// AttachSBOM attaches a small CycloneDX document to REPO@digest the way EGI's
// pipeline does, and returns the SBOM manifest's digest. Distribution 2.8
// has no referrers API, so oras falls back to the tag schema: the repository
// gains a tag "sha256-<hex of digest>". The SBOM's own layer has oras's
// default media type, application/vnd.oci.image.layer.v1.tar — the same as
// EGI's old disk layers, so only its artifactType and subject tell it apart.
func (r *Registry) AttachSBOM(t testing.TB, repo, digest string) string {
	t.Helper()
	dir := t.TempDir()
	sbom := fmt.Sprintf(`{"bomFormat":"CycloneDX","specVersion":"1.5","version":1,`+
		`"serialNumber":"urn:uuid:%s","components":[{"type":"operating-system","name":"ubuntu","version":"24.04"}]}`,
		uuid())
	imagetest.Write(t, dir, "sbom.cdx.json", []byte(sbom))
	return r.orasDigest(t, dir, "attach", "--artifact-type", ArtifactTypeSBOM,
		r.Host+"/"+repo+"@"+digest, "sbom.cdx.json")
}

// disks returns the files to push: spec.Disks copied into dir, or fresh
// qcow2s named as EGI names them (Ubuntu.24.04-<tag>.qcow2).
func (r *Registry) disks(t testing.TB, dir string, spec Spec, imageTag string) []string {
	t.Helper()
	var files []string
	for i, src := range spec.Disks {
		dst := filepath.Join(dir, fmt.Sprintf("disk-%d%s", i+1, filepath.Ext(src)))
		copyFile(t, src, dst)
		files = append(files, dst)
	}
	if len(files) > 0 {
		return files
	}
	n := max(spec.Layers, 1)
	size := spec.Size
	if size <= 0 {
		size = 128 << 10
	}
	for i := range n {
		name := "Ubuntu.24.04-" + imageTag
		if i > 0 {
			name += fmt.Sprintf("-part%d", i+1)
		}
		files = append(files, freshQCOW2(t, dir, name, size))
	}
	return files
}

// copyFile hard-links src to dst, or copies it (another file system).
func copyFile(t testing.TB, src, dst string) {
	t.Helper()
	if os.Link(src, dst) == nil {
		return
	}
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// freshQCOW2 writes a 2 MiB virtual disk — size random bytes, then 128 KiB
// of text that compresses, then zeros — and converts it the way EGI does
// (`qemu-img convert -c -O qcow2`: compressed clusters).
func freshQCOW2(t testing.TB, dir, name string, size int) string {
	t.Helper()
	raw := make([]byte, 0, size+128<<10)
	raw = append(raw, make([]byte, size)...)
	if _, err := rand.Read(raw); err != nil {
		t.Fatal(err)
	}
	raw = append(raw, bytes.Repeat([]byte("ck registry test disk "), (128<<10)/22)...)
	rawPath := imagetest.Write(t, dir, name+".raw", raw)
	if err := os.Truncate(rawPath, max(int64(len(raw)), 2<<20)); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, name+".qcow2")
	imagetest.Run(t, "qemu-img", "convert", "-c", "-f", "raw", "-O", "qcow2", rawPath, out)
	if err := os.Remove(rawPath); err != nil {
		t.Fatal(err)
	}
	return out
}

// orasDigest runs oras with --format json in dir and returns the digest it
// printed.
func (r *Registry) orasDigest(t testing.TB, dir string, args ...string) string {
	t.Helper()
	out := r.Oras(t, dir, append(args, "--format", "json")...)
	var res struct {
		Digest string `json:"digest"`
	}
	if err := json.Unmarshal(out, &res); err != nil || !strings.HasPrefix(res.Digest, "sha256:") {
		t.Fatalf("oras %s: no digest in its JSON output (%v):\n%s", args[0], err, out)
	}
	return res.Digest
}

// Oras runs the oras CLI in dir against this registry — with --ca-file, and
// with the test credential (through stdin) on the auth instance — and
// returns its stdout. HOME and DOCKER_CONFIG point into dir, so neither the
// user's credentials nor a login leak in or out.
func (r *Registry) Oras(t testing.TB, dir string, args ...string) []byte {
	t.Helper()
	full := append([]string{args[0], "--ca-file", r.CAFile}, args[1:]...)
	var stdin string
	if r.Username != "" {
		full = append(full, "--username", r.Username, "--password-stdin")
		stdin = r.Password
	}
	cmd := exec.Command(r.oras, full...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+dir, "DOCKER_CONFIG="+dir)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("oras %s: %v\n%s%s", strings.Join(full, " "), err, stdout.Bytes(), stderr.Bytes())
	}
	return stdout.Bytes()
}

// Manifest GETs REPO's manifest ref (a tag or a digest) and returns it raw
// and parsed; it fails t unless the registry's Docker-Content-Digest matches
// the bytes.
func (r *Registry) Manifest(t testing.TB, repo, ref string) ([]byte, Manifest) {
	t.Helper()
	resp, body := r.Get(t, repo+"/manifests/"+ref, MediaTypeManifest+", "+MediaTypeIndex, false)
	if resp.StatusCode != 200 {
		t.Fatalf("registry %s: GET manifest %s:%s: status %d: %s", r.Host, repo, ref, resp.StatusCode, body)
	}
	sum := sha256.Sum256(body)
	if got, want := resp.Header.Get("Docker-Content-Digest"), "sha256:"+hex.EncodeToString(sum[:]); got != want {
		t.Fatalf("registry %s: manifest %s:%s: Docker-Content-Digest %s, body's digest %s", r.Host, repo, ref, got, want)
	}
	var m Manifest
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("registry %s: manifest %s:%s: %v", r.Host, repo, ref, err)
	}
	return body, m
}

// DeleteManifest deletes REPO@digest, and so every tag pointing to it, as a
// registry's retention policy does (EGI keeps the 4 newest builds per OS
// version).
func (r *Registry) DeleteManifest(t testing.TB, repo, digest string) {
	t.Helper()
	resp, body := r.do(t, http.MethodDelete, repo+"/manifests/"+digest, "", false)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("registry %s: DELETE manifest %s@%s: status %d, want 202: %s", r.Host, repo, digest, resp.StatusCode, body)
	}
}

// Tags lists REPO's tags (one page of up to 1000).
func (r *Registry) Tags(t testing.TB, repo string) []string {
	t.Helper()
	resp, body := r.Get(t, repo+"/tags/list?n=1000", "", false)
	if resp.StatusCode != 200 {
		t.Fatalf("registry %s: GET tags of %s: status %d: %s", r.Host, repo, resp.StatusCode, body)
	}
	var list struct {
		Tags []string `json:"tags"`
	}
	if err := json.Unmarshal(body, &list); err != nil {
		t.Fatalf("registry %s: tags of %s: %v", r.Host, repo, err)
	}
	return list.Tags
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

func uuid() string {
	h := randomHex(16)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
