package plan

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/ck-sync/ck/pkg/glance"
)

// decide compares every key that is desired or observed and plans its
// changes.
func (b *builder) decide(groups map[imgKey][]glance.Image) {
	keys := make([]imgKey, 0, len(groups)+len(b.desired))
	for k := range groups {
		keys = append(keys, k)
	}
	for k := range b.desired {
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
	}
	for _, k := range keys {
		if b.frozen[k] {
			// An operator deactivated this image (reported by observe).
			continue
		}
		var current, old []glance.Image
		for _, img := range groups[k] {
			if retired(img) {
				old = append(old, img)
			} else {
				current = append(current, img)
			}
		}
		current, prove := b.candidates(current)
		// A retired image is only republished when its bytes are proven.
		old = slices.DeleteFunc(old, func(img glance.Image) bool { return b.trust(img) != trustProven })
		slices.SortFunc(old, newestFirst)
		b.currentCK += len(current)
		switch w := b.desired[k]; {
		case prove && w != nil:
			b.decideProvable(k, w, current, old)
		case w != nil:
			b.decideDesired(k, w, current, old)
		default:
			b.decideUndesired(k, current, old)
		}
	}
}

// candidates returns the images of one key ck may act on, the one to keep
// first (newest first): those whose bytes are proven (by Glance, or by
// ck's seal). Only when there is none are the provable ones returned, with
// prove set: the one kept is then proven by a download before ck relies on
// it. Next to a proven image the provable ones are reported and left
// alone, so that a proven image is never retired for one that is not.
func (b *builder) candidates(imgs []glance.Image) (keep []glance.Image, prove bool) {
	var sure, maybe []glance.Image
	for _, img := range imgs {
		if b.trust(img) == trustProven {
			sure = append(sure, img)
		} else {
			maybe = append(maybe, img)
		}
	}
	if len(sure) == 0 {
		// Oldest first: an upload posing as ck's comes after ck's own.
		slices.SortFunc(maybe, func(x, y glance.Image) int { return newestFirst(y, x) })
		return maybe, len(maybe) > 0
	}
	slices.SortFunc(sure, newestFirst)
	for _, img := range maybe {
		b.notice(NoticeUnproven, img, fmt.Sprintf("only a download could prove its bytes (%s), and image %s, whose bytes are proven, has the same identity: left alone",
			provableWhy(img), sure[0].ID))
	}
	return sure, false
}

// provableWhy says why an image's bytes need a download to be proven.
func provableWhy(img glance.Image) string {
	if transformed(img) {
		return "stored as " + img.DiskFormat + " from " + img.Properties[PropSourceFormat] + ", without a seal that holds"
	}
	return "a registry layer on a Glance that hashes with " + img.HashAlgo + ", without a seal that holds"
}

// decideDesired plans a listed image: create, replace, update, republish
// or nothing, and retires duplicates of the image it keeps.
func (b *builder) decideDesired(k imgKey, w *wanted, current, old []glance.Image) {
	d := w.desired
	base := Change{
		Project: k.project, ListID: k.listID, ImageID: k.imageID,
		Title: d.Properties[PropTitle], Source: w.source, Size: d.Size, SHA512: d.SHA512, Digest: d.Digest,
	}
	if base.Title == "" {
		base.Title = d.Name
	}
	if len(current) == 0 {
		if i := slices.IndexFunc(old, func(img glance.Image) bool { return sameBytes(img, d) }); i >= 0 {
			c := base
			c.Action, c.Reason, c.GlanceImageID = ActionUpdateMetadata, ReasonRepublished, old[i].ID
			c.Patch = RepublishPatch(old[i], d)
			b.add(c)
			b.share(base, old[i], d)
			b.plan.Stats.Retired += len(old) - 1
			return
		}
		b.plan.Stats.Retired += len(old)
		if b.policy.Adopt && b.adopt(k, base, d) {
			return
		}
		c := base
		c.Action, c.Reason, c.Desired = ActionCreate, ReasonNew, &d
		b.add(c)
		return
	}
	b.plan.Stats.Retired += len(old)
	keep := current[0]
	for _, dup := range current[1:] {
		b.retire(k, dup, ReasonDuplicate)
	}
	c := base
	c.GlanceImageID = keep.ID
	switch {
	case !sameBytes(keep, d):
		c.Action, c.Reason, c.Desired = ActionReplace, ReasonContentChanged, &d
		c.Patch = RetirePatch(keep, b.now)
	default:
		c.Patch = MetadataPatch(keep, d)
		if len(c.Patch) == 0 {
			if b.share(base, keep, d) == 0 {
				b.plan.Stats.Unchanged++
			}
			return
		}
		c.Action, c.Reason = ActionUpdateMetadata, ReasonMetadataChanged
		b.add(c)
		b.share(base, keep, d)
		return
	}
	b.add(c)
}

