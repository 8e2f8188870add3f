package registry

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"sync"

	"github.com/ck-sync/ck/pkg/ociref"
	"golang.org/x/sync/errgroup"
	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/errcode"
)

// DefaultTagPattern keeps the moving <os_version> tags EGI pushes next to
// each dated build (24.04, not 24.04-2025-10-07-fc45d0d3), as EGI's
// central sync does.
const DefaultTagPattern = `^[^-]*$`

// Limits that keep a misbehaving registry from holding a run.
const (
	maxManifestBytes = 4 << 20
	maxTagPages      = 1000
	defaultParallel  = 4
)

// Options say how to read one source.
type Options struct {
	// HTTP makes every request (TLS verified, extra CAs, timeouts); its
	// Authorization headers are added by oras-go's auth client, which
	// answers a registry's Basic or Bearer challenge and never forwards
	// them to another origin.
	HTTP       *http.Client
	Credential Credential
	UserAgent  string
	// TagPattern selects the tags of a repository or project subscription
	// (RE2); nil means DefaultTagPattern.
	TagPattern *regexp.Regexp
	// HarborAPI is the base of Harbor's REST API for harbor:// sources; ""
	// means HarborAPI(ref.Host).
	HarborAPI string
	Parallel  int // manifests read at once; 0 means 4
	PageSize  int // tags per page asked of the registry; 0 lets it choose
}

// Listing is what one source holds.
type Listing struct {
	Ref       ociref.Ref
	Artifacts []Artifact // the images, by repository then tag
	Skipped   []Skip     // artifacts that break spec §11's rules, by repository then tag
	// Unselected counts the tags the tag pattern left out; Referrers the
	// referrers-tag-schema tags (of SBOMs and signatures) ignored.
	Unselected, Referrers int
}

// Skip is a tagged artifact that is not an image ck may use, and why.
type Skip struct {
	Repository     string
	Tag            string
	ManifestDigest string
	Reason         string
}

// Read enumerates ref completely and classifies every selected artifact.
// Any failure while enumerating (a page, a repository, a manifest, auth
// refused, the registry down) fails the whole read: a partial listing
// must never look like removed images.
func Read(ctx context.Context, ref ociref.Ref, opts Options) (*Listing, error) {
	if opts.HTTP == nil {
		opts.HTTP = http.DefaultClient
	}
	pattern := opts.TagPattern
	if pattern == nil {
		pattern = regexp.MustCompile(DefaultTagPattern)
	}
	client := newAuthClient(opts.HTTP, opts.Credential)
	if opts.UserAgent != "" {
		client.SetUserAgent(opts.UserAgent)
	}
	r := &reader{ref: ref, opts: opts, client: client, pattern: pattern, out: &Listing{Ref: ref}}

	repos := []string{ref.Repository}
	if ref.Kind == ociref.KindProject {
		api := cmp.Or(opts.HarborAPI, HarborAPI(ref.Host))
		var err error
		if repos, err = harborRepositories(ctx, opts.HTTP, api, ref.Project, opts.Credential, opts.UserAgent); err != nil {
			return nil, err
		}
	}
	if err := r.readAll(ctx, repos); err != nil {
		return nil, err
	}
	l := r.out
	slices.SortFunc(l.Artifacts, func(a, b Artifact) int {
		return cmp.Or(cmp.Compare(a.Repository, b.Repository), cmp.Compare(a.Tag, b.Tag))
	})
	slices.SortFunc(l.Skipped, func(a, b Skip) int {
		return cmp.Or(cmp.Compare(a.Repository, b.Repository), cmp.Compare(a.Tag, b.Tag))
	})
	return l, nil
}

// readAll lists the tags of every repository and reads the selected
// manifests, each step bounded by opts.Parallel. The first failure cancels
// the rest, and readAll returns only once every goroutine it started has
// returned, with that first failure (not the cancellations it caused).
func (r *reader) readAll(ctx context.Context, names []string) error {
	repos := make([]*remote.Repository, len(names))
	for i, name := range names {
		repo, err := r.repository(name)
		if err != nil {
			return err
		}
		repos[i] = repo
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		once  sync.Once
		first error
	)
	fail := func(err error) error {
		once.Do(func() { first = err; cancel() })
		return err
	}
	// Two groups: a tag lister waiting for a manifest slot must not hold
	// the slot a manifest reader needs.
	n := cmp.Or(r.opts.Parallel, defaultParallel)
	var tags, manifests errgroup.Group
	tags.SetLimit(n)
	manifests.SetLimit(n)
	for i, repo := range repos {
		tags.Go(func() error {
			refs, err := r.selected(ctx, repo)
			if err != nil {
				return fail(err)
			}
			for _, tagOrDigest := range refs {
				if ctx.Err() != nil {
					return nil
				}
				manifests.Go(func() error {
					if err := r.manifest(ctx, repo, names[i], tagOrDigest); err != nil {
						return fail(err)
					}
					return nil
				})
			}
			return nil
		})
	}
	_ = tags.Wait() // every manifests.Go call has been made
	_ = manifests.Wait()
	if first == nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return first
}

