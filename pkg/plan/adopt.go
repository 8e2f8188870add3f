package plan

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ck-sync/ck/pkg/glance"
)

// Properties the tools ck replaces wrote on their images (spec §7): ck reads
// them to find the images it may adopt instead of downloading them again.
// They only identify an image: whether its bytes are the listed ones is
// decided by Glance's own os_hash_value (see adoptable).
const (
	// cloudkeeper-os (1.x; see research/cloudkeeper.md §3).
	PropCKOSListID  = "APPLIANCE_IMAGE_LIST_ID" // list dc:identifier
	PropCKOSImageID = "APPLIANCE_ID"            // image dc:identifier
	PropCKOSStatus  = "APPLIANCE_STATUS"        // ACTIVE, or EOL once it replaced or removed the image
	// atrope (EGI-Federation/atrope's Glance dispatcher).
	PropAtropeImageID = "appdb_id"   // image dc:identifier
	PropAtropeList    = "image_list" // the list's name in atrope's sources.yaml, not its id
	PropAtropeHash    = "image_hash" // "sha512:<hex>": only identifies atrope's images, never trusted as a checksum
)

// legacy is an image an old tool made, with the identity it recorded.
type legacy struct {
	img     glance.Image
	reason  Reason // ReasonCloudkeeperOS or ReasonAtrope
	listID  string // "" for atrope, which records only a list name
	imageID string
	used    bool
}

// IsLegacy reports whether img looks like an image cloudkeeper-os or atrope
// made that ck could adopt: it carries that tool's identity properties and
// not ck's. Whether it is adopted also depends on its owner, its status,
// and its bytes.
func IsLegacy(img glance.Image) bool {
	_, ok := legacyOf(img)
	return ok
}

func legacyOf(img glance.Image) (legacy, bool) {
	p := img.Properties
	if p[PropListID] != "" || p[PropImageID] != "" || p[PropImageType] == "snapshot" {
		return legacy{}, false
	}
	switch {
	case p[PropCKOSListID] != "" && p[PropCKOSImageID] != "":
		// EOL images are cloudkeeper-os's leftovers, waiting for deletion.
		if strings.EqualFold(p[PropCKOSStatus], "EOL") {
			return legacy{}, false
		}
		return legacy{img: img, reason: ReasonCloudkeeperOS, listID: p[PropCKOSListID], imageID: p[PropCKOSImageID]}, true
	case p[PropAtropeImageID] != "" && p[PropAtropeHash] != "" && p[PropAtropeList] != "":
		return legacy{img: img, reason: ReasonAtrope, imageID: p[PropAtropeImageID]}, true
	}
	return legacy{}, false
}

// glanceSHA512 returns the sha512 Glance computed of img's bytes when it
// did (os_hash_algo sha512), else "". Only Glance's own hash says which bytes
// are really there: the checksums the old tools recorded (atrope's
// image_hash, cloudkeeper-os's sl:checksum:sha512 and APPLIANCE_ATTRIBUTES)
// are ordinary properties any member of the project can write on an image
// of their own, so ck never trusts them.
func glanceSHA512(img glance.Image) string {
	if strings.EqualFold(img.HashAlgo, "sha512") && img.HashValue != "" {
		return strings.ToLower(img.HashValue)
	}
	return ""
}

// adoptable reports whether the legacy image holds exactly the listed
// bytes: Glance computed a sha512 equal to the list's, and the size is
// the list's.
func adoptable(img glance.Image, d Desired) bool {
	sum := glanceSHA512(img)
	return sum != "" && sum == d.SHA512 && img.Size == d.Size
}

// tagsWith returns tags plus tag, sorted, without duplicates.
func tagsWith(tags []string, tag string) []string {
	out := append(slices.Clone(tags), tag)
	slices.Sort(out)
	return slices.Compact(out)
}