// decideUndesired retires the current images of a key no list wants,
// unless the safety rules say it must be left alone.
func (b *builder) decideUndesired(k imgKey, current, old []glance.Image) {
	b.plan.Stats.Retired += len(old)
	if len(current) == 0 {
		return
	}
	if b.dropMembers[listKey{k.project, k.listID}] {
		// The list's VO left the mapping (--share-mode members): the
		// images stay as they are, without their members.
		b.plan.Stats.Kept += len(current)
		for _, img := range current {
			b.unshareAll(k, img)
		}
		return
	}
	reason, ok := b.retireReason(k, current)
	if !ok {
		return
	}
	for _, img := range current {
		b.retire(k, img, reason)
	}
}

// retireReason says why the images of an undesired key retire, or false
// when they must be kept (their list failed, an entry of it could not be
// read, its image filter leaves them out, or it is not in this run).
func (b *builder) retireReason(k imgKey, current []glance.Image) (Reason, bool) {
	lk := listKey{k.project, k.listID}
	protected := b.protectedIDs[k.listID] || slices.ContainsFunc(current, func(img glance.Image) bool {
		return b.protectedURLs[img.Properties[PropListURL]]
	})
	switch {
	case protected, b.protectedKeys[k]:
		// Never confuse "could not read" with "removed" (spec §7): the
		// list, or this image's entry in it, could not be read.
		b.plan.Stats.Kept += len(current)
		return "", false
	case b.filteredOut(k):
		// The subscription does not want this image: not the list's to
		// retire, whatever the list says of it (removed, expired), nor
		// another project's image of the list's to retire as moved.
		b.plan.Stats.Kept += len(current)
		b.plan.Stats.Filtered += len(current)
		return "", false
	case b.imageExpired[k]:
		return ReasonImageExpired, true
	case b.listExpired[lk]:
		return ReasonListExpired, true
	case b.listValid[lk] && b.unreadable[lk]:
		// An entry without a readable id may be this image's.
		b.plan.Stats.Kept += len(current)
		return "", false
	case b.listValid[lk]:
		return ReasonRemovedFromList, true
	case b.idValid[k.listID]:
		return ReasonProjectChanged, true
	case b.idExpired[k.listID]:
		return ReasonListExpired, true
	case b.policy.FullSet && !b.unknownFailed:
		return ReasonUnsubscribed, true
	}
	b.plan.Stats.OutOfScope += len(current)
	return "", false
}

// filteredOut reports whether the image filter of k's list, read this run,
// leaves k's image out.
func (b *builder) filteredOut(k imgKey) bool {
	f, ok := b.filters[k.listID]
	return ok && !f.Match(k.imageID)
}

func (b *builder) retire(k imgKey, img glance.Image, reason Reason) {
	b.add(Change{
		Action: ActionRetire, Reason: reason,
		Project: k.project, ListID: k.listID, ImageID: k.imageID,
		Title:         cmp.Or(img.Properties[PropTitle], img.Name),
		Source:        img.Properties[PropListURL],
		GlanceImageID: img.ID,
		Patch:         RetirePatch(img, b.now),
		Size:          img.Size,
		SHA512:        img.Properties[PropSHA512],
	})
}

func (b *builder) add(c Change) { b.plan.Changes = append(b.plan.Changes, c) }

