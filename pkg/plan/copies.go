package plan

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/ck-sync/ck/pkg/imagefilter"
)

// resolveCopies decides, for each list id that more than one subscription
// provided (a mirror, or another publisher claiming the id), which copy
// the plan uses. Copies that agree (same images with the same digests and
// sizes, same endorser, same project) are one list: a valid copy beats an
// expired one, then the newest dc:date:created, then the first source; the
// others are reported as the same list (copyOf true: they change and
// protect nothing). Copies that disagree cannot all be right and ck cannot
// tell which is: every copy fails for this run, which protects the id's
// images and changes nothing, and each one's reason names the others.
//
// The choice never depends on the order of sources alone, so an expired or
// stale mirror can never retire what the current list holds.
func resolveCopies(ins []ListInput, sums []ListSummary) (copyOf []bool) {
	copyOf = make([]bool, len(ins))
	byID := map[string][]int{}
	var ids []string
	for i, s := range sums {
		if s.ListID == "" || (s.Status != ListValid && s.Status != ListExpired) {
			continue
		}
		if _, ok := byID[s.ListID]; !ok {
			ids = append(ids, s.ListID)
		}
		byID[s.ListID] = append(byID[s.ListID], i)
	}
	for _, id := range ids {
		group := byID[id]
		if len(group) < 2 || oneSource(ins, group) {
			// One subscription's inputs, one per VO project (a registry
			// source's vos): not copies, each is planned in its project.
			continue
		}
		var conflicts []string
		for _, j := range group[1:] {
			if why := disagreement(ins[group[0]], ins[j]); why != "" {
				conflicts = append(conflicts, fmt.Sprintf("%s and %s differ: %s", ins[group[0]].Source, ins[j].Source, why))
			}
		}
		if len(conflicts) > 0 {
			for _, i := range group {
				var others []string
				for _, j := range group {
					if j != i {
						others = append(others, ins[j].Source)
					}
				}
				sums[i].Status = ListFailed
				sums[i].Images = 0
				sums[i].Reason = fmt.Sprintf("list id %q is also claimed by %s, and the copies disagree (%s): none is used this run, the list's images are kept as they are",
					id, strings.Join(others, ", "), strings.Join(conflicts, "; "))
			}
			continue
		}
		best := slices.MinFunc(group, func(x, y int) int { return preferCopy(ins[x], sums[x], ins[y], sums[y]) })
		for _, i := range group {
			if i == best {
				continue
			}
			copyOf[i] = true
			sums[i].Reason = fmt.Sprintf("same list as %s (same images, digests and endorser), which is used: %s", ins[best].Source, whyPreferred(sums[best], sums[i], ins[best], ins[i]))
			sums[i].Status = ListSkipped
		}
	}
	return copyOf
}

// oneSource reports whether the inputs of group all come from one source.
func oneSource(ins []ListInput, group []int) bool {
	for _, i := range group[1:] {
		if ins[i].Source != ins[group[0]].Source {
			return false
		}
	}
	return true
}

// preferCopy orders agreeing copies of one list: valid before expired,
// then the newest dc:date:created, then by source (the inputs are sorted).
func preferCopy(x ListInput, xs ListSummary, y ListInput, ys ListSummary) int {
	rank := func(s ListSummary) int {
		if s.Status == ListValid {
			return 0
		}
		return 1
	}
	return cmp.Or(cmp.Compare(rank(xs), rank(ys)), y.List.Created.Compare(x.List.Created), cmp.Compare(x.Source, y.Source))
}

func whyPreferred(best, other ListSummary, bi, oi ListInput) string {
	switch {
	case best.Status == ListValid && other.Status != ListValid:
		return "it is current, this copy expired"
	case bi.List.Created.After(oi.List.Created):
		return "it is newer (dc:date:created " + bi.List.Created.UTC().Format(time.RFC3339) + ")"
	}
	return "identical copies; the first source is used"
}

// disagreement says how two copies of one list id differ in what decides
// the plan, or "" when they do not.
func disagreement(a, b ListInput) string {
	if a.List == nil || b.List == nil {
		return "one copy could not be parsed, so they cannot be compared"
	}
	la, lb := a.List, b.List
	switch {
	case la.Endorser.DN != lb.Endorser.DN:
		return fmt.Sprintf("endorser DN %q vs %q", la.Endorser.DN, lb.Endorser.DN)
	case la.Endorser.CA != lb.Endorser.CA:
		return fmt.Sprintf("endorser CA %q vs %q", la.Endorser.CA, lb.Endorser.CA)
	case a.Project != b.Project:
		return fmt.Sprintf("their images go to project %s vs %s (VO %q vs %q)", a.Project, b.Project, la.VO, lb.VO)
	case !imagefilter.New(a.Source, a.Images).Equal(imagefilter.New(b.Source, b.Images)):
		return fmt.Sprintf("their image filters (lists: images) differ: %q vs %q", a.Images, b.Images)
	}
	type content struct {
		sha512 string
		size   int64
	}
	ca := map[string]content{}
	for _, img := range la.Images {
		ca[img.ID] = content{strings.ToLower(img.SHA512) + img.Digest, img.Size}
	}
	cb := map[string]content{}
	for _, img := range lb.Images {
		cb[img.ID] = content{strings.ToLower(img.SHA512) + img.Digest, img.Size}
	}
	for _, id := range slices.Sorted(maps.Keys(ca)) {
		x := ca[id]
		y, ok := cb[id]
		switch {
		case !ok:
			return fmt.Sprintf("image %q is only in %s", id, a.Source)
		case x.sha512 != y.sha512:
			return fmt.Sprintf("image %q has sha512 %s vs %s", id, short(x.sha512), short(y.sha512))
		case x.size != y.size:
			return fmt.Sprintf("image %q has size %d vs %d", id, x.size, y.size)
		}
	}
	for _, id := range slices.Sorted(maps.Keys(cb)) {
		if _, ok := ca[id]; !ok {
			return fmt.Sprintf("image %q is only in %s", id, b.Source)
		}
	}
	return ""
}
