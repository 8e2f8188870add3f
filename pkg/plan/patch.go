package plan

import (
	"maps"
	"slices"
	"time"

	"github.com/ck-sync/ck/pkg/glance"
)

// PatchOp is one operation of a Glance image JSON patch
// (application/openstack-images-v2.1-json-patch).
type PatchOp struct {
	Op   string `json:"op"`   // "add", "replace" or "remove"
	Path string `json:"path"` // "/name", "/min_ram", "/visibility", "/os_hidden" or "/<property>"
	// Value is the new value: a string for properties, name and
	// visibility, an int for /min_ram, a bool for /os_hidden; nil for remove.
	Value any `json:"value,omitempty"`
	// Old is the value being replaced or removed, for people reading the
	// plan; it is not part of the patch sent to Glance.
	Old any `json:"old,omitempty"`
}

// The JSON patch operations ck uses.
const (
	OpAdd     = "add"
	OpReplace = "replace"
	OpRemove  = "remove"
)

// MetadataPatch returns the patch that makes current's ck-managed fields
// (name, min_ram, visibility and every property ck writes) equal to d's.
// Fields ck does not manage are never touched; an empty result means the
// metadata is up to date.
func MetadataPatch(current glance.Image, d Desired) []PatchOp {
	var ops []PatchOp
	if current.Name != d.Name {
		ops = append(ops, PatchOp{Op: OpReplace, Path: "/name", Value: d.Name, Old: current.Name})
	}
	if current.MinRAM != d.MinRAM {
		ops = append(ops, PatchOp{Op: OpReplace, Path: "/min_ram", Value: d.MinRAM, Old: current.MinRAM})
	}
	if current.Visibility != d.Visibility {
		ops = append(ops, PatchOp{Op: OpReplace, Path: "/visibility", Value: d.Visibility, Old: current.Visibility})
	}
	for _, k := range managedProps {
		if k == PropSHA512 && d.SHA512 == "" {
			// A registry image's sha512 is what ck computed of the layer
			// on upload (pkg/apply), not something the plan knows.
			continue
		}
		want, wantOK := d.Properties[k]
		have, haveOK := current.Properties[k]
		switch {
		case wantOK && !haveOK:
			ops = append(ops, PatchOp{Op: OpAdd, Path: "/" + k, Value: want})
		case wantOK && have != want:
			ops = append(ops, PatchOp{Op: OpReplace, Path: "/" + k, Value: want, Old: have})
		case !wantOK && haveOK:
			ops = append(ops, PatchOp{Op: OpRemove, Path: "/" + k, Old: have})
		}
	}
	// The properties a source adds for downstream readers are set, never
	// removed: the same names (appdb_id, image_hash) may be an old tool's
	// on an image ck adopted.
	for _, k := range slices.Sorted(maps.Keys(d.Properties)) {
		if slices.Contains(managedProps, k) {
			continue
		}
		want := d.Properties[k]
		switch have, ok := current.Properties[k]; {
		case !ok:
			ops = append(ops, PatchOp{Op: OpAdd, Path: "/" + k, Value: want})
		case have != want:
			ops = append(ops, PatchOp{Op: OpReplace, Path: "/" + k, Value: want, Old: have})
		}
	}
	return ops
}

// RetirePatch returns the patch that retires current at now: ck_retired is
// set (RFC 3339, UTC) and the image hidden, so running servers keep working
// while new users no longer see it; prune deletes it after the grace period.
func RetirePatch(current glance.Image, now time.Time) []PatchOp {
	ops := []PatchOp{{Op: OpAdd, Path: "/" + PropRetired, Value: now.UTC().Format(time.RFC3339)}}
	if !current.Hidden {
		ops = append(ops, PatchOp{Op: OpReplace, Path: "/" + PropHidden, Value: true, Old: false})
	}
	return ops
}

// RepublishPatch returns the patch that makes a retired image with the
// right bytes current again: ck_retired removed, the image shown, and its
// metadata brought up to date.
func RepublishPatch(retired glance.Image, d Desired) []PatchOp {
	ops := []PatchOp{{Op: OpRemove, Path: "/" + PropRetired, Old: retired.Properties[PropRetired]}}
	if retired.Hidden {
		ops = append(ops, PatchOp{Op: OpReplace, Path: "/" + PropHidden, Value: false, Old: true})
	}
	return append(ops, MetadataPatch(retired, d)...)
}
