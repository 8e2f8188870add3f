package plan

import (
	"slices"

	"github.com/ck-sync/ck/pkg/glance"
)

// IsCK reports whether img carries ck's marks under spec §5: the tag and
// the ck_list_id and ck_image_id properties, its owner is in managed, and
// it is not a server snapshot (Nova copies an image's properties and tags
// onto snapshots of servers booted from it, which ck must never touch).
// Marks are not proof: any member of the project can write them on an
// image of their own, so what such an image holds is decided by Glance's
// hash (see content.go) before ck uses, changes or deletes it.
func IsCK(img glance.Image, tag string, managed map[string]bool) bool {
	return slices.Contains(img.Tags, tag) &&
		img.Properties[PropListID] != "" &&
		img.Properties[PropImageID] != "" &&
		managed[img.Owner] &&
		img.Properties[PropImageType] != "snapshot"
}

// usable reports whether a ck image can serve as the current image of its
// key. Images that never finished uploading (queued, saving, killed, ...)
// or whose upload ck never verified are not: ck plans a fresh upload rather
// than pretend they are there, and leaves them alone. An image an operator
// deactivated is not usable either, but freezes its key (see observe).
func usable(img glance.Image) bool {
	return img.Status == "active" && img.Properties[PropUnverified] == ""
}

// imgKey is the identity of a ck image: the same image id in two lists,
// or the same list in two projects, are different images.
type imgKey struct{ project, listID, imageID string }

func keyOf(img glance.Image) imgKey {
	return imgKey{img.Owner, img.Properties[PropListID], img.Properties[PropImageID]}
}

// listKey identifies one list in one project.
type listKey struct{ project, listID string }
