package site

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"time"

	"github.com/ck-sync/ck/pkg/glance"
	"github.com/ck-sync/ck/pkg/mapping"
	"github.com/ck-sync/ck/pkg/plan"
)

// Config says which cloud, mapping and tag to observe.
type Config struct {
	Cloud       string // clouds.yaml entry; "" = $OS_CLOUD
	MappingFile string
	// MappingFileIsDefault says MappingFile is ck's default path, not one
	// the operator named: only then may it be missing when just guessed
	// VOs would read it (a registry-only site without a mapping file).
	MappingFileIsDefault bool
	// DefaultProject (id or name) receives lists without ad:vo and, when
	// set, lists of unmapped VOs; "" means the clouds.yaml project, for
	// lists without ad:vo only.
	DefaultProject string
	Tag            string // ck's tag: the server-side filter of the listing
	PageSize       int    // Glance list page size; 0 = glance.DefaultPageSize
	UserAgent      string
	// Timeout bounds the wait for each Glance or Keystone answer (not a
	// whole upload): a hung service fails the run instead of holding it.
	Timeout time.Duration
	// Adopt also lists every image each managed project owns, to find the
	// images cloudkeeper-os and atrope made there (plan.IsLegacy).
	Adopt bool
	// ShareMode is "copies" (default: one copy per VO project) or
	// "members" (one copy in the clouds.yaml project, the VO projects its
	// image members).
	ShareMode string
}

// ShareMembers is Config.ShareMode for atrope's single shared copy.
const ShareMembers = "members"

// State is the site as ck found it.
type State struct {
	// Lists are the inputs with Project (and, for a skipped list, Reason)
	// filled in, ready for plan.Build.
	Lists []plan.ListInput
	// Observed holds every image carrying the tag in the managed projects
	// and, with Config.Adopt, the old tools' images there.
	Observed []glance.Image
	// Managed are the project ids ck manages: the mapped and default
	// projects that were resolved, sorted.
	Managed []string
	// ProjectNames maps project ids to names, for people.
	ProjectNames map[string]string
	// Problems are mapping entries that could not be resolved: their VOs
	// were left alone (their lists failed), the rest was observed.
	Problems []string
	// Conns holds a Glance connection scoped to each managed project, for
	// the commands that go on to change Glance.
	Conns map[string]*glance.Service
	// CanAccept holds the projects the clouds.yaml user has a role on:
	// where ck can accept an image membership itself.
	CanAccept map[string]bool
	// SealKey keys ck's seals (plan.Seal), from the clouds.yaml cloud's own
	// secret (glance.Service.SealKey); nil without one.
	SealKey []byte
}

// ConfigError is a problem with the operator's configuration (the mapping
// file, --default-project) rather than with the cloud: Flag names what to
// fix.
type ConfigError struct {
	Flag string // e.g. "--mapping-file"
	Err  error
}

func (e *ConfigError) Error() string { return e.Flag + ": " + e.Err.Error() }

func (e *ConfigError) Unwrap() error { return e.Err }

