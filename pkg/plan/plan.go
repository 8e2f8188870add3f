// Package plan computes what ck must do to bring Glance in line with the
// subscribed image lists (spec §7). Build is one pure function of the
// verified lists, the observed Glance images, a Policy and the time; the
// result is a Plan value that pkg/plan/render prints and pkg/apply executes.
package plan

import "time"

// FormatVersion is the version of the Plan's JSON schema (docs/plan-json.md).
// It changes only when a consumer of the JSON would have to change.
const FormatVersion = "1"

// Plan is the complete, ordered set of changes for one run.
type Plan struct {
	FormatVersion string        `json:"format_version"`
	Created       time.Time     `json:"created"`
	Changes       []Change      `json:"changes"`
	Lists         []ListSummary `json:"lists"`
	Stats         Stats         `json:"stats"`
	// Blocked is set when the plan would retire more images than the
	// policy allows; nothing in such a plan may be applied.
	Blocked *GuardError `json:"blocked,omitempty"`
	// Inputs fingerprints what the plan was computed from, so that a saved
	// plan can be refused once the lists or the images have changed.
	Inputs Inputs `json:"inputs"`
	// Notices are the images the plan deliberately leaves alone and that
	// an operator should look at, each with why (see Notice).
	Notices []Notice `json:"notices,omitempty"`
}

// Empty reports whether the plan has no changes to apply.
func (p *Plan) Empty() bool { return len(p.Changes) == 0 }

// Action is what a change does to Glance.
type Action string

// The actions, in the order changes to the same image are sorted.
const (
	ActionCreate         Action = "create"          // upload a new image
	ActionReplace        Action = "replace"         // upload new bytes, then retire the old image
	ActionUpdateMetadata Action = "update-metadata" // patch properties in place, no transfer
	ActionRetire         Action = "retire"          // set ck_retired and hide the image
	ActionAdopt          Action = "adopt"           // make an old tool's image ck's: tag and properties, no transfer
	ActionDelete         Action = "delete"          // prune: deactivate, then delete a retired image
	ActionShare          Action = "share"           // --share-mode members: add (and accept) an image member
	ActionUnshare        Action = "unshare"         // --share-mode members: remove an image member
)

// rank orders actions within one (project, list, image) key.
func (a Action) rank() int {
	switch a {
	case ActionCreate:
		return 0
	case ActionReplace:
		return 1
	case ActionUpdateMetadata:
		return 2
	case ActionAdopt:
		return 3
	case ActionShare:
		return 4
	case ActionUnshare:
		return 5
	case ActionRetire:
		return 6
	case ActionDelete:
		return 7
	}
	return 8
}

// Reason is why a change is planned; it is separate from the Action so that
// an operator sees both what happens and what caused it.
type Reason string

// The reasons. Each action has its own set; see docs/plan-json.md.
const (
	ReasonNew             Reason = "new"               // create: listed, not in Glance
	ReasonContentChanged  Reason = "content-changed"   // replace: sha512 or size differs
	ReasonMetadataChanged Reason = "metadata-changed"  // update-metadata: a ck-written field differs
	ReasonRepublished     Reason = "republished"       // update-metadata: a retired image is listed again, same bytes
	ReasonUnsealed        Reason = "unsealed"          // update-metadata (Prove): ck's image without a seal that holds, proven by one download, then sealed
	ReasonRemovedFromList Reason = "removed-from-list" // retire: its list no longer holds it
	ReasonListExpired     Reason = "list-expired"      // retire: its list expired
	ReasonImageExpired    Reason = "image-expired"     // retire: its own dc:date:expires passed
	ReasonUnsubscribed    Reason = "unsubscribed"      // retire: its list is no longer subscribed
	ReasonProjectChanged  Reason = "project-changed"   // retire: its list's images now go to another project
	ReasonDuplicate       Reason = "duplicate"         // retire: a newer current image has the same key
	ReasonCloudkeeperOS   Reason = "cloudkeeper-os"    // adopt: cloudkeeper-os made it, same sha512
	ReasonAtrope          Reason = "atrope"            // adopt: atrope made it, same sha512
	ReasonGraceOver       Reason = "grace-over"        // delete: retired longer than --grace ago
	ReasonAbandoned       Reason = "abandoned"         // delete: an upload that never finished (its run was killed)
	ReasonNewMember       Reason = "new-member"        // share: the VO's project is not a member yet
	ReasonMemberPending   Reason = "member-pending"    // share: a member ck can accept for has not accepted
	ReasonStaleMember     Reason = "stale-member"      // unshare: no listed VO maps to the member project

	// ReasonLegacyDiffers was the replace of an old tool's image whose
	// bytes Glance did not prove; such an image is now left alone and
	// reported (NoticeLegacyUnproven). The value stays reserved in format 1.
	ReasonLegacyDiffers Reason = "legacy-differs"
)

