package registry

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"strings"

	"github.com/ck-sync/ck/pkg/imagelist"
	"github.com/ck-sync/ck/pkg/ociref"
)

// Glance properties a registry image carries besides ck's own (spec §11):
// what atrope writes for registry images, which cloud-info-provider,
// cloud-info-api and IM read.
const (
	PropAppDBID     = "appdb_id"      // HOST/PROJECT/REPO:TAG-<manifest digest>
	PropImageHash   = "image_hash"    // the disk layer's digest
	PropOSType      = "os_type"       // org.openstack.glance.os_type
	PropOSAdminUser = "os_admin_user" // org.openstack.glance.os_admin_user
	PropHVVersion   = "vmcatcher_event_hv_version"
)

// ID is the image id of an artifact of a source on host: HOST/REPO:TAG,
// stable while a moving tag gets new builds; HOST/REPO@DIGEST for a digest
// subscription.
func ID(host string, a Artifact) string {
	if a.Tag == "" {
		return host + "/" + a.Repository + "@" + a.ManifestDigest
	}
	return host + "/" + a.Repository + ":" + a.Tag
}

// List turns the listing into the value a verified HEPiX list is, so that
// planning and applying treat both alike: the list id is the canonical
// subscription, each image's id is ID, its content the layer's digest and
// size, its version the manifest digest. Skipped artifacts become skipped
// entries with their ids, so that their images are kept, not retired.
func (l *Listing) List() *imagelist.List {
	host := l.Ref.Host
	out := &imagelist.List{ID: l.Ref.String(), Title: l.Ref.String(), URI: l.Ref.String()}
	for _, a := range l.Artifacts {
		out.Images = append(out.Images, image(host, a))
	}
	for i, s := range l.Skipped {
		id := host + "/" + s.Repository + ":" + s.Tag
		if s.Tag == "" {
			id = host + "/" + s.Repository + "@" + s.ManifestDigest
		}
		out.Skipped = append(out.Skipped, imagelist.ImageError{Index: len(l.Artifacts) + i, ID: id, Field: "manifest " + s.ManifestDigest, Reason: s.Reason})
	}
	return out
}

// image maps one artifact onto the fields DesiredImage reads.
func image(host string, a Artifact) imagelist.Image {
	ann := a.Annotations
	glance := func(k string) string { return strings.TrimSpace(ann[AnnotationGlance+k]) }
	ref := a.Repository + ":" + a.Tag
	if a.Tag == "" {
		ref = a.Repository + "@" + a.ManifestDigest
	}
	attrs := maps.Clone(ann)
	attrs[AnnotationImageRef] = ref
	raw, _ := json.Marshal(attrs) // a map of strings always encodes

	mpuri := host + "/" + ref + "-" + a.ManifestDigest
	props := map[string]string{
		PropAppDBID:   mpuri,
		PropImageHash: a.Disk.Digest,
		PropHVVersion: strings.TrimSpace(ann[AnnotationTag]),
	}
	if v := glance("os_type"); v != "" {
		props[PropOSType] = v
	}
	if v := glance("os_admin_user"); v != "" {
		props[PropOSAdminUser] = v
	}
	desc := strings.TrimSpace(ann[AnnotationDescription])
	if desc == "" {
		desc = strings.TrimSpace(ann[AnnotationImageTitle])
	}
	return imagelist.Image{
		ID:          ID(host, a),
		Title:       ref,
		Description: desc,
		URI:         ociref.Blob{Host: host, Repository: a.Repository, Digest: a.Disk.Digest}.String(), // the plan records it: what was planned is what is uploaded
		Size:        a.Disk.Size,
		Digest:      a.Disk.Digest,
		Version:     a.ManifestDigest,
		Format:      glance("disk_format"),
		Arch:        glance("architecture"),
		OSName:      glance("os_distro"),
		OSVersion:   glance("os_version"),
		MPURI:       mpuri,
		Raw:         raw,
		Properties:  props,
	}
}

// Digest fingerprints the listing (sha256, hex) for a saved plan's
// staleness check: it changes when any selected tag moves or an artifact
// is skipped or recovers.
func (l *Listing) Digest() string {
	h := sha256.New()
	for _, a := range l.Artifacts {
		fmt.Fprintf(h, "image %s %s %s\n", a.Repository, a.Tag, a.ManifestDigest)
	}
	for _, s := range l.Skipped {
		fmt.Fprintf(h, "skip %s %s %s\n", s.Repository, s.Tag, s.ManifestDigest)
	}
	return hex.EncodeToString(h.Sum(nil))
}
