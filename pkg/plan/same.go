package plan

import (
	"fmt"
	"strings"
)

// SameChanges reports whether saved (a plan read back from a file) makes
// the same changes as current (the plan built now): the same action and
// reason on the same image of the same list in the same project, with the
// same target image and the same bytes. Patch values are not compared: a
// retirement's timestamp is the time of applying. The error names the
// first differences.
func SameChanges(saved, current *Plan) error {
	key := func(c Change) string {
		return fmt.Sprintf("%s %s project %s list %s image %s (glance %s, sha512 %.16s…, digest %.23s…, %d bytes, prove %t)",
			c.Action, c.Reason, c.Project, c.ListID, c.ImageID, c.GlanceImageID, c.SHA512, c.Digest, c.Size, c.Prove)
	}
	count := map[string]int{}
	for _, c := range current.Changes {
		count[key(c)]++
	}
	var diffs []string
	for _, c := range saved.Changes {
		k := key(c)
		if count[k] == 0 {
			diffs = append(diffs, "not planned now: "+k)
			continue
		}
		count[k]--
	}
	for _, c := range current.Changes {
		if k := key(c); count[k] > 0 {
			diffs = append(diffs, "missing from the file: "+k)
			count[k]--
		}
	}
	if len(diffs) == 0 {
		return nil
	}
	if len(diffs) > 5 {
		diffs = append(diffs[:5], fmt.Sprintf("and %d more", len(diffs)-5))
	}
	return fmt.Errorf("its changes differ from the plan built now: %s", strings.Join(diffs, "; "))
}