// Change is one planned change to one image.
type Change struct {
	Action  Action `json:"action"`
	Reason  Reason `json:"reason"`
	Project string `json:"project"`  // owner project id
	ListID  string `json:"list_id"`  // list dc:identifier
	ImageID string `json:"image_id"` // image dc:identifier
	Title   string `json:"title"`    // image dc:title, for people
	Source  string `json:"source,omitempty"`
	// GlanceImageID is the existing Glance image the change acts on: the
	// image to patch or retire, or the old image a replace retires.
	GlanceImageID string `json:"glance_image_id,omitempty"`
	// Desired is the image to upload (create, replace).
	Desired *Desired `json:"desired,omitempty"`
	// Patch is the exact JSON patch for GlanceImageID (update-metadata,
	// retire; for replace, the patch that retires the old image).
	Patch []PatchOp `json:"patch,omitempty"`
	// Member is the project shared with (share) or unshared (unshare).
	Member string `json:"member,omitempty"`
	Size   int64  `json:"size"`   // bytes of the image concerned
	SHA512 string `json:"sha512"` // lower-case hex; "" for a registry image not yet uploaded
	// Digest is a registry image's layer digest ("sha256:<hex>").
	Digest string `json:"digest,omitempty"`
	// Prove is set on an adopt of an old tool's registry image: its bytes
	// are proven by one download of the layer (its digest verified, its
	// sha512 compared with Glance's os_hash_value of the image), with no
	// upload; when they differ, the listed image is uploaded instead and the
	// old one left alone. Desired says what to download.
	Prove bool `json:"prove,omitempty"`
}

// ListStatus is the outcome of fetching and verifying one list.
type ListStatus string

// The list statuses.
const (
	ListValid   ListStatus = "valid"   // verified and current: fully planned
	ListExpired ListStatus = "expired" // verified but expired: its images retire
	ListFailed  ListStatus = "failed"  // could not fetch, parse or verify: its images are kept
	ListSkipped ListStatus = "skipped" // not processed (e.g. VO unmapped): its images are kept
)

// ListSummary reports what happened to one input list.
type ListSummary struct {
	Source  string     `json:"source"`
	ListID  string     `json:"list_id,omitempty"`
	Title   string     `json:"title,omitempty"`
	Status  ListStatus `json:"status"`
	Project string     `json:"project,omitempty"`
	Reason  string     `json:"reason,omitempty"`
	Expires *time.Time `json:"expires,omitempty"`
	Images  int        `json:"images"` // images of the list that are desired this run
	// Skipped lists the entries of a valid list that could not be read
	// (imagelist.List.Skipped). Their images are kept, not retired: by
	// key when the entry's id was readable; when it was not, no image of
	// the list retires as removed-from-list.
	Skipped []SkippedImage `json:"skipped_images,omitempty"`
	// Filter is the subscription's image filter (ListInput.Images); nil
	// when the list has none.
	Filter *FilterSummary `json:"filter,omitempty"`
}

// FilterSummary reports a list's image filter: only the images it names
// are created or retired by the list.
type FilterSummary struct {
	Entries []string `json:"entries"` // as configured
	// FilteredOut counts the list's images the filter leaves out (0 when
	// the list was not read); ck's images of them are kept (Stats.Filtered).
	FilteredOut int `json:"filtered_out"`
	// Unmatched are the entries that name no image of a valid list: the
	// image left the list (its image in Glance, if any, retires as
	// removed-from-list) or the entry is misspelt.
	Unmatched []string `json:"unmatched,omitempty"`
}

