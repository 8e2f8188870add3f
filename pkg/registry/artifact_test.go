package registry

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ck-sync/ck/pkg/ociref"
)

const (
	layerDigest = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	sbomDigest  = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
)

// egiManifest is the manifest oras 1.x writes for EGI's pipeline
// (research/oci-registry.md), with overrides.
func egiManifest(mutate func(m map[string]any)) []byte {
	m := map[string]any{
		"schemaVersion": 2,
		"mediaType":     mediaTypeOCIManifest,
		"artifactType":  "application/vnd.unknown.artifact.v1",
		"config":        map[string]any{"mediaType": "application/vnd.oci.empty.v1+json", "digest": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", "size": 2},
		"layers": []any{map[string]any{
			"mediaType": MediaTypeQemuDisk, "digest": layerDigest, "size": 3473408,
			"annotations": map[string]any{
				"org.opencontainers.image.title":        "ubuntu-24.04.qcow2",
				AnnotationTag:                           "24.04-2025-10-07-fc45d0d3",
				AnnotationDescription:                   "Ubuntu 24.04 (EGI)",
				"org.openstack.glance.os_distro":        "ubuntu",
				"org.openstack.glance.os_version":       "24.04",
				"org.openstack.glance.architecture":     "x86_64",
				"org.openstack.glance.disk_format":      "qcow2",
				"org.openstack.glance.os_admin_user":    "ubuntu",
				"org.openstack.glance.os_type":          "linux",
				"org.openstack.glance.container_format": "bare",
			},
		}},
		"annotations": map[string]any{"org.opencontainers.image.revision": "fc45d0d3", "org.opencontainers.image.created": "2025-10-07T10:00:00Z"},
	}
	if mutate != nil {
		mutate(m)
	}
	b, _ := json.Marshal(m)
	return b
}

func layer0(m map[string]any) map[string]any { return m["layers"].([]any)[0].(map[string]any) }

func TestClassify(t *testing.T) {
	tests := []struct {
		name   string
		served string // the Content-Type the registry served
		body   []byte
		class  Classification
		why    string // for IsRejected: part of the reason
	}{
		{"egi since july 2025", mediaTypeOCIManifest, egiManifest(nil), IsImage, ""},
		{"egi before july 2025: oci tar layer", mediaTypeOCIManifest, egiManifest(func(m map[string]any) {
			layer0(m)["mediaType"] = MediaTypeOCITar
		}), IsImage, ""},
		{"docker schema 2", mediaTypeDockerManifest, egiManifest(func(m map[string]any) {
			m["mediaType"] = mediaTypeDockerManifest
		}), IsImage, ""},
		{"media type only from the response", mediaTypeOCIManifest, egiManifest(func(m map[string]any) { delete(m, "mediaType") }), IsImage, ""},
		{"tag on the manifest only", mediaTypeOCIManifest, egiManifest(func(m map[string]any) {
			delete(layer0(m)["annotations"].(map[string]any), AnnotationTag)
			m["annotations"].(map[string]any)[AnnotationTag] = "x"
		}), IsImage, ""},
		{"sbom layer next to the disk is ignored", mediaTypeOCIManifest, egiManifest(func(m map[string]any) {
			m["layers"] = append(m["layers"].([]any), map[string]any{"mediaType": "application/vnd.cyclonedx+json", "digest": sbomDigest, "size": 10})
		}), IsImage, ""},
		{"no eu.egi.cloud.tag", mediaTypeOCIManifest, egiManifest(func(m map[string]any) {
			delete(layer0(m)["annotations"].(map[string]any), AnnotationTag)
		}), IsRejected, "eu.egi.cloud.tag is missing"},
		{"two disk layers", mediaTypeOCIManifest, egiManifest(func(m map[string]any) {
			m["layers"] = append(m["layers"].([]any), map[string]any{"mediaType": MediaTypeQemuDisk, "digest": sbomDigest, "size": 10})
		}), IsRejected, "2 disk layers"},
		{"no disk layer", mediaTypeOCIManifest, egiManifest(func(m map[string]any) {
			layer0(m)["mediaType"] = "application/vnd.oci.image.layer.v1.tar+gzip"
		}), IsRejected, "no disk layer"},
		{"image index", mediaTypeOCIIndex, []byte(`{"schemaVersion":2,"mediaType":"` + mediaTypeOCIIndex + `","manifests":[]}`), IsRejected, "image index"},
		{"docker manifest list", mediaTypeDockerList, []byte(`{"schemaVersion":2,"manifests":[]}`), IsRejected, "image index"},
		{"sbom referrer", mediaTypeOCIManifest, egiManifest(func(m map[string]any) {
			m["subject"] = map[string]any{"mediaType": mediaTypeOCIManifest, "digest": layerDigest, "size": 1}
		}), IsReferrer, ""},
		{"schema 1", "application/vnd.docker.distribution.manifest.v1+json", []byte(`{"schemaVersion":1}`), IsRejected, "neither an OCI image manifest"},
		{"bad digest", mediaTypeOCIManifest, egiManifest(func(m map[string]any) { layer0(m)["digest"] = "sha512:abc" }), IsRejected, "not sha256"},
		{"zero size", mediaTypeOCIManifest, egiManifest(func(m map[string]any) { layer0(m)["size"] = 0 }), IsRejected, "size is 0"},
		{"not json", mediaTypeOCIManifest, []byte("<html>"), IsRejected, "not valid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, class, why := Classify(tt.served, tt.body)
			if class != tt.class {
				t.Fatalf("class = %d (%s), want %d", class, why, tt.class)
			}
			if tt.class == IsRejected && !strings.Contains(why, tt.why) {
				t.Errorf("reason %q does not say %q", why, tt.why)
			}
			if tt.class == IsImage {
				if a.Disk.Digest != layerDigest || a.Disk.Size <= 0 {
					t.Errorf("disk = %+v", a.Disk)
				}
				if a.Annotations[AnnotationTag] == "" {
					t.Errorf("annotations lack the tag: %v", a.Annotations)
				}
			}
		})
	}
}

