package plan

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/ck-sync/ck/pkg/glance"
	"github.com/ck-sync/ck/pkg/imagefilter"
)

// Build computes the plan that brings the observed Glance images in line
// with lists under policy p at time now. It does no I/O.
//
// It returns an error for inputs no caller should produce (a valid list
// without a parsed list or id, an unknown status). When the plan would
// retire more images than the policy allows, Build returns the plan with
// Blocked set and the same *GuardError as its error: the caller may show
// the plan but must apply none of it.
func Build(lists []ListInput, observed []glance.Image, p Policy, now time.Time) (*Plan, error) {
	p = p.withDefaults()
	now = now.UTC()
	b := &builder{
		policy:        p,
		now:           now,
		desired:       map[imgKey]*wanted{},
		imageExpired:  map[imgKey]bool{},
		listValid:     map[listKey]bool{},
		listExpired:   map[listKey]bool{},
		idValid:       map[string]bool{},
		idExpired:     map[string]bool{},
		protectedIDs:  map[string]bool{},
		protectedURLs: map[string]bool{},
		protectedKeys: map[imgKey]bool{},
		unreadable:    map[listKey]bool{},
		dropMembers:   map[listKey]bool{},
		frozen:        map[imgKey]bool{},
		managed:       map[string]bool{},
		desiredIDs:    map[imgIDKey]int{},
		atropeSources: map[string]string{},
		filters:       map[string]imagefilter.Filter{},
		plan: &Plan{
			FormatVersion: FormatVersion,
			Created:       now,
			Changes:       []Change{},
			Lists:         []ListSummary{},
			Inputs:        Inputs{Lists: []ListFingerprint{}, Images: []ImageFingerprint{}},
		},
	}
	for _, id := range p.ManagedProjects {
		b.managed[id] = true
	}
	ordered := slices.Clone(lists)
	// The VO last: a source's inputs for several VOs in one project (its
	// shared copy) plan one image from the first, whatever their order.
	slices.SortStableFunc(ordered, func(x, y ListInput) int {
		return cmp.Or(cmp.Compare(x.Source, y.Source), cmp.Compare(x.id(), y.id()), cmp.Compare(x.Project, y.Project), cmp.Compare(x.vo(), y.vo()))
	})
	for _, in := range ordered {
		if in.Project != "" {
			b.managed[in.Project] = true
		}
	}
	sums := make([]ListSummary, len(ordered))
	for i, in := range ordered {
		sum, err := b.summarize(in)
		if err != nil {
			return nil, err
		}
		sums[i] = sum
	}
	copyOf := resolveCopies(ordered, sums)
	for i, in := range ordered {
		b.addList(in, sums[i], copyOf[i])
	}
	groups := b.observe(observed)
	b.decide(groups)
	b.reportLeftovers()
	return b.finish()
}

// wanted is one desired image and where it comes from.
type wanted struct {
	source  string
	desired Desired
}

// builder holds the indexes Build derives from its inputs.
type builder struct {
	policy Policy
	now    time.Time

	desired      map[imgKey]*wanted
	imageExpired map[imgKey]bool
	listValid    map[listKey]bool // read and current, by project
	listExpired  map[listKey]bool // read and expired, by project
	idValid      map[string]bool  // read and current, in some project
	idExpired    map[string]bool  // read and expired, in some project
	// A list that failed or was skipped protects its images from any
	// retirement: by list id when known, and by ck_list_url.
	protectedIDs  map[string]bool
	protectedURLs map[string]bool
	// unknownFailed is set when a failed list's id is unknown: any ck image
	// might be one of its, so nothing may be retired as unsubscribed.
	unknownFailed bool
	// A valid list's entry the parser skipped (List.Skipped) could not be
	// read, which is not the same as removed: protectedKeys holds the keys
	// of skipped entries whose id was readable, and unreadable the lists
	// with a skipped entry without an id, any of whose images it may be.
	protectedKeys map[imgKey]bool
	unreadable    map[listKey]bool
	// dropMembers holds the lists of --share-mode members whose VO left the
	// mapping: their images stay, but lose every member.
	dropMembers map[listKey]bool
	// frozen holds the keys with an image an operator deactivated: nothing
	// is planned for them.
	frozen    map[imgKey]bool
	managed   map[string]bool
	currentCK int // vouched, usable, non-retired ck images: the base of the retire limit
	// legacy holds the old tools' images that ck may adopt (Policy.Adopt);
	// desiredIDs counts desired images per (project, image id), because
	// atrope's images name no list id.
	legacy     []legacy
	desiredIDs map[imgIDKey]int
	// atropeSources maps the atrope name (ListInput.AtropeName) of each
	// source read valid this run to its list id: atrope's images of these
	// sources that no listed image claims are reported as leftovers.
	atropeSources map[string]string
	// filters holds the image filters of the lists read (valid or
	// expired), by list id: ck's images of that list that the filter
	// leaves out are kept, in any project. Copies of one list id with
	// different filters disagree (resolveCopies), so there is one per id.
	filters map[string]imagefilter.Filter

	plan *Plan
}