// finish orders the plan, counts it and applies the retire guard.
func (b *builder) finish() (*Plan, error) {
	p := b.plan
	sortChanges(p.Changes)
	p.Stats.count(p.Changes)
	sortInputs(&p.Inputs)
	sortNotices(p.Notices)
	// An unshare takes an image away from a VO's users as a retirement
	// does, so both count against one limit.
	if limit := b.policy.retireLimit(b.currentCK); limit >= 0 && p.Stats.Retire+p.Stats.Unshare > limit {
		p.Blocked = &GuardError{Action: ActionRetire, Count: p.Stats.Retire, Limit: limit, Unshare: p.Stats.Unshare}
		return p, p.Blocked
	}
	return p, nil
}

// count adds each change to the counter of its action.
func (st *Stats) count(changes []Change) {
	for _, c := range changes {
		switch c.Action {
		case ActionCreate:
			st.Create++
		case ActionReplace:
			st.Replace++
		case ActionUpdateMetadata:
			st.Update++
		case ActionRetire:
			st.Retire++
		case ActionAdopt:
			st.Adopt++
		case ActionDelete:
			st.Delete++
		case ActionShare:
			st.Share++
		case ActionUnshare:
			st.Unshare++
		}
	}
}

// sortChanges puts changes in the plan's stable order: by project, list,
// image, then action, so equal inputs give equal plans.
func sortChanges(changes []Change) {
	slices.SortFunc(changes, func(x, y Change) int {
		return cmp.Or(
			cmp.Compare(x.Project, y.Project), cmp.Compare(x.ListID, y.ListID),
			cmp.Compare(x.ImageID, y.ImageID), cmp.Compare(x.Action.rank(), y.Action.rank()),
			cmp.Compare(x.GlanceImageID, y.GlanceImageID))
	})
}

// sortNotices puts notices in a stable order, as sortChanges does changes.
func sortNotices(ns []Notice) {
	slices.SortFunc(ns, func(x, y Notice) int {
		return cmp.Or(
			cmp.Compare(x.Project, y.Project), cmp.Compare(x.ListID, y.ListID),
			cmp.Compare(x.ImageID, y.ImageID), cmp.Compare(x.GlanceImageID, y.GlanceImageID),
			cmp.Compare(x.Kind, y.Kind))
	})
}

// decideProvable plans a listed image whose only images are provable (no
// seal that holds: an image ck stored before it sealed, or under another
// key, or someone else's upload with ck's marks): when the oldest one's
// record names the listed bytes, one download proves it and ck seals it
// (update-metadata with Prove); when the proof fails (see pkg/apply), the
// listed image is uploaded. When its record names other bytes, the listed
// image replaces it. The others are left alone.
//
// Provable images of keys no list wants are retired (and unshared) as
// proven ones are (decideUndesired): a retirement only hides an image and
// can be undone, and prune deletes only images whose bytes are proven.
func (b *builder) decideProvable(k imgKey, w *wanted, current, old []glance.Image) {
	d := w.desired
	keep := current[0]
	for _, img := range current[1:] {
		b.notice(NoticeUnproven, img, "only a download could prove its bytes ("+provableWhy(img)+"), and image "+keep.ID+" of the same identity is proven first: left alone")
	}
	b.plan.Stats.Retired += len(old)
	c := Change{
		Project: k.project, ListID: k.listID, ImageID: k.imageID,
		Title: cmp.Or(d.Properties[PropTitle], d.Name), Source: w.source, Size: d.Size, SHA512: d.SHA512, Digest: d.Digest,
	}
	if !sameBytes(keep, d) {
		// Its record names another build: nothing to prove; the new one
		// is uploaded and it retires after (a retirement only hides it
		// and can be undone; prune deletes only what is proven).
		c.Action, c.Reason, c.Desired, c.GlanceImageID = ActionReplace, ReasonContentChanged, &d, keep.ID
		c.Patch = RetirePatch(keep, b.now)
		b.add(c)
		return
	}
	c.Action, c.Reason, c.GlanceImageID, c.Prove, c.Desired = ActionUpdateMetadata, ReasonUnsealed, keep.ID, true, &d
	c.Patch = MetadataPatch(keep, d)
	b.add(c)
}
