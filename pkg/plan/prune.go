package plan

import (
	"cmp"
	"slices"
	"time"

	"github.com/ck-sync/ck/pkg/glance"
)

// DefaultGrace is how long a retired image stays before prune deletes it:
// long enough for users to move their servers' templates to the successor.
const DefaultGrace = 7 * 24 * time.Hour

// AbandonedAfter is how old one of ck's images may be and still not be
// active before prune deletes it: a sync killed mid-upload (SIGKILL, OOM, a
// reboot) cannot clean up after itself. It is well beyond the default
// --run-timeout (6 h), so no running upload is touched.
const AbandonedAfter = 24 * time.Hour

// abandoned reports whether img is an upload that never finished.
func abandoned(img glance.Image, now time.Time) bool {
	old := !img.CreatedAt.IsZero() && now.Sub(img.CreatedAt) >= AbandonedAfter
	if img.Properties[PropUnverified] != "" {
		return old // whatever its status: its bytes were never verified
	}
	switch img.Status {
	case "queued", "saving", "importing", "uploading", "killed":
		return old
	}
	return false
}

// PrunePolicy holds the settings of `ck prune`.
type PrunePolicy struct {
	Tag     string   // ck's Glance tag; "" means DefaultTag
	Managed []string // owner projects whose images may be ck's (spec §5)
	// Grace is how long an image must have been retired (ck_retired)
	// before it is deleted; 0 deletes every retired image.
	Grace time.Duration
	// MaxDelete caps the number of deletions: > 0 is an absolute limit,
	// < 0 means no limit, 0 means MaxDeletePercent of ck's images.
	MaxDelete int
	// MaxDeletePercent is the limit as a percentage of all of ck's images
	// (current and retired), used when MaxDelete is 0; 0 means
	// DefaultMaxRetirePercent.
	MaxDeletePercent float64
	// SealKey checks ck's seals (Policy.SealKey): an image whose bytes
	// only a seal can prove is deleted only when its seal holds.
	SealKey []byte
}

