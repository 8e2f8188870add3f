package registry

import (
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/ck-sync/ck/pkg/ociref"
)

// Layer media types that hold a VM disk (spec §11). EGI's pipeline pushes
// application/x-qemu-disk since July 2025 and the OCI tar layer type
// before; the others are what a site's own pipeline may reasonably use.
const (
	MediaTypeQemuDisk = "application/x-qemu-disk"
	MediaTypeOCITar   = "application/vnd.oci.image.layer.v1.tar"
)

// diskMediaTypes is the allow list of disk layer media types.
var diskMediaTypes = []string{
	MediaTypeQemuDisk,
	MediaTypeOCITar,
	"application/x-raw-disk-image",
	"application/x-qcow2",
	"application/x-vmdk",
}

// Manifest media types.
const (
	mediaTypeOCIManifest    = "application/vnd.oci.image.manifest.v1+json"
	mediaTypeDockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
	mediaTypeOCIIndex       = "application/vnd.oci.image.index.v1+json"
	mediaTypeDockerList     = "application/vnd.docker.distribution.manifest.list.v2+json"
)

// Annotations ck reads (EGI's; research/oci-registry.md).
const (
	AnnotationTag         = "eu.egi.cloud.tag"
	AnnotationDescription = "eu.egi.cloud.description"
	AnnotationImageTitle  = "eu.egi.cloud.image.title"
	AnnotationImageRef    = "eu.egi.cloud.image_ref" // added by ck (and atrope): PROJECT/REPO:TAG
	AnnotationGlance      = "org.openstack.glance."  // prefix of os_distro, os_version, architecture, …
)

// referrerTag matches the tags of the referrers tag schema
// (sha256-<hex>[.<suffix>]) that registries without the referrers API hold
// for SBOMs and signatures attached to an artifact.
var referrerTag = regexp.MustCompile(`^sha256-[a-f0-9]{64}(\..*)?$`)

// IsReferrerTag reports whether tag is a referrers-tag-schema tag, which
// names an SBOM or signature, never an image.
func IsReferrerTag(tag string) bool { return referrerTag.MatchString(tag) }

// descriptor is the part of an OCI descriptor ck reads.
type descriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// manifest is the part of an OCI image manifest (or Docker schema 2
// manifest, or an index) ck reads.
type manifest struct {
	SchemaVersion int               `json:"schemaVersion"`
	MediaType     string            `json:"mediaType"`
	ArtifactType  string            `json:"artifactType"`
	Config        *descriptor       `json:"config"`
	Layers        []descriptor      `json:"layers"`
	Manifests     []json.RawMessage `json:"manifests"`
	Subject       *descriptor       `json:"subject"`
	Annotations   map[string]string `json:"annotations"`
}

// Disk is an artifact's disk layer: what ck downloads, by digest.
type Disk struct {
	MediaType string
	Digest    string // sha256:<hex>
	Size      int64
}

// Artifact is one tagged OCI artifact that holds a VM image.
type Artifact struct {
	Repository     string // PATH/REPO
	Tag            string // the tag it was found by; "" for a digest subscription
	ManifestDigest string // sha256:<hex> of the manifest's bytes
	Disk           Disk
	// Annotations are the manifest's annotations overlaid with the disk
	// layer's (the layer's win: EGI puts its metadata there).
	Annotations map[string]string
}

// Classification is what Classify made of a manifest.
type Classification int

// The classifications.
const (
	IsImage    Classification = iota + 1 // an image: Artifact is filled in
	IsReferrer                           // an SBOM, signature or other referrer (it has a subject): not an image
	IsRejected                           // breaks a rule of spec §11: reported and skipped
)

// Classify applies spec §11's rules to one manifest: mediaType is the
// type the registry served it as (the manifest's own mediaType field wins
// when present). It is pure. For IsRejected the string says why.
func Classify(mediaType string, body []byte) (Artifact, Classification, string) {
	var m manifest
	if err := json.Unmarshal(body, &m); err != nil {
		return Artifact{}, IsRejected, fmt.Sprintf("manifest is not valid JSON: %v", err)
	}
	mt := mediaType
	if m.MediaType != "" {
		mt = m.MediaType
	}
	if i := strings.IndexByte(mt, ';'); i >= 0 {
		mt = strings.TrimSpace(mt[:i])
	}
	switch {
	case m.Subject != nil:
		return Artifact{}, IsReferrer, "it refers to another manifest (subject): an SBOM or signature"
	case mt == mediaTypeOCIIndex || mt == mediaTypeDockerList || (mt == "" && m.Manifests != nil):
		return Artifact{}, IsRejected, "it is an image index (several manifests), not one disk"
	case mt != mediaTypeOCIManifest && mt != mediaTypeDockerManifest && mt != "":
		return Artifact{}, IsRejected, fmt.Sprintf("manifest media type %q is neither an OCI image manifest nor a Docker schema 2 manifest", mt)
	case m.SchemaVersion != 2:
		return Artifact{}, IsRejected, fmt.Sprintf("manifest schemaVersion is %d, want 2", m.SchemaVersion)
	}
	var disks []descriptor
	for _, l := range m.Layers {
		if slices.Contains(diskMediaTypes, l.MediaType) {
			disks = append(disks, l)
		}
	}
	switch len(disks) {
	case 0:
		types := make([]string, 0, len(m.Layers))
		for _, l := range m.Layers {
			types = append(types, l.MediaType)
		}
		return Artifact{}, IsRejected, fmt.Sprintf("no disk layer (layer media types %q; want one of %q)", types, diskMediaTypes)
	case 1:
	default:
		return Artifact{}, IsRejected, fmt.Sprintf("%d disk layers; want exactly one", len(disks))
	}
	d := disks[0]
	if !ociref.DigestPattern.MatchString(d.Digest) {
		return Artifact{}, IsRejected, fmt.Sprintf("disk layer digest %q is not sha256:<64 lower-case hex>", d.Digest)
	}
	if d.Size <= 0 {
		return Artifact{}, IsRejected, fmt.Sprintf("disk layer size is %d, want more than 0", d.Size)
	}
	ann := maps.Clone(m.Annotations)
	if ann == nil {
		ann = map[string]string{}
	}
	maps.Copy(ann, d.Annotations)
	if strings.TrimSpace(ann[AnnotationTag]) == "" {
		return Artifact{}, IsRejected, "annotation " + AnnotationTag + " is missing (on the disk layer and on the manifest); EGI's pipeline sets it on every image it publishes"
	}
	return Artifact{Disk: Disk{MediaType: d.MediaType, Digest: d.Digest, Size: d.Size}, Annotations: ann}, IsImage, ""
}