// Observe resolves every list's project and lists ck's images in each
// managed project: one paginated ListImages per project (tag and owner
// filters; with cfg.Adopt, owner only, see listProject); no per-image
// request. Lists that failed or were skipped are
// passed through untouched. mapping.json is read only when some list
// names a VO, so a site whose lists carry none needs no mapping file.
func Observe(ctx context.Context, cfg Config, lists []plan.ListInput) (*State, error) {
	base, err := glance.Connect(ctx, glance.Config{Cloud: cfg.Cloud, PageSize: cfg.PageSize, UserAgent: cfg.UserAgent, Timeout: cfg.Timeout})
	if err != nil {
		return nil, err
	}
	projects, err := base.Projects(ctx)
	if err != nil {
		return nil, fmt.Errorf("cloud %q: %w", cloudName(cfg.Cloud), err)
	}
	r := &resolver{cfg: cfg, base: base, projects: projects, conns: map[string]*glance.Service{}, names: map[string]string{}}
	if id := base.ProjectID(); id != "" {
		r.conns[id] = base
	}
	for _, p := range projects {
		r.names[p.ID] = p.Name
	}

	var m mapping.Mapping
	if slices.ContainsFunc(lists, func(in plan.ListInput) bool { return planned(in) && in.List.VO != "" }) {
		// A registry source's guessed VO does not need the file: without
		// one, its images go to the default project. A file the operator
		// named is needed all the same: its absence is a mistake.
		guessesOnly := cfg.MappingFileIsDefault && !slices.ContainsFunc(lists, func(in plan.ListInput) bool { return planned(in) && in.List.VO != "" && !in.VOGuess })
		if m, err = readMapping(cfg.MappingFile); err != nil && !(guessesOnly && errors.Is(err, fs.ErrNotExist)) {
			return nil, &ConfigError{Flag: "--mapping-file", Err: err}
		}
	}
	// Every entry is resolved, not only those of this run's lists: the
	// images of a VO whose list was unsubscribed are ck's too.
	// An entry that cannot be resolved (project deleted, role lost) stops
	// only its own VO: its lists fail (nothing of theirs is touched) and the
	// rest of the site syncs.
	byVO := map[string]string{}
	unresolved := map[string]string{}
	var problems []string
	for _, e := range m.Entries() {
		id, err := r.entry(ctx, e)
		if err != nil {
			if ctx.Err() != nil {
				return nil, err
			}
			msg := fmt.Sprintf("mapping file %s: VO %q: %v", cfg.MappingFile, e.VO, err)
			unresolved[e.VO] = msg
			problems = append(problems, msg)
			continue
		}
		byVO[e.VO] = id
	}

	st := &State{Lists: slices.Clone(lists), ProjectNames: r.names, CanAccept: map[string]bool{}, Problems: problems}
	for _, p := range projects {
		st.CanAccept[p.ID] = true
	}
	members := cfg.ShareMode == ShareMembers
	home := base.ProjectID()
	if members && home == "" {
		return nil, &ConfigError{Flag: "--share-mode", Err: fmt.Errorf("members: cloud %q has no project scope to hold the shared copies", cloudName(cfg.Cloud))}
	}
	managed := map[string]bool{}
	for _, id := range byVO {
		// In member mode a VO project the user has no role on cannot be
		// listed; it only becomes an image member (left pending).
		if !members || st.CanAccept[id] || r.conns[id] != nil {
			managed[id] = true
		}
	}
	if members {
		managed[home] = true
	}
	for i, in := range st.Lists {
		if !planned(in) {
			continue
		}
		if _, mapped := m.Lookup(in.List.VO); in.VOGuess && !mapped {
			l := *in.List
			l.VO, st.Lists[i].List, in.List = "", &l, &l
		}
		route := RouteList(in.List.VO, m, cfg.DefaultProject != "")
		switch {
		case route.Entry != nil && unresolved[route.Entry.VO] != "":
			st.Lists[i].Status = plan.ListFailed
			st.Lists[i].Reason = unresolved[route.Entry.VO]
		case members && route.Skip != "":
			// The VO left the mapping: nothing is created for its list, but
			// its shared copies lose their members (the VO's access).
			st.Lists[i].Status = plan.ListSkipped
			st.Lists[i].Reason = route.Skip + "; --share-mode members: its images stay in the shared project and lose their members"
			st.Lists[i].Project = home
			st.Lists[i].DropMembers = true
		case route.Entry != nil && members:
			st.Lists[i].Project = home
			if vo := byVO[route.Entry.VO]; vo != home {
				st.Lists[i].Members = []string{vo}
			}
		case route.Entry != nil:
			st.Lists[i].Project = byVO[route.Entry.VO]
		case route.Default:
			id, err := r.defaultProject(ctx)
			if err != nil {
				return nil, err
			}
			st.Lists[i].Project = id
			managed[id] = true
		default:
			st.Lists[i].Reason = route.Skip
		}
	}
	if members {
		st.Lists = mergeMembers(st.Lists)
	}

	for id := range managed {
		st.Managed = append(st.Managed, id)
	}
	slices.Sort(st.Managed)
	for _, id := range st.Managed {
		svc, err := r.conn(ctx, id)
		if err != nil {
			return nil, err
		}
		imgs, legacy, err := listProject(ctx, svc, id, cfg.Tag, cfg.Adopt)
		if err != nil {
			return nil, fmt.Errorf("project %s: %w", r.label(id), err)
		}
		if members && id == home {
			if err := observeMembers(ctx, svc, imgs); err != nil {
				return nil, fmt.Errorf("project %s: %w", r.label(id), err)
			}
		}
		st.Observed = append(st.Observed, imgs...)
		st.Observed = append(st.Observed, legacy...)
	}
	st.Conns = r.conns
	st.SealKey = base.SealKey()
	return st, nil
}

