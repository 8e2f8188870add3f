package plan

import (
	"strconv"
	"strings"
	"time"

	"github.com/ck-sync/ck/pkg/imagelist"
)

// The properties ck writes (spec §5). Only these, plus name, min_ram and
// visibility, are compared; every other property belongs to someone else.
const (
	PropListID  = "ck_list_id"
	PropImageID = "ck_image_id"
	PropSHA512  = "ck_sha512"
	PropSize    = "ck_size"
	PropVersion = "ck_version"
	PropListURL = "ck_list_url"
	PropExpires = "ck_expires"
	PropRetired = "ck_retired"
	// PropDigest is a registry image's content: its disk layer's digest
	// ("sha256:<hex>", spec §11). Its ck_sha512 is not known before the
	// download: pkg/apply records the sha512 it computed on the way.
	PropDigest = "ck_digest"
	// PropUnverified marks an image ck is still uploading: set in the
	// create call, removed (and the image shown) once Glance's copy is
	// verified. An image that keeps it was left by a killed run: never
	// current, and prune deletes it as abandoned.
	PropUnverified   = "ck_unverified"
	PropMPURI        = "vmcatcher_event_ad_mpuri"
	PropTitle        = "vmcatcher_event_dc_title"
	PropDescription  = "vmcatcher_event_dc_description"
	PropHVVersion    = "vmcatcher_event_hv_version"
	PropAttributes   = "APPLIANCE_ATTRIBUTES"
	PropOSDistro     = "os_distro"
	PropOSVersion    = "os_version"
	PropArchitecture = "architecture"
	PropImageType    = "image_type" // Glance's; "snapshot" marks Nova snapshots
	PropHidden       = "os_hidden"  // Glance's core field, patched like a property
)

// managedProps is every property DesiredImage may write, in patch order.
// ck_retired is not here: it is set only by retire and removed only by
// republish.
var managedProps = []string{
	PropListID, PropImageID, PropSHA512, PropDigest, PropSize, PropVersion, PropListURL,
	PropExpires, PropMPURI, PropTitle, PropDescription, PropHVVersion,
	PropAttributes, PropOSDistro, PropOSVersion, PropArchitecture,
}

// Desired is the Glance image ck wants for one listed image.
type Desired struct {
	Name       string            `json:"name"`
	MinRAM     int               `json:"min_ram"`  // MiB
	MinDisk    int               `json:"min_disk"` // GiB; 0: lists do not say, the uploader may set it
	Visibility string            `json:"visibility"`
	Properties map[string]string `json:"properties"`
	Tags       []string          `json:"tags"`
	URI        string            `json:"uri"`              // hv:uri, where to download from
	Format     string            `json:"format,omitempty"` // hv:format lower-cased, a hint only (spec §8)
	Size       int64             `json:"size"`
	SHA512     string            `json:"sha512"` // "" for a registry image: see Digest
	// Digest is a registry image's content, its layer digest
	// ("sha256:<hex>"); "" for HEPiX images, whose content is SHA512.
	Digest string `json:"digest,omitempty"`
	// Members are the projects to share the image with once it is active
	// (--share-mode members), sorted; they make the visibility "shared".
	Members []string `json:"members,omitempty"`
}

// DesiredImage computes the desired Glance image for img of list, fetched
// from source (credentials already removed). It is pure: the same inputs
// always give the same value, so re-planning after applying is a no-op.
func DesiredImage(list *imagelist.List, img imagelist.Image, source string, p Policy) Desired {
	p = p.withDefaults()
	expires := img.Expires
	if expires.IsZero() {
		expires = list.Expires
	}
	props := map[string]string{}
	set := func(k, v string) {
		if v != "" { // an empty value is omitted rather than written as ""
			props[k] = v
		}
	}
	set(PropListID, list.ID)
	set(PropImageID, img.ID)
	set(PropSHA512, strings.ToLower(img.SHA512))
	set(PropSize, strconv.FormatInt(img.Size, 10))
	set(PropVersion, img.Version)
	set(PropListURL, source)
	if !expires.IsZero() {
		set(PropExpires, expires.UTC().Format(time.RFC3339))
	}
	set(PropMPURI, img.MPURI)
	set(PropTitle, img.Title)
	set(PropDescription, img.Description)
	set(PropHVVersion, img.Version)
	set(PropAttributes, applianceAttributes(img.Raw, list.VO))
	distro := img.OSName
	if distro == "" {
		distro = img.OS
	}
	set(PropOSDistro, NormalizeDistro(distro))
	set(PropOSVersion, strings.TrimSpace(img.OSVersion))
	set(PropArchitecture, NormalizeArch(img.Arch))
	set(PropDigest, img.Digest)
	// What the source adds for downstream readers (a registry image's
	// appdb_id, image_hash, os_type, ...): never one of ck's own
	// properties, which only the lines above set.
	for k, v := range img.Properties {
		if !strings.HasPrefix(k, "ck_") {
			set(k, v)
		}
	}

	name := img.Title
	if name == "" {
		name = img.ID // Glance allows nameless images, people cannot use them
	}
	return Desired{
		Name:       p.NamePrefix + name,
		MinRAM:     MinRAMMiB(img.RAMMinimum),
		Visibility: p.Visibility,
		Properties: props,
		Tags:       []string{p.Tag},
		URI:        img.URI,
		Format:     strings.ToLower(strings.TrimSpace(img.Format)),
		Size:       img.Size,
		SHA512:     strings.ToLower(img.SHA512),
		Digest:     img.Digest,
	}
}
