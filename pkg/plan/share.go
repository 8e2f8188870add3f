package plan

import (
	"cmp"
	"slices"

	"github.com/ck-sync/ck/pkg/glance"
)

// withMembers makes d the single shared copy of --share-mode members: its
// members are the VO projects and its visibility "shared", which Glance
// requires for members.
func withMembers(d Desired, members []string) Desired {
	if len(members) == 0 {
		return d
	}
	d.Members = slices.Sorted(slices.Values(members))
	d.Members = slices.Compact(d.Members)
	d.Visibility = "shared"
	return d
}

// share plans the member changes that make img's members d's: a share for
// each missing member and each pending one ck can accept for, an unshare
// for each member no list wants (only when img's members were observed).
// A member that rejected the image is left as it chose. It returns how many
// changes it added.
func (b *builder) share(base Change, img glance.Image, d Desired) int {
	have := map[string]string{}
	for _, m := range img.Members {
		have[m.ProjectID] = m.Status
	}
	n := 0
	add := func(a Action, r Reason, project string) {
		c := base
		c.Action, c.Reason, c.GlanceImageID, c.Member = a, r, img.ID, project
		c.Desired, c.Patch = nil, nil
		b.add(c)
		n++
	}
	for _, p := range d.Members {
		status, ok := have[p]
		switch {
		case !ok:
			add(ActionShare, ReasonNewMember, p)
		case status == glance.MemberPending && b.policy.CanAccept[p]:
			add(ActionShare, ReasonMemberPending, p)
		case status == glance.MemberPending:
			b.plan.Stats.Pending++
		}
	}
	for _, m := range img.Members {
		if !slices.Contains(d.Members, m.ProjectID) {
			add(ActionUnshare, ReasonStaleMember, m.ProjectID)
		}
	}
	return n
}

// unshareAll plans the removal of every observed member of img, an image
// of key k that no VO of the mapping may see any more.
func (b *builder) unshareAll(k imgKey, img glance.Image) {
	for _, m := range img.Members {
		b.add(Change{
			Action: ActionUnshare, Reason: ReasonStaleMember,
			Project: k.project, ListID: k.listID, ImageID: k.imageID,
			Title:         cmp.Or(img.Properties[PropTitle], img.Name),
			Source:        img.Properties[PropListURL],
			GlanceImageID: img.ID,
			Member:        m.ProjectID,
			Size:          img.Size,
			SHA512:        img.Properties[PropSHA512],
		})
	}
}
