package plan

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Inputs fingerprints what a plan was computed from. A saved plan may only
// be applied while a freshly built plan has the same Inputs (CheckStale):
// the same lists with the same bytes, and the same ck images, none updated
// since. Images that are not ck's are left out; if one becomes ck's, it
// shows up as an added image. The Policy is not fingerprinted: applying a
// saved plan applies exactly its changes, whatever the flags now say.
type Inputs struct {
	Lists  []ListFingerprint  `json:"lists"`
	Images []ImageFingerprint `json:"images"`
}

// ListFingerprint identifies one input list's content.
type ListFingerprint struct {
	Source string     `json:"source"`
	ListID string     `json:"list_id,omitempty"`
	Status ListStatus `json:"status"`
	Digest string     `json:"digest,omitempty"` // sha256 of the fetched bytes, as given by the caller
}

// ImageFingerprint identifies one observed ck image's state.
type ImageFingerprint struct {
	ID        string    `json:"id"`
	UpdatedAt time.Time `json:"updated_at"`
}

// StaleError lists what changed between a saved plan's inputs and now.
type StaleError struct {
	Changes []string
}

// Error names the first few changes and tells the user to plan again.
func (e *StaleError) Error() string {
	const show = 5
	msg := e.Changes
	more := ""
	if len(msg) > show {
		more = fmt.Sprintf(" (and %d more)", len(msg)-show)
		msg = msg[:show]
	}
	return "saved plan is stale: " + strings.Join(msg, "; ") + more + "; run diff again"
}

// CheckStale returns a *StaleError naming every difference between the
// inputs a plan was saved with and the current ones, or nil when they
// match.
func CheckStale(saved, current Inputs) error {
	var changes []string
	old := map[string]ListFingerprint{}
	for _, l := range saved.Lists {
		old[l.Source] = l
	}
	seen := map[string]bool{}
	for _, l := range current.Lists {
		seen[l.Source] = true
		o, ok := old[l.Source]
		switch {
		case !ok:
			changes = append(changes, fmt.Sprintf("list %s was added", l.Source))
		case o != l:
			changes = append(changes, fmt.Sprintf("list %s changed", l.Source))
		}
	}
	for _, l := range saved.Lists {
		if !seen[l.Source] {
			changes = append(changes, fmt.Sprintf("list %s was removed", l.Source))
		}
	}
	oldImg := map[string]time.Time{}
	for _, im := range saved.Images {
		oldImg[im.ID] = im.UpdatedAt
	}
	seen = map[string]bool{}
	for _, im := range current.Images {
		seen[im.ID] = true
		t, ok := oldImg[im.ID]
		switch {
		case !ok:
			changes = append(changes, fmt.Sprintf("image %s appeared", im.ID))
		case !t.Equal(im.UpdatedAt):
			changes = append(changes, fmt.Sprintf("image %s was updated", im.ID))
		}
	}
	for _, im := range saved.Images {
		if !seen[im.ID] {
			changes = append(changes, fmt.Sprintf("image %s disappeared", im.ID))
		}
	}
	if len(changes) == 0 {
		return nil
	}
	return &StaleError{Changes: changes}
}

// sortInputs puts fingerprints in a stable order.
func sortInputs(in *Inputs) {
	sort.Slice(in.Lists, func(i, j int) bool { return in.Lists[i].Source < in.Lists[j].Source })
	sort.Slice(in.Images, func(i, j int) bool { return in.Images[i].ID < in.Images[j].ID })
}