// mergeMembers makes one input of the inputs of --share-mode members that
// one source gave for several VOs (its vos) and that routing sent to the
// same project: one shared copy whose members are all those VOs' projects.
// The planner keeps only the first input of a list in a project, so
// without this every VO but the first would lose its membership. The
// merged input is the first one, at its place, with the sorted union of
// the members. Inputs that were not read, failed in routing, or lose their
// members (DropMembers) are left as they are.
func mergeMembers(lists []plan.ListInput) []plan.ListInput {
	type key struct {
		source, project string
		status          plan.ListStatus
	}
	first := map[key]int{} // index in out
	out := make([]plan.ListInput, 0, len(lists))
	for _, in := range lists {
		if !planned(in) || in.Project == "" || in.DropMembers {
			out = append(out, in)
			continue
		}
		k := key{in.Source, in.Project, in.Status}
		i, seen := first[k]
		if !seen {
			first[k] = len(out)
			out = append(out, in)
			continue
		}
		union := slices.Concat(out[i].Members, in.Members)
		slices.Sort(union)
		out[i].Members = slices.Compact(union)
	}
	return out
}

// observeMembers reads the members of ck's current shared images: one
// call per such image, since Glance has no listing of members across
// images. Retired and private images are not looked at.
func observeMembers(ctx context.Context, svc *glance.Service, imgs []glance.Image) error {
	for i := range imgs {
		img := &imgs[i]
		if img.Visibility != "shared" || img.Properties[plan.PropRetired] != "" || img.Properties[plan.PropListID] == "" {
			continue
		}
		ms, err := svc.ListMembers(ctx, img.ID)
		if err != nil {
			return err
		}
		img.Members = ms
		if img.Members == nil {
			img.Members = []glance.Member{}
		}
	}
	return nil
}

// listProject lists ck's images in project: one paginated ListImages
// filtered by tag and owner. With adopt, the images an old tool made must be
// found too, and Glance cannot filter on a property being present: then one
// listing by owner only serves both, split here into the tagged images and
// the old tools' untagged ones.
func listProject(ctx context.Context, svc *glance.Service, project, tag string, adopt bool) (tagged, legacy []glance.Image, err error) {
	if !adopt {
		tagged, err = svc.ListImages(ctx, glance.ListFilter{Tag: tag, Owner: project})
		return tagged, nil, err
	}
	all, err := svc.ListImages(ctx, glance.ListFilter{Owner: project})
	if err != nil {
		return nil, nil, fmt.Errorf("looking for ck's, cloudkeeper-os's and atrope's images: %w", err)
	}
	for _, img := range all {
		switch {
		case slices.Contains(img.Tags, tag):
			tagged = append(tagged, img)
		case plan.IsLegacy(img):
			legacy = append(legacy, img)
		}
	}
	return tagged, legacy, nil
}

// planned reports whether a list was read, so its images need a project.
func planned(in plan.ListInput) bool {
	return in.List != nil && (in.Status == plan.ListValid || in.Status == plan.ListExpired)
}