// SkippedImage is an entry of a list the parser left out as malformed.
type SkippedImage struct {
	Index   int    `json:"index"`              // position in hv:images, from 0
	ImageID string `json:"image_id,omitempty"` // its dc:identifier; absent when unreadable
	Field   string `json:"field,omitempty"`    // the offending key
	Reason  string `json:"reason,omitempty"`   // what was wrong
}

// Stats counts what the plan looked at, including what it left alone.
type Stats struct {
	Create  int `json:"create"`
	Replace int `json:"replace"`
	Update  int `json:"update"`
	Retire  int `json:"retire"`
	Adopt   int `json:"adopt"`
	Delete  int `json:"delete"`
	Share   int `json:"share"`
	Unshare int `json:"unshare"`
	// Pending counts image members that have not accepted and that ck
	// cannot accept for (the clouds.yaml user has no role in the project).
	Pending   int `json:"pending"`
	Unchanged int `json:"unchanged"` // desired images already up to date
	Managed   int `json:"managed"`   // observed images that are ck's (spec §5)
	Ignored   int `json:"ignored"`   // observed images that are not ck's: never touched
	// Kept counts ck's images of failed or skipped lists, of unreadable
	// entries, or outside their list's image filter, left as they are.
	Kept int `json:"kept"`
	// Filtered counts ck's current images of a read list that its image
	// filter leaves out (ListInput.Images): neither updated nor retired.
	// They are counted in Kept too.
	Filtered int `json:"filtered"`
	// OutOfScope counts ck's images of lists not given to this run when
	// the run was not given the full subscription set.
	OutOfScope int `json:"out_of_scope"`
	Retired    int `json:"retired"`  // ck's images already retired, left for prune
	Unusable   int `json:"unusable"` // ck's images not active (queued, killed, ...): never current
	// Unproven counts images carrying ck's marks whose bytes Glance does
	// not prove to be the ones ck's record names (NoticeUnproven): never
	// current, never patched, retired or deleted.
	Unproven int `json:"unproven"`
	// Deactivated counts ck's images an operator deactivated
	// (NoticeDeactivated): nothing is planned for their key. They are
	// counted in Unusable too.
	Deactivated int `json:"deactivated"`
}

// NoticeKind says why a Notice's image is left alone.
type NoticeKind string

// The notice kinds.
const (
	// NoticeUnproven: the image carries ck's tag and properties, but Glance
	// does not prove it holds the bytes they name (any member of the
	// project can write them on an image of their own). It may not be ck's:
	// ck neither uses, patches, retires nor deletes it.
	NoticeUnproven NoticeKind = "unproven"
	// NoticeDeactivated: an operator deactivated one of ck's images. ck
	// plans nothing for its key (no upload next to it, no retirement)
	// until it is reactivated or deleted.
	NoticeDeactivated NoticeKind = "deactivated"
	// NoticeLegacyUnproven: cloudkeeper-os or atrope made an image for a
	// listed image, but Glance does not prove it holds the listed bytes,
	// so it is not adopted, nor retired or deleted: the listed image is
	// created next to it.
	NoticeLegacyUnproven NoticeKind = "legacy-unproven"
	// NoticeLegacyLeftover: atrope made the image for a source ck reads
	// (its image_list), but none of the images ck takes from that source
	// this run is the one it was made for (the source no longer publishes
	// it, it expired, or the source's filter leaves it out). atrope would
	// delete it; ck leaves it alone, for the operator to delete.
	NoticeLegacyLeftover NoticeKind = "legacy-leftover"
)

// Notice reports one image the plan leaves alone on purpose.
type Notice struct {
	Kind          NoticeKind `json:"kind"`
	Project       string     `json:"project"` // owner project id
	GlanceImageID string     `json:"glance_image_id"`
	Name          string     `json:"name,omitempty"`   // the image's Glance name
	Status        string     `json:"status,omitempty"` // its Glance status
	ListID        string     `json:"list_id,omitempty"`
	ImageID       string     `json:"image_id,omitempty"`
	// Detail says why, with what Glance holds and what was expected.
	Detail string `json:"detail"`
}
