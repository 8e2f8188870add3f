package plan

import (
	"cmp"
	"fmt"
	"math"
)

// GuardError reports a plan that would remove more images than allowed
// (spec §7, --max-retire for retire, --max-delete for delete). Build returns it with the plan so the caller can
// show what would have happened, and must then apply nothing.
type GuardError struct {
	Action Action `json:"action"`
	Count  int    `json:"count"` // changes of Action in the plan
	Limit  int    `json:"limit"` // the most allowed, for Count and Unshare together
	// Unshare counts the unshares (--share-mode members) of a retire guard:
	// they take an image away from a VO's users as a retirement does.
	Unshare int `json:"unshare,omitempty"`
}

// Error says how many images the plan would retire (or unshare) and what
// the limit is.
func (e *GuardError) Error() string {
	if e.Unshare > 0 {
		return fmt.Sprintf("plan would retire %d images and unshare %d, %d in all, more than the limit of %d (%s); nothing was changed",
			e.Count, e.Unshare, e.Count+e.Unshare, e.Limit, e.Flag())
	}
	return fmt.Sprintf("plan would %s %d images, more than the limit of %d (%s); nothing was changed", e.Action, e.Count, e.Limit, e.Flag())
}

// Flag names the option that sets the limit the plan exceeded.
func (e *GuardError) Flag() string {
	if e.Action == ActionDelete {
		return "--max-delete"
	}
	return "--max-retire"
}

// DefaultLimit turns a percentage of ck's images into an absolute limit:
// floor(ckImages × percent / 100), but at least 1 so a small site can
// still retire an image.
func DefaultLimit(ckImages int, percent float64) int {
	n := int(math.Floor(float64(ckImages) * percent / 100))
	return max(n, 1)
}

// retireLimit is the limit the policy sets for a site with ckImages current
// images; -1 means none.
func (p Policy) retireLimit(ckImages int) int {
	return guardLimit(p.MaxRetire, p.MaxRetirePercent, ckImages)
}

// guardLimit turns a --max-retire or --max-delete setting into a limit for
// a site with images of ck's: n > 0 is absolute, n < 0 means none (-1), and
// 0 means percent of the images (DefaultMaxRetirePercent when 0).
func guardLimit(n int, percent float64, images int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return n
	}
	return DefaultLimit(images, cmp.Or(percent, DefaultMaxRetirePercent))
}
