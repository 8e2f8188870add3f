package plan

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ck-sync/ck/pkg/glance"
)

// Properties the tools ck replaces wrote on their images (spec §7): ck reads
// them to find the images it may adopt instead of downloading them again.
// They only identify an image: whether its bytes are the listed ones is
// decided by Glance's own os_hash_value (see holds).
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

// adopt plans the listed image of key k, which ck does not have, from an
// old tool's image when Glance proves one holds the listed bytes: ck's tag
// and properties are added, nothing is downloaded. An old tool's image
// whose bytes Glance does not prove is reported and left alone (not
// retired, never deleted: its properties may be anyone's), and false is
// returned so that the listed image is created next to it.
func (b *builder) adopt(k imgKey, base Change, d Desired) bool {
	var cands []*legacy
	for i := range b.legacy {
		l := &b.legacy[i]
		if l.used || l.img.Owner != k.project {
			continue
		}
		// atrope names a registry image HOST/REPO:TAG-<manifest digest>
		// (appdb_id), which the desired image carries too: that names one
		// build, in every list.
		if atropeID := d.Properties[PropAtropeImageID]; d.Digest != "" && atropeID != "" && l.listID == "" && l.imageID == atropeID {
			cands = append(cands, l)
			continue
		}
		if l.imageID != k.imageID {
			continue
		}
		// atrope records a list name, not an id: its image id must be
		// unambiguous in the project, or the wrong list might take it.
		if l.listID != k.listID && !(l.listID == "" && b.desiredIDs[imgIDKey{k.project, k.imageID}] == 1) {
			continue
		}
		cands = append(cands, l)
	}
	slices.SortFunc(cands, func(x, y *legacy) int { return newestFirst(x.img, y.img) })
	i := slices.IndexFunc(cands, func(l *legacy) bool { return holds(l.img, d) })
	prove := false
	if i < 0 && d.Digest != "" {
		// A registry layer's sha512 is not published: a download of the
		// layer proves it, if Glance has a sha512 of the same size to
		// compare it with.
		i = slices.IndexFunc(cands, func(l *legacy) bool { return glanceSHA512(l.img) != "" && l.img.Size == d.Size })
		prove = i >= 0
	}
	if i < 0 {
		for _, l := range cands {
			l.used = true
			n := noticeOf(NoticeLegacyUnproven, l.img, "made by "+string(l.reason)+" for this image, but "+legacyWhy(l.img, d)+": not adopted, left alone; the listed image is uploaded next to it")
			n.ListID, n.ImageID = k.listID, k.imageID
			b.plan.Notices = append(b.plan.Notices, n)
		}
		return false
	}
	pick := cands[i]
	pick.used = true
	c := base
	c.Action, c.Reason, c.GlanceImageID = ActionAdopt, pick.reason, pick.img.ID
	c.Patch = AdoptPatch(pick.img, d)
	if prove {
		c.Prove, c.Desired = true, &d
	}
	b.plan.Inputs.Images = append(b.plan.Inputs.Images, ImageFingerprint{ID: pick.img.ID, UpdatedAt: pick.img.UpdatedAt.UTC()})
	b.add(c)
	if !prove {
		// A proven image is shared once it is ck's: the run after the
		// proof, which may fail and leave the old image alone.
		b.share(base, pick.img, d)
	}
	return true
}

// imgIDKey counts desired images by project and image id, for atrope.
type imgIDKey struct{ project, imageID string }

// reportLeftovers reports the images atrope made for a source read this
// run (their image_list is its name) that no image ck takes from that
// source claims, in any project: what atrope itself would now delete.
// ck does not adopt, retire or delete them (their properties may be
// anyone's); the notice tells the operator to delete them by hand. An
// image whose entry could not be read is not one the source dropped: its
// atrope image, and every one of a list with an entry without an id, is
// not called a leftover.
func (b *builder) reportLeftovers() {
	if len(b.atropeSources) == 0 {
		return
	}
	claimed := map[string]bool{}
	for k, w := range b.desired {
		claimed[k.imageID] = true
		if id := w.desired.Properties[PropAtropeImageID]; id != "" {
			claimed[id] = true // a registry image: HOST/REPO:TAG-<manifest digest>
		}
	}
	unread := map[string]bool{} // HOST/REPO:TAG of a registry image, or a list's image id
	for k := range b.protectedKeys {
		unread[k.imageID] = true
	}
	unreadList := map[string]bool{}
	for lk := range b.unreadable {
		unreadList[lk.listID] = true
	}
	for i := range b.legacy {
		l := &b.legacy[i]
		name := l.img.Properties[PropAtropeList]
		listID, read := b.atropeSources[name]
		build, _, _ := strings.Cut(l.imageID, "-sha256:")
		if l.used || l.reason != ReasonAtrope || !read || claimed[l.imageID] ||
			unreadList[listID] || unread[l.imageID] || unread[build] {
			continue
		}
		l.used = true
		n := noticeOf(NoticeLegacyLeftover, l.img, fmt.Sprintf("made by atrope for source %q (image_list), "+
			"which no longer gives this image (removed or expired there, or left out by its filter): "+
			"atrope would delete it; ck leaves it alone: delete it by hand once no server uses it", name))
		n.ListID, n.ImageID = listID, l.imageID
		b.plan.Notices = append(b.plan.Notices, n)
	}
}