func TestClassifyLayerAnnotationsWin(t *testing.T) {
	body := egiManifest(func(m map[string]any) {
		m["annotations"].(map[string]any)[AnnotationDescription] = "from the manifest"
	})
	a, class, _ := Classify(mediaTypeOCIManifest, body)
	if class != IsImage {
		t.Fatal("not an image")
	}
	if got := a.Annotations[AnnotationDescription]; got != "Ubuntu 24.04 (EGI)" {
		t.Errorf("description = %q, want the layer's", got)
	}
	if got := a.Annotations["org.opencontainers.image.revision"]; got != "fc45d0d3" {
		t.Errorf("manifest annotation lost: %q", got)
	}
}

func TestIsReferrerTag(t *testing.T) {
	for tag, want := range map[string]bool{
		"sha256-" + strings.Repeat("a", 64):          true,
		"sha256-" + strings.Repeat("a", 64) + ".sig": true,
		"24.04":                     false,
		"sha256-abc":                false,
		"24.04-2025-10-07-fc45d0d3": false,
	} {
		if got := IsReferrerTag(tag); got != want {
			t.Errorf("IsReferrerTag(%q) = %v, want %v", tag, got, want)
		}
	}
}

func FuzzClassify(f *testing.F) {
	f.Add(mediaTypeOCIManifest, egiManifest(nil))
	f.Add(mediaTypeOCIIndex, []byte(`{"schemaVersion":2,"manifests":[]}`))
	f.Add("", []byte(`{"layers":[{"mediaType":"application/x-qemu-disk"}]}`))
	f.Fuzz(func(t *testing.T, mediaType string, body []byte) {
		a, class, why := Classify(mediaType, body)
		switch class {
		case IsImage:
			if !ociref.DigestPattern.MatchString(a.Disk.Digest) || a.Disk.Size <= 0 || a.Annotations[AnnotationTag] == "" {
				t.Fatalf("image breaks the rules: %+v", a)
			}
		case IsRejected:
			if why == "" {
				t.Fatal("rejected without a reason")
			}
		case IsReferrer:
		default:
			t.Fatalf("class %d", class)
		}
	})
}
