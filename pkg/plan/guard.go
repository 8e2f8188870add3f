package plan

import (
	"fmt"
	"math"
)

// GuardError reports a plan that would remove more images than allowed
// (spec §7, --max-retire for retire, --max-delete for delete). Build returns it with the plan so the caller can
// show what would have happened, and must then apply nothing.
type GuardError struct {
	Action Action `json:"action"`
	Count  int    `json:"count"` // changes of Action in the plan
	Limit  int    `json:"limit"` // the most allowed
}

// Error says how many images the plan would retire and what the limit is.
func (e *GuardError) Error() string {
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
	switch {
	case p.MaxRetire < 0:
		return -1
	case p.MaxRetire > 0:
		return p.MaxRetire
	}
	return DefaultLimit(ckImages, p.MaxRetirePercent)
}