// reader holds what one Read shares between its goroutines.
type reader struct {
	ref     ociref.Ref
	opts    Options
	client  *auth.Client
	pattern *regexp.Regexp

	mu  sync.Mutex
	out *Listing
}

func (r *reader) repository(name string) (*remote.Repository, error) {
	ref := registry.Reference{Registry: r.ref.Host, Repository: name}
	if err := ref.Validate(); err != nil {
		return nil, fmt.Errorf("repository %s: %v", name, err)
	}
	return &remote.Repository{
		Client:           r.client,
		Reference:        ref,
		TagListPageSize:  r.opts.PageSize,
		TagListMaxPages:  maxTagPages,
		MaxMetadataBytes: maxManifestBytes,
	}, nil
}

// selected returns the tags (or the digest) of repo this source reads.
func (r *reader) selected(ctx context.Context, repo *remote.Repository) ([]string, error) {
	switch r.ref.Kind {
	case ociref.KindTag:
		return []string{r.ref.Tag}, nil
	case ociref.KindDigest:
		return []string{r.ref.Digest}, nil
	}
	var out []string
	err := repo.Tags(ctx, "", func(tags []string) error {
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, t := range tags {
			switch {
			case IsReferrerTag(t):
				r.out.Referrers++
			case r.pattern.MatchString(t):
				out = append(out, t)
			default:
				r.out.Unselected++
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("repository %s: list tags: %w", repo.Reference.Repository, problem(err))
	}
	slices.Sort(out)
	return out, nil
}

// manifest reads one manifest, checks that its bytes are what the
// registry says (and what a digest subscription asked for), and files the
// artifact as an image, a referrer or a skip.
func (r *reader) manifest(ctx context.Context, repo *remote.Repository, name, tagOrDigest string) error {
	where := name + ":" + tagOrDigest
	tag := tagOrDigest
	if r.ref.Kind == ociref.KindDigest {
		where, tag = name+"@"+tagOrDigest, ""
	}
	desc, rc, err := repo.Manifests().FetchReference(ctx, tagOrDigest)
	if err != nil {
		return fmt.Errorf("manifest %s: %w", where, problem(err))
	}
	body, err := io.ReadAll(io.LimitReader(rc, maxManifestBytes+1))
	rc.Close()
	if err != nil {
		return fmt.Errorf("manifest %s: %w", where, problem(err))
	}
	if len(body) > maxManifestBytes {
		return fmt.Errorf("manifest %s: larger than %d bytes", where, maxManifestBytes)
	}
	sum := sha256.Sum256(body)
	got := "sha256:" + hex.EncodeToString(sum[:])
	if want := desc.Digest.String(); want != got {
		return fmt.Errorf("manifest %s: digest mismatch: the registry says %s, its bytes hash to %s", where, want, got)
	}
	a, class, why := Classify(desc.MediaType, body)
	r.mu.Lock()
	defer r.mu.Unlock()
	switch class {
	case IsReferrer, IsRejected:
		// Only referrers-tag-schema tags are referrers to count and
		// forget; those are never read. A selected tag (or the subscribed
		// tag or digest) on an SBOM or signature is a skip, so that the
		// image the tag held before is kept, not retired as removed.
		r.out.Skipped = append(r.out.Skipped, Skip{Repository: name, Tag: tag, ManifestDigest: got, Reason: why})
	default:
		a.Repository, a.Tag, a.ManifestDigest = name, tag, got
		r.out.Artifacts = append(r.out.Artifacts, a)
	}
	return nil
}

// problem turns a registry error into what an operator needs: the status
// and the registry's own error codes, without request details that could
// carry a token.
func problem(err error) error {
	var er *errcode.ErrorResponse
	if errors.As(err, &er) {
		msg := statusProblem(er.StatusCode)
		if len(er.Errors) > 0 {
			msg += ": " + er.Errors.Error()
		}
		return errors.New(msg)
	}
	if errors.Is(err, auth.ErrBasicCredentialNotFound) {
		return errors.New("HTTP 401: the registry asks for credentials and the source has none (set username and password_file, or docker_config, in its lists: entry)")
	}
	if errors.Is(err, errdef.ErrNotFound) {
		return errors.New("not found (HTTP 404)")
	}
	return err
}