// summarize decides what a list's status is for this plan: a valid list
// past its expiry is expired, one without a project is skipped.
func (b *builder) summarize(in ListInput) (ListSummary, error) {
	id := in.id()
	sum := ListSummary{Source: in.Source, ListID: id, Status: in.Status, Project: in.Project, Reason: in.Reason}
	if in.List != nil {
		sum.Title = in.List.Title
		if !in.List.Expires.IsZero() {
			exp := in.List.Expires.UTC()
			sum.Expires = &exp
		}
	}
	switch in.Status {
	case ListValid:
		if in.List == nil || id == "" {
			return sum, fmt.Errorf("plan: list %s: status valid without a parsed list and its id", in.Source)
		}
		if !in.List.Expires.IsZero() && !b.now.Before(in.List.Expires) {
			sum.Status = ListExpired
			sum.Reason = cmp.Or(in.Reason, "list expired at "+in.List.Expires.UTC().Format(time.RFC3339))
		}
	case ListExpired:
		if id == "" {
			sum.Status = ListFailed // cannot tell which images are its
			sum.Reason = cmp.Or(in.Reason, "expired list without an id")
		}
	case ListFailed, ListSkipped:
	default:
		return sum, fmt.Errorf("plan: list %s: unknown status %q", in.Source, in.Status)
	}
	if (sum.Status == ListValid || sum.Status == ListExpired) && in.Project == "" {
		sum.Status = ListSkipped
		vo := ""
		if in.List != nil {
			vo = in.List.VO
		}
		sum.Reason = cmp.Or(in.Reason, fmt.Sprintf("no project mapped for VO %q", vo))
	}
	return sum, nil
}

func (b *builder) addList(in ListInput, sum ListSummary, copyOf bool) {
	f := imagefilter.New(in.Source, in.Images)
	if f.Active() {
		sum.Filter = filterSummary(in, f, sum.Status)
	}
	if copyOf {
		// The list is read through another copy (with the same filter);
		// this one adds nothing and, having been read, protects nothing
		// either.
		b.addSummary(in, sum)
		return
	}
	id := sum.ListID
	lk := listKey{in.Project, id}
	if f.Active() && (sum.Status == ListValid || sum.Status == ListExpired) {
		b.filters[id] = f
	}
	switch sum.Status {
	case ListFailed, ListSkipped:
		if id != "" {
			b.protectedIDs[id] = true
			if in.DropMembers && in.Project != "" {
				b.dropMembers[lk] = true
			}
		} else {
			b.unknownFailed = true
		}
		if in.Source != "" {
			b.protectedURLs[in.Source] = true
		}
	case ListExpired:
		b.listExpired[lk] = true
		b.idExpired[id] = true
	case ListValid:
		b.listValid[lk] = true
		b.idValid[id] = true
		if in.AtropeName != "" {
			b.atropeSources[in.AtropeName] = id
		}
		sum.Images = b.addImages(in, id, f)
		sum.Skipped = b.addSkipped(in, lk)
	}
	b.addSummary(in, sum)
}

// filterSummary describes the image filter f of a list whose status is
// st: what it leaves out of a read list, and which entries name no image
// of a valid one (an entry naming an image whose entry the parser skipped
// names an image of the list).
func filterSummary(in ListInput, f imagefilter.Filter, st ListStatus) *FilterSummary {
	fs := &FilterSummary{Entries: f.Entries()}
	if in.List == nil || (st != ListValid && st != ListExpired) {
		return fs
	}
	ids := make([]string, 0, len(in.List.Images)+len(in.List.Skipped))
	for _, img := range in.List.Images {
		ids = append(ids, img.ID)
		if !f.Match(img.ID) {
			fs.FilteredOut++
		}
	}
	if st != ListValid {
		return fs
	}
	for _, s := range in.List.Skipped {
		if s.ID != "" {
			ids = append(ids, s.ID)
		}
	}
	fs.Unmatched = f.Unmatched(ids)
	return fs
}

func (b *builder) addSummary(in ListInput, sum ListSummary) {
	b.plan.Lists = append(b.plan.Lists, sum)
	b.plan.Inputs.Lists = append(b.plan.Inputs.Lists, ListFingerprint{
		Source: in.Source, ListID: sum.ListID, Status: sum.Status, Digest: in.Digest,
	})
}

