package plan

import "github.com/ck-sync/ck/pkg/imagelist"

// ListInput is one subscribed list as the fetch/verify stages left it.
type ListInput struct {
	// Source is the list URL with credentials removed; it is written into
	// ck_list_url and shown to people, so it must never carry a token.
	Source string
	Status ListStatus
	// List is the parsed list; nil when the list failed or was skipped
	// before it could be parsed. Required for ListValid.
	List *imagelist.List
	// ListID is the list's dc:identifier when it is known without List
	// (e.g. from the configuration or a previous parse); may be "".
	ListID string
	// Project is the resolved owner project id for the list's images;
	// "" means the VO is unmapped and the list is skipped.
	Project string
	// Reason says why the list failed or was skipped, for the report.
	Reason string
	// Digest is the sha256 (hex) of the list's bytes as fetched, used to
	// tell whether a saved plan is stale; may be "".
	Digest string
	// NamePrefix is put before this list's image names, after
	// Policy.NamePrefix (a source's own prefix, as atrope has).
	NamePrefix string
	// Visibility, when set, is this list's images' visibility instead of
	// Policy.Visibility.
	Visibility string
	// VOGuess marks a VO that is a guess, not the list's word: a registry
	// source without a vos setting takes its registry project's name as
	// its VO. When the mapping file has no such VO, its images go to the
	// default project instead of being skipped.
	VOGuess bool
	// Members are the projects the list's images are shared with as image
	// members (--share-mode members: one copy in Project, the VO's project
	// a member); empty in the default per-project copies mode.
	Members []string
	// DropMembers marks a list of --share-mode members whose VO is no
	// longer mapped (Status ListSkipped, Project the shared copies'
	// project): its images are kept where they are, but every member is
	// removed from them, so the VO that left loses its access.
	DropMembers bool
	// Images is the subscription's image filter (the images: of its
	// lists: entry; see pkg/imagefilter for what an entry names): only the
	// list's images it names are desired. The list's other images are
	// neither created nor retired by it: ck's images of them are kept,
	// whatever the list says of them. An image the filter names that the
	// list no longer holds is removed from the list, as without a filter.
	// Empty means every image of the list.
	Images []string
	// AtropeName is the source's name in atrope's sources.yaml, which
	// atrope wrote on its images as image_list; "" for other lists. An
	// atrope image of a source read this run that none of the source's
	// images claims is one atrope would now delete: it is reported
	// (NoticeLegacyLeftover), never adopted, retired or deleted.
	AtropeName string
}

// policy is p with the list's own name prefix (after p's) and visibility.
func (in ListInput) policy(p Policy) Policy {
	p.NamePrefix += in.NamePrefix
	if in.Visibility != "" {
		p.Visibility = in.Visibility
	}
	return p
}

// vo returns the list's VO, "" when it was not parsed.
func (in ListInput) vo() string {
	if in.List == nil {
		return ""
	}
	return in.List.VO
}

// id returns the list's dc:identifier, from the parsed list if there is one.
func (in ListInput) id() string {
	if in.List != nil && in.List.ID != "" {
		return in.List.ID
	}
	return in.ListID
}

// Policy holds the settings that shape a plan.
type Policy struct {
	Tag        string // ck's Glance tag; "" means DefaultTag
	NamePrefix string // prepended to dc:title to make the image name
	Visibility string // visibility of new images; "" means DefaultVisibility
	// ManagedProjects lists the owner projects whose images may be ck's
	// (spec §5). Every ListInput.Project is managed too, so callers need
	// only add projects that no list maps to (e.g. a removed VO's).
	ManagedProjects []string
	// MaxRetire caps the number of retirements: > 0 is an absolute limit,
	// < 0 means no limit, 0 means use MaxRetirePercent.
	MaxRetire int
	// MaxRetirePercent is the limit as a percentage of ck's current
	// (non-retired) images, used when MaxRetire is 0; 0 means
	// DefaultMaxRetirePercent. See DefaultLimit.
	MaxRetirePercent float64
	// FullSet is true when the run was given every subscribed list (no LIST
	// arguments). Only then are ck's images of lists that are not in the
	// input retired as unsubscribed; otherwise they are out of scope.
	FullSet bool
	// Adopt lets a listed image that ck does not have be taken over from
	// cloudkeeper-os or atrope (spec §7): adopted in place when the old
	// image holds the listed bytes, else replaced and retired.
	Adopt bool
	// SealKey checks and makes ck's seals (Seal): nil when ck has no
	// secret to key them with, and then images whose bytes only a seal can
	// prove are proven by a download every run.
	SealKey []byte
	// CanAccept holds the projects where ck can accept an image membership
	// (the clouds.yaml user has a role there); a pending member elsewhere
	// is only counted (Stats.Pending).
	CanAccept map[string]bool
}

// Defaults applied by Build to a zero Policy field.
const (
	DefaultTag              = "ck"
	DefaultVisibility       = "private"
	DefaultMaxRetirePercent = 25.0
)

// withDefaults fills unset fields so that the rest of the package need not.
func (p Policy) withDefaults() Policy {
	if p.Tag == "" {
		p.Tag = DefaultTag
	}
	if p.Visibility == "" {
		p.Visibility = DefaultVisibility
	}
	if p.MaxRetirePercent == 0 {
		p.MaxRetirePercent = DefaultMaxRetirePercent
	}
	return p
}