func readMapping(path string) (mapping.Mapping, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("mapping file: %w", err)
	}
	m, err := mapping.ParseFile(path, data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

func cloudName(c string) string {
	if c == "" {
		return os.Getenv("OS_CLOUD")
	}
	return c
}

// resolver turns mapping entries and --default-project into project ids,
// keeping one connection per project.
type resolver struct {
	cfg      Config
	base     *glance.Service
	projects []glance.Project // the base user's projects
	conns    map[string]*glance.Service
	names    map[string]string
	defID    string
}

// entry resolves one mapping entry (spec §6): a "cloud" entry uses that
// cloud's own scope (application credentials cannot be re-scoped); a
// name + domain is scoped by name, which also checks the role; otherwise
// the project is an id of the user's projects or a name in Default.
func (r *resolver) entry(ctx context.Context, e mapping.Entry) (string, error) {
	switch {
	case e.Cloud != "":
		svc, err := glance.Connect(ctx, glance.Config{Cloud: e.Cloud, PageSize: r.cfg.PageSize, UserAgent: r.cfg.UserAgent, Timeout: r.cfg.Timeout})
		if err != nil {
			return "", err
		}
		id := svc.ProjectID()
		if id != e.Project {
			ps, err := svc.Projects(ctx)
			if err != nil {
				return "", fmt.Errorf("cloud %q: %w", e.Cloud, err)
			}
			if !slices.ContainsFunc(ps, func(p glance.Project) bool { return p.ID == id && p.Name == e.Project }) {
				return "", fmt.Errorf("cloud %q is scoped to project %s, not to %q", e.Cloud, id, e.Project)
			}
		}
		r.conns[id] = svc
		if e.Project != id {
			r.names[id] = e.Project
		}
		return id, nil
	case e.ByName():
		return r.byName(ctx, e.Project, e.Domain)
	}
	if slices.ContainsFunc(r.projects, func(p glance.Project) bool { return p.ID == e.Project }) {
		return e.Project, nil
	}
	if r.cfg.ShareMode == ShareMembers {
		return r.memberProject(ctx, e.Project)
	}
	id, err := r.byName(ctx, e.Project, "Default")
	if err != nil {
		return "", fmt.Errorf("project %q is neither the id of a project the user has a role on nor a project name in domain Default: %w", e.Project, err)
	}
	return id, nil
}

// memberProject checks a --share-mode members project id on which the
// clouds.yaml user has no role: it needs none to be an image member, but it
// must exist. A mistyped id would otherwise be shared with nobody while the
// VO's real project, no longer mapped, lost its membership. Keystone tells
// only a user allowed to read the project (e.g. an admin); for any other,
// ck cannot tell a typo from a project it has no role in, and fails closed.
func (r *resolver) memberProject(ctx context.Context, id string) (string, error) {
	p, err := r.base.Project(ctx, id)
	switch {
	case err == nil:
		if p.Name != "" {
			r.names[p.ID] = p.Name
		}
		return p.ID, nil
	case errors.Is(err, glance.ErrNotFound):
		return "", fmt.Errorf("project %q: Keystone knows no project with that id (nothing is shared or unshared for this VO)", id)
	case errors.Is(err, glance.ErrForbidden):
		return "", fmt.Errorf("project %q is not one of the clouds.yaml user's projects, and Keystone does not let the user look it up, so ck cannot tell it from a mistyped id (nothing is shared or unshared for this VO): give the user a role in it, name a cloud scoped to it (\"cloud\"), or run ck as a user that may read projects", id)
	}
	return "", fmt.Errorf("project %q: %w", id, err)
}

// byName scopes a token to the named project and keeps the connection.
func (r *resolver) byName(ctx context.Context, name, domain string) (string, error) {
	svc, err := glance.Connect(ctx, glance.Config{
		Cloud: r.cfg.Cloud, ProjectName: name, ProjectDomainName: domain,
		PageSize: r.cfg.PageSize, UserAgent: r.cfg.UserAgent, Timeout: r.cfg.Timeout,
	})
	if err != nil {
		return "", fmt.Errorf("project %q in domain %q: %w", name, domain, err)
	}
	id := svc.ProjectID()
	r.conns[id] = svc
	r.names[id] = name
	return id, nil
}

// defaultProject is --default-project as an id, or the clouds.yaml project.
func (r *resolver) defaultProject(ctx context.Context) (string, error) {
	if r.defID != "" {
		return r.defID, nil
	}
	want := r.cfg.DefaultProject
	if want == "" {
		r.defID = r.base.ProjectID()
		if r.defID == "" {
			return "", &ConfigError{Flag: "--default-project", Err: fmt.Errorf("cloud %q has no project scope; name the project for lists without ad:vo", cloudName(r.cfg.Cloud))}
		}
		return r.defID, nil
	}
	id, err := PickProject(r.projects, want)
	if err != nil {
		return "", &ConfigError{Flag: "--default-project", Err: err}
	}
	r.defID = id
	return id, nil
}

// PickProject finds want among projects by id, else by name; a name found
// in several domains is ambiguous and must be given as an id.
func PickProject(projects []glance.Project, want string) (string, error) {
	var byName []string
	for _, p := range projects {
		if p.ID == want {
			return p.ID, nil
		}
		if p.Name == want {
			byName = append(byName, p.ID)
		}
	}
	switch len(byName) {
	case 1:
		return byName[0], nil
	case 0:
		return "", fmt.Errorf("project %q: no project with that id or name among the user's projects", want)
	}
	slices.Sort(byName)
	return "", fmt.Errorf("project %q: the name is ambiguous (ids %v); give the id", want, byName)
}

// conn returns a connection scoped to project id, re-scoping the
// clouds.yaml user's token on first use.
func (r *resolver) conn(ctx context.Context, id string) (*glance.Service, error) {
	if svc := r.conns[id]; svc != nil {
		return svc, nil
	}
	svc, err := glance.Connect(ctx, glance.Config{Cloud: r.cfg.Cloud, ProjectID: id, PageSize: r.cfg.PageSize, UserAgent: r.cfg.UserAgent, Timeout: r.cfg.Timeout})
	if err != nil {
		return nil, fmt.Errorf("project %s: %w", r.label(id), err)
	}
	r.conns[id] = svc
	return svc, nil
}

func (r *resolver) label(id string) string {
	if n := r.names[id]; n != "" {
		return fmt.Sprintf("%s (%s)", n, id)
	}
	return id
}