// addImages records the list's desired images, those its filter f passes,
// and returns how many there are.
func (b *builder) addImages(in ListInput, id string, f imagefilter.Filter) int {
	n := 0
	seen := map[imgKey]bool{}
	for _, img := range in.List.Images {
		if !f.Match(img.ID) {
			continue // kept, not retired: see retireReason
		}
		k := imgKey{in.Project, id, img.ID}
		if seen[k] {
			continue // a repeated entry: the first one wins
		}
		seen[k] = true
		if w := b.desired[k]; w != nil && w.source == in.Source {
			// The same image through another VO of the same source, in the
			// same project: with --share-mode members every VO's input
			// plans the one shared copy, of which each VO's project is a
			// member (none for a VO mapped to that project itself).
			if len(in.Members) > 0 {
				w.desired = withMembers(w.desired, append(slices.Clone(w.desired.Members), in.Members...))
			}
			n++
			continue
		}
		if b.desired[k] != nil || b.imageExpired[k] {
			continue // another list's copy of the image: the first one wins
		}
		if !img.Expires.IsZero() && !b.now.Before(img.Expires) {
			b.imageExpired[k] = true
			continue
		}
		d := withMembers(DesiredImage(in.List, img, in.Source, in.policy(b.policy)), in.Members)
		b.desired[k] = &wanted{source: in.Source, desired: d}
		b.desiredIDs[imgIDKey{in.Project, img.ID}]++
		n++
	}
	return n
}

// addSkipped records the entries of a valid list the parser could not
// read, so that their images are kept rather than retired as removed, and
// returns them for the list's summary. A skipped entry whose key is also
// that of a valid entry (a later duplicate: the first entry wins) protects
// nothing: the key is planned from the valid entry.
func (b *builder) addSkipped(in ListInput, lk listKey) []SkippedImage {
	var out []SkippedImage
	for _, s := range in.List.Skipped {
		out = append(out, SkippedImage{Index: s.Index, ImageID: s.ID, Field: s.Field, Reason: s.Reason})
		if s.ID == "" {
			b.unreadable[lk] = true
			continue
		}
		k := imgKey{lk.project, lk.listID, s.ID}
		if b.desired[k] == nil && !b.imageExpired[k] {
			b.protectedKeys[k] = true
		}
	}
	return out
}

// observe keeps ck's usable images whose content ck can vouch for,
// grouped by key, and counts or reports the rest.
func (b *builder) observe(observed []glance.Image) map[imgKey][]glance.Image {
	groups := map[imgKey][]glance.Image{}
	st := &b.plan.Stats
	for _, img := range observed {
		if !IsCK(img, b.policy.Tag, b.managed) {
			if l, ok := legacyOf(img); ok && b.policy.Adopt && b.managed[img.Owner] && usable(img) {
				// Counted only if adopted: an old tool's image no list
				// wants is not ck's business, not even as "ignored".
				b.legacy = append(b.legacy, l)
				continue
			}
			st.Ignored++
			continue
		}
		st.Managed++
		b.plan.Inputs.Images = append(b.plan.Inputs.Images, ImageFingerprint{ID: img.ID, UpdatedAt: img.UpdatedAt.UTC()})
		switch {
		case img.Status == "deactivated" && !retired(img) && img.Properties[PropUnverified] == "":
			// An operator's decision (prune deactivates only retired
			// images): uploading the image again next to it would undo it.
			if b.trust(img) == trustNone {
				b.notice(NoticeUnproven, img, unprovenWhy(img))
				continue
			}
			b.frozen[keyOf(img)] = true
			b.notice(NoticeDeactivated, img, "deactivated in Glance: ck plans nothing for this image (no new upload, no retirement) until it is reactivated or deleted")
			continue
		case !usable(img):
			st.Unusable++
			continue
		case b.trust(img) == trustNone:
			b.notice(NoticeUnproven, img, unprovenWhy(img)+"; it may not be ck's: left alone")
			continue
		}
		k := keyOf(img)
		groups[k] = append(groups[k], img)
	}
	return groups
}

// notice reports img as left alone, and counts it.
func (b *builder) notice(kind NoticeKind, img glance.Image, detail string) {
	b.plan.Notices = append(b.plan.Notices, noticeOf(kind, img, detail))
	b.plan.Stats.countNotice(kind)
}

func noticeOf(kind NoticeKind, img glance.Image, detail string) Notice {
	return Notice{
		Kind: kind, Project: img.Owner, GlanceImageID: img.ID, Name: img.Name, Status: img.Status,
		ListID: img.Properties[PropListID], ImageID: img.Properties[PropImageID], Detail: detail,
	}
}

// countNotice counts a notice in the stats of its kind.
func (st *Stats) countNotice(kind NoticeKind) {
	switch kind {
	case NoticeUnproven:
		st.Unproven++
	case NoticeDeactivated:
		st.Deactivated++
		st.Unusable++ // not active: a part of Unusable
	}
}

func retired(img glance.Image) bool { return img.Properties[PropRetired] != "" }

// newestFirst orders images so that the one to keep comes first; the id
// breaks ties so the choice never depends on input order.
func newestFirst(x, y glance.Image) int {
	return cmp.Or(y.CreatedAt.Compare(x.CreatedAt), cmp.Compare(x.ID, y.ID))
}

// trust is trustOf under the policy's seal key.
func (b *builder) trust(img glance.Image) trust { return trustOf(b.policy.SealKey, img) }