// BuildPrune plans `ck prune`: the retirements of base (the plan Build
// made over the full subscription set; nil for none) and the deletion of
// ck's images retired at least p.Grace before now. Images base retires
// count as retired now, so a zero grace deletes them in the same run. It
// does no I/O.
//
// Only ck's images (IsCK) are considered: foreign images and server
// snapshots that carry ck's properties are never deleted. An image whose
// ck_retired cannot be parsed is left alone, since its age is unknown.
// When the plan would delete more than the limit, BuildPrune returns it
// with Blocked set and the same *GuardError: nothing may be applied.
func BuildPrune(base *Plan, observed []glance.Image, p PrunePolicy, now time.Time) (*Plan, error) {
	now = now.UTC()
	tag := cmp.Or(p.Tag, DefaultTag)
	managed := map[string]bool{}
	for _, id := range p.Managed {
		managed[id] = true
	}
	out := &Plan{
		FormatVersion: FormatVersion,
		Created:       now,
		Changes:       []Change{},
		Lists:         []ListSummary{},
		Inputs:        Inputs{Lists: []ListFingerprint{}, Images: []ImageFingerprint{}},
	}
	retiredNow := map[string]bool{}
	// keep holds images base still uses (a retired image listed again is
	// republished, not deleted); keepLists the lists base could not read,
	// keepKeys and keepUnreadable the images of list entries it could not
	// read: "could not read" must never turn into a deletion either.
	keep, keepLists, keepURLs := map[string]bool{}, map[string]bool{}, map[string]bool{}
	keepKeys, keepUnreadable := map[imgKey]bool{}, map[listKey]bool{}
	if base != nil {
		out.Lists = slices.Clone(base.Lists)
		out.Inputs.Lists = slices.Clone(base.Inputs.Lists)
		out.Stats.Kept, out.Stats.OutOfScope, out.Stats.Filtered = base.Stats.Kept, base.Stats.OutOfScope, base.Stats.Filtered
		for _, n := range base.Notices {
			if n.Kind == NoticeLegacyUnproven || n.Kind == NoticeLegacyLeftover { // the others are found again below
				out.Notices = append(out.Notices, n)
			}
		}
		for _, c := range base.Changes {
			if c.Action == ActionRetire {
				out.Changes = append(out.Changes, c)
				retiredNow[c.GlanceImageID] = true
			} else if c.GlanceImageID != "" {
				keep[c.GlanceImageID] = true
			}
		}
		for _, l := range base.Lists {
			if l.Status == ListFailed || l.Status == ListSkipped {
				if l.ListID != "" {
					keepLists[l.ListID] = true
				}
				keepURLs[l.Source] = true
			}
			if l.Status != ListValid {
				continue
			}
			for _, sk := range l.Skipped {
				if sk.ImageID == "" {
					keepUnreadable[listKey{l.Project, l.ListID}] = true
				} else {
					keepKeys[imgKey{l.Project, l.ListID, sk.ImageID}] = true
				}
			}
		}
	}
	for _, img := range observed {
		if !IsCK(img, tag, managed) {
			out.Stats.Ignored++
			continue
		}
		out.Stats.Managed++
		out.Inputs.Images = append(out.Inputs.Images, ImageFingerprint{ID: img.ID, UpdatedAt: img.UpdatedAt.UTC()})
		if n, ok := pruneNotice(p.SealKey, img); ok {
			// Its bytes are not what its marks say, so it may not be
			// ck's: never deleted, whatever its age or ck_retired.
			out.Notices = append(out.Notices, n)
			out.Stats.countNotice(n.Kind)
			continue
		}
		at, ok := retiredAt(img)
		reason := ReasonGraceOver
		switch {
		case abandoned(img, now):
			reason = ReasonAbandoned
		case retiredNow[img.ID]:
			if p.Grace > 0 {
				continue // retired by this run: its grace starts now
			}
		case !retired(img):
			continue
		case !ok, now.Sub(at) < p.Grace:
			out.Stats.Retired++ // in its grace period, or of unknown age
			continue
		case keep[img.ID], keepLists[img.Properties[PropListID]], keepURLs[img.Properties[PropListURL]],
			keepKeys[keyOf(img)], keepUnreadable[listKey{img.Owner, img.Properties[PropListID]}]:
			out.Stats.Kept++
			continue
		}
		out.Changes = append(out.Changes, Change{
			Action: ActionDelete, Reason: reason,
			Project: img.Owner, ListID: img.Properties[PropListID], ImageID: img.Properties[PropImageID],
			Title:         cmp.Or(img.Properties[PropTitle], img.Name),
			Source:        img.Properties[PropListURL],
			GlanceImageID: img.ID,
			Size:          img.Size,
			SHA512:        img.Properties[PropSHA512],
		})
	}
	sortChanges(out.Changes)
	out.Stats.count(out.Changes)
	sortInputs(&out.Inputs)
	sortNotices(out.Notices)
	limit := guardLimit(p.MaxDelete, p.MaxDeletePercent, out.Stats.Managed-out.Stats.Unproven)
	if limit >= 0 && out.Stats.Delete > limit {
		out.Blocked = &GuardError{Action: ActionDelete, Count: out.Stats.Delete, Limit: limit}
		return out, out.Blocked
	}
	return out, nil
}

// retiredAt parses an image's ck_retired; false when absent or unreadable.
func retiredAt(img glance.Image) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339, img.Properties[PropRetired])
	return t, err == nil
}

// pruneNotice reports one of ck's images that prune must leave alone
// whatever its age: one with bytes (active or deactivated) that Glance
// does not prove, or one an operator deactivated. An image with no bytes
// yet (queued, saving, killed) has nothing to prove and stays subject to
// the abandoned rule.
func pruneNotice(key []byte, img glance.Image) (Notice, bool) {
	if img.Status != "active" && img.Status != "deactivated" {
		return Notice{}, false
	}
	if markedUnverified(key, img) {
		// An upload of ck's that never got verified: the abandoned rule.
		return Notice{}, false
	}
	switch trustOf(key, img) {
	case trustNone:
		return noticeOf(NoticeUnproven, img, unprovenWhy(img)+"; it may not be ck's: never deleted"), true
	case trustProvable:
		return noticeOf(NoticeUnproven, img, "only a download could prove its bytes ("+provableWhy(img)+"): never deleted; delete it by hand if it is yours"), true
	}
	if img.Status == "deactivated" && !retired(img) && img.Properties[PropUnverified] == "" {
		return noticeOf(NoticeDeactivated, img, "deactivated in Glance: ck plans nothing for this image until it is reactivated or deleted"), true
	}
	return Notice{}, false
}
