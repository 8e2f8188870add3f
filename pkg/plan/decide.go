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
		current = b.candidates(current)
		// A retired image is only republished: one Glance proves first.
		slices.SortFunc(old, func(x, y glance.Image) int { return cmp.Or(provenFirst(x, y), newestFirst(x, y)) })
		b.currentCK += len(current)
		if w := b.desired[k]; w != nil {
			b.decideDesired(k, w, current, old)
		} else {
			b.decideUndesired(k, current, old)
		}
	}
}

// candidates returns the images of one key ck may act on, the one to keep
// first: those Glance proves hold what ck recorded, newest first. Only when
// there is none do the images ck stored unpacked or converted (vouched for
// by ck's record alone) count; next to a proven image they are reported and
// left alone, so that a proven image is never retired for one Glance cannot
// check, nor the other way round.
func (b *builder) candidates(imgs []glance.Image) []glance.Image {
	var sure, recorded []glance.Image
	for _, img := range imgs {
		if proven(img) {
			sure = append(sure, img)
		} else {
			recorded = append(recorded, img)
		}
	}
	if len(sure) == 0 {
		slices.SortFunc(recorded, newestFirst)
		return recorded
	}
	slices.SortFunc(sure, newestFirst)
	sure = b.digestConflicts(sure)
	for _, img := range recorded {
		b.notice(NoticeUnproven, img, fmt.Sprintf("it claims to hold the listed bytes stored as %s (ck_source_format), which Glance cannot check, and image %s, whose bytes Glance proves, has the same identity: left alone",
			img.Properties[PropSourceFormat], sure[0].ID))
	}
	return sure
}

// digestConflicts keeps, of the images claiming one registry layer
// (ck_digest) with different sha512s, only the oldest: one layer digest
// names one content, so they cannot all be genuine, and a copy made to
// pose as ck's image comes after it. The others are reported and left
// alone. Images that agree (the same layer, the same sha512) are genuine
// duplicates and stay. sure is newest first, and stays so.
func (b *builder) digestConflicts(sure []glance.Image) []glance.Image {
	oldest := map[string]glance.Image{}
	for _, img := range sure {
		if dg := img.Properties[PropDigest]; dg != "" {
			oldest[dg] = img // the last one seen is the oldest
		}
	}
	out := sure[:0:0]
	for _, img := range sure {
		first, ok := oldest[img.Properties[PropDigest]]
		if ok && first.ID != img.ID && (first.Properties[PropSHA512] != img.Properties[PropSHA512] || first.Size != img.Size) {
			b.notice(NoticeUnproven, img, fmt.Sprintf("it claims layer %s with sha512 %s, and the older image %s claims the same layer with sha512 %s: one layer has one sha512, so the newer claim is not trusted; left alone",
				short(img.Properties[PropDigest]), short(img.Properties[PropSHA512]), first.ID, short(first.Properties[PropSHA512])))
			continue
		}
		out = append(out, img)
	}
	return out
}

// provenFirst orders images Glance proves before those it cannot.
func provenFirst(x, y glance.Image) int {
	rank := func(img glance.Image) int {
		if proven(img) {
			return 0
		}
		return 1
	}
	return cmp.Compare(rank(x), rank(y))
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