// AdoptPatch returns the patch that makes an old tool's image ck's current
// image for d: ck's tag added (the old tool's tags stay), the image shown,
// and every field ck manages set as for an image ck uploaded. The old
// tool's own properties are left: other services (cloud-info-provider,
// accounting) may still read them.
func AdoptPatch(img glance.Image, d Desired) []PatchOp {
	ops := []PatchOp{{Op: OpReplace, Path: "/tags", Value: tagsWith(img.Tags, d.Tags[0]), Old: slices.Clone(img.Tags)}}
	if img.Hidden {
		ops = append(ops, PatchOp{Op: OpReplace, Path: "/" + PropHidden, Value: false, Old: true})
	}
	return append(ops, MetadataPatch(img, d)...)
}

// LegacyRetirePatch returns the patch that makes an old tool's image whose
// bytes differ from the list's ck's, and retires it at now: ck's tag and
// identity, the checksum (only when Glance computed a sha512) and size of
// what it really holds (so it is never taken for the listed image),
// ck_retired, hidden. ck prune deletes it after
// the grace period like any image ck retired.
func LegacyRetirePatch(img glance.Image, d Desired, now time.Time) []PatchOp {
	ops := []PatchOp{{Op: OpReplace, Path: "/tags", Value: tagsWith(img.Tags, d.Tags[0]), Old: slices.Clone(img.Tags)}}
	set := func(k, v string) {
		if v == "" {
			return
		}
		if old, ok := img.Properties[k]; ok {
			ops = append(ops, PatchOp{Op: OpReplace, Path: "/" + k, Value: v, Old: old})
			return
		}
		ops = append(ops, PatchOp{Op: OpAdd, Path: "/" + k, Value: v})
	}
	set(PropListID, d.Properties[PropListID])
	set(PropImageID, d.Properties[PropImageID])
	set(PropListURL, d.Properties[PropListURL])
	set(PropSHA512, glanceSHA512(img))
	if img.Size > 0 {
		set(PropSize, strconv.FormatInt(img.Size, 10))
	}
	return append(ops, RetirePatch(img, now)...)
}

// adoptOrReplace plans the listed image of key k, which ck does not have,
// from an old tool's image when one is there: adopt when its bytes are the
// listed ones, otherwise upload the listed image and then retire the old
// one as ck's (replace). false when no old tool's image fits.
func (b *builder) adoptOrReplace(k imgKey, base Change, d Desired) bool {
	var cands []*legacy
	for i := range b.legacy {
		l := &b.legacy[i]
		if l.used || l.img.Owner != k.project || l.imageID != k.imageID {
			continue
		}
		// atrope records a list name, not an id: its image id must be
		// unambiguous in the project, or the wrong list might take it.
		if l.listID != k.listID && !(l.listID == "" && b.desiredIDs[imgIDKey{k.project, k.imageID}] == 1) {
			continue
		}
		cands = append(cands, l)
	}
	if len(cands) == 0 {
		return false
	}
	slices.SortFunc(cands, func(x, y *legacy) int { return newestFirst(x.img, y.img) })
	c := base
	c.GlanceImageID = cands[0].img.ID
	pick := cands[0]
	if i := slices.IndexFunc(cands, func(l *legacy) bool { return adoptable(l.img, d) }); i >= 0 {
		pick = cands[i]
		c.Action, c.Reason, c.GlanceImageID = ActionAdopt, pick.reason, pick.img.ID
		c.Patch = AdoptPatch(pick.img, d)
	} else {
		c.Action, c.Reason, c.Desired = ActionReplace, ReasonLegacyDiffers, &d
		c.Patch = LegacyRetirePatch(pick.img, d, b.now)
	}
	pick.used = true
	b.plan.Inputs.Images = append(b.plan.Inputs.Images, ImageFingerprint{ID: pick.img.ID, UpdatedAt: pick.img.UpdatedAt.UTC()})
	b.add(c)
	if c.Action == ActionAdopt {
		b.share(base, pick.img, d)
	}
	return true
}

// imgIDKey counts desired images by project and image id, for atrope.
type imgIDKey struct{ project, imageID string }
