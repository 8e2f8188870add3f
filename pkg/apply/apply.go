// Package apply executes a plan against Glance: it streams each image from
// its list's URL through the verifying reader into Glance, patches metadata,
// and retires images, reporting one outcome per change. A failure in one
// change never stops the others; a failed or interrupted transfer leaves no
// half-made image behind.
package apply

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"maps"
	"strings"
	"sync"
	"time"

	"github.com/ck-sync/ck/pkg/glance"
	"github.com/ck-sync/ck/pkg/plan"
	"github.com/ck-sync/ck/pkg/progress"
	"github.com/ck-sync/ck/pkg/transfer"
)

// Glance is what apply needs of one project's Glance.
type Glance interface {
	CreateImage(ctx context.Context, spec glance.CreateSpec) (glance.Image, error)
	Upload(ctx context.Context, id string, body io.Reader) error
	GetImage(ctx context.Context, id string) (glance.Image, error)
	UpdateImage(ctx context.Context, id string, ops []glance.Patch) (glance.Image, error)
	DeleteImage(ctx context.Context, id string) error
}

// Importer is the interoperable-import part of Glance, needed by the
// glance-direct and web-download methods.
type Importer interface {
	Stage(ctx context.Context, id string, body io.Reader) error
	Import(ctx context.Context, id, method, uri string) error
	WaitActive(ctx context.Context, id string) (glance.Image, error)
}

// Method is how image bytes reach Glance (spec §8).
type Method string

// The upload methods.
const (
	MethodUpload       Method = "upload"        // PUT /file, streamed from the image server
	MethodGlanceDirect Method = "glance-direct" // stage, then import
	MethodWebDownload  Method = "web-download"  // Glance fetches the URL itself
)

// ParseMethod checks an --upload-method value.
func ParseMethod(s string) (Method, error) {
	switch m := Method(s); m {
	case MethodUpload, MethodGlanceDirect, MethodWebDownload:
		return m, nil
	}
	return "", fmt.Errorf("must be upload, glance-direct or web-download, not %q", s)
}

// Options are what Apply needs besides the plan.
type Options struct {
	// Glance returns the client for a project id.
	Glance func(project string) (Glance, error)
	// Open starts an image download (transfer.Open in production).
	Open     func(ctx context.Context, src transfer.Source) (io.ReadCloser, error)
	Method   Method
	Parallel int // transfers at once; at least 1
	Progress progress.Reporter
	// ProjectNames labels progress with project names instead of ids.
	ProjectNames map[string]string
	Logger       *slog.Logger
	Now          func() time.Time
	// SealKey keys ck's seal of the images whose bytes it verified
	// (plan.Seal, plan.Policy.SealKey); nil seals nothing.
	SealKey []byte
	// CleanupTimeout bounds the deletion of a half-made image after a
	// failure, even when the run itself was interrupted.
	CleanupTimeout time.Duration
	// ConvertTo is the disk format (raw or qcow2) qemu-img converts other
	// disks to before upload; "" uploads disks as they are (spec §8).
	ConvertTo string
	// ConvertToByList overrides ConvertTo for the images of a list, keyed
	// by the list's source (credentials removed, as plan.Change.Source):
	// raw, qcow2, or none to upload them as they are.
	ConvertToByList map[string]string
	// WorkDir holds conversion's temporary files; "" means $TMPDIR.
	WorkDir string
	// QemuImg is the qemu-img program; "" means qemu-img from $PATH.
	QemuImg string
	// MaxExpanded bounds what a compressed image may expand to, in bytes;
	// 0 means transfer.ExpandLimit of its compressed size.
	MaxExpanded int64
}

// Status is the outcome of one change.
type Status string

// The outcomes.
const (
	Done    Status = "done"
	Failed  Status = "failed"
	Skipped Status = "skipped" // not attempted: the run was interrupted first
)

// Outcome is what happened to one change.
type Outcome struct {
	Change   plan.Change
	Status   Status
	NewImage string // Glance id of the image created (create, replace)
	Bytes    int64  // bytes transferred
	Duration time.Duration
	Err      error
}

// Result is the outcome of every change, in plan order.
type Result struct {
	Outcomes []Outcome
}

// Failed counts the changes that failed or were not attempted.
func (r Result) Failed() int {
	n := 0
	for _, o := range r.Outcomes {
		if o.Status != Done {
			n++
		}
	}
	return n
}

// Bytes is the total number of image bytes transferred.
func (r Result) Bytes() int64 {
	var n int64
	for _, o := range r.Outcomes {
		n += o.Bytes
	}
	return n
}

// ErrBlocked is returned for a plan that its guard blocked.
var ErrBlocked = errors.New("the plan is blocked by its retire guard; nothing applied")

// Apply executes every change of p. Metadata updates and retirements go
// first (they are quick and need no transfer), then the transfers (and
// proofs by download) run,
// opts.Parallel at once. Each change gets an Outcome; the error is only for
// a plan that must not be applied at all.
func Apply(ctx context.Context, p *plan.Plan, opts Options) (Result, error) {
	if p.Blocked != nil {
		return Result{}, fmt.Errorf("%w: %v", ErrBlocked, p.Blocked)
	}
	opts = opts.withDefaults()
	res := Result{Outcomes: make([]Outcome, len(p.Changes))}
	var transfers []int
	for i, c := range p.Changes {
		if c.Action == plan.ActionCreate || c.Action == plan.ActionReplace || c.Prove {
			// A proof downloads the source (and may upload it): a transfer.
			transfers = append(transfers, i)
			continue
		}
		res.Outcomes[i] = opts.run(ctx, c)
	}
	sem := make(chan struct{}, opts.Parallel)
	var wg sync.WaitGroup
	for _, i := range transfers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
				res.Outcomes[i] = opts.run(ctx, p.Changes[i])
			case <-ctx.Done():
				res.Outcomes[i] = Outcome{Change: p.Changes[i], Status: Skipped, Err: ctx.Err()}
			}
		}()
	}
	wg.Wait()
	return res, nil
}

func (o Options) withDefaults() Options {
	if o.Parallel < 1 {
		o.Parallel = 1
	}
	if o.Method == "" {
		o.Method = MethodUpload
	}
	if o.Progress == nil {
		o.Progress = progress.Nop()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.CleanupTimeout <= 0 {
		o.CleanupTimeout = 30 * time.Second
	}
	return o
}

// run executes one change and logs its outcome in one line.
func (o Options) run(ctx context.Context, c plan.Change) Outcome {
	start := o.Now()
	out := Outcome{Change: c}
	if err := ctx.Err(); err != nil {
		out.Status, out.Err = Skipped, err
		return out
	}
	g, err := o.Glance(c.Project)
	if err == nil {
		switch c.Action {
		case plan.ActionCreate, plan.ActionReplace:
			out.NewImage, out.Bytes, err = o.transfer(ctx, g, c)
			if err != nil && ctx.Err() == nil && restartable(err) {
				// The half-made image is already gone; one fresh start
				// cures a server that cannot resume or a token that
				// expired mid-upload.
				o.Logger.Warn("transfer failed; starting the image again from the first byte",
					"list", c.ListID, "image", c.ImageID, "error", err)
				var n int64
				out.NewImage, n, err = o.transfer(ctx, g, c)
				out.Bytes += n
			}
			if err == nil {
				err = o.shareNew(ctx, g, c, out.NewImage)
			}
			if err == nil && c.Action == plan.ActionReplace {
				// The new image is active: only now retire the old one, so
				// users never see a window without the image.
				if _, perr := g.UpdateImage(ctx, c.GlanceImageID, o.patch(c.Patch)); perr != nil {
					err = fmt.Errorf("retire replaced image %s: %w", c.GlanceImageID, perr)
				}
			}
		case plan.ActionAdopt:
			if c.Prove {
				out.NewImage, out.Bytes, err = o.prove(ctx, g, c)
				break
			}
			_, err = g.UpdateImage(ctx, c.GlanceImageID, o.patch(c.Patch))
		case plan.ActionUpdateMetadata:
			if c.Prove {
				out.NewImage, out.Bytes, err = o.prove(ctx, g, c)
				break
			}
			_, err = g.UpdateImage(ctx, c.GlanceImageID, o.patch(c.Patch))
		case plan.ActionRetire:
			_, err = g.UpdateImage(ctx, c.GlanceImageID, o.patch(c.Patch))
		case plan.ActionDelete:
			err = deleteImage(ctx, g, c)
		case plan.ActionShare:
			err = o.shareImage(ctx, g, c.GlanceImageID, c.Member)
		case plan.ActionUnshare:
			err = unshareImage(ctx, g, c.GlanceImageID, c.Member)
		default:
			err = fmt.Errorf("unknown action %q", c.Action)
		}
	}
	out.Duration = o.Now().Sub(start)
	attrs := []any{"action", c.Action, "reason", c.Reason, "project", c.Project, "list", c.ListID, "image", c.ImageID, "title", c.Title}
	if out.NewImage != "" {
		attrs = append(attrs, "glance_id", out.NewImage)
	} else if c.GlanceImageID != "" {
		attrs = append(attrs, "glance_id", c.GlanceImageID)
	}
	if err != nil {
		out.Status, out.Err = Failed, fmt.Errorf("%s image %s (%q) of list %s: %w", c.Action, c.ImageID, c.Title, c.ListID, err)
		o.Logger.Error("change failed", append(attrs, "error", err)...)
		return out
	}
	out.Status = Done
	if out.Bytes > 0 {
		attrs = append(attrs, "bytes", out.Bytes, "seconds", out.Duration.Seconds())
	}
	o.Logger.Info("change applied", attrs...)
	return out
}

// restartable reports whether a failed transfer may succeed when started
// again from scratch: bytes already sent cannot be taken back, so a download
// that cannot resume, or an upload whose token expired, restarts whole.
func restartable(err error) bool {
	return errors.Is(err, transfer.ErrRangeUnsupported) || errors.Is(err, glance.ErrUnauthorized)
}

// patch converts the plan's patch to Glance's; Old is for people only.
// ck_retired gets the time of applying, not the plan's: a plan saved by
// ck diff --out may be applied hours later, and prune's grace period runs
// from when the image was really hidden.
func (o Options) patch(ops []plan.PatchOp) []glance.Patch {
	out := make([]glance.Patch, len(ops))
	for i, op := range ops {
		out[i] = glance.Patch{Op: op.Op, Path: op.Path, Value: op.Value}
		if op.Path == "/"+plan.PropRetired && op.Op != plan.OpRemove {
			out[i].Value = o.Now().UTC().Format(time.RFC3339)
		}
	}
	return out
}

// convertTarget is the format c's image is converted to, "" for none.
func (o Options) convertTarget(c plan.Change) string {
	target, ok := o.ConvertToByList[c.Source]
	if !ok {
		target = o.ConvertTo
	}
	if target == "none" {
		return ""
	}
	return target
}

// prove applies a change whose image must first be proven by a download
// (plan.Change.Prove): an old tool's registry image to adopt, or ck's own
// image without a seal that holds. The source is downloaded and verified,
// made into what ck would have stored (unpacked, converted) and hashed;
// when that is what Glance holds (its sha512 and size), the change's patch
// is applied with ck's record and seal. Nothing is uploaded. When the bytes
// differ the image is left alone and the source is uploaded as a new image
// instead, whose id is returned.
func (o Options) prove(ctx context.Context, g Glance, c plan.Change) (newID string, n int64, err error) {
	if c.Desired == nil {
		return "", 0, errors.New("proof by download: the plan names no source")
	}
	img, err := g.GetImage(ctx, c.GlanceImageID)
	if err != nil {
		return "", 0, fmt.Errorf("read image %s: %w", c.GlanceImageID, err)
	}
	// What ck would have stored is the source in the image's own disk
	// format (converted if that is what ck did then, whatever the
	// settings say now), hashed as Glance hashed it.
	h, ok := newHash(img.HashAlgo)
	if !ok {
		return "", 0, fmt.Errorf("image %s: Glance hashed it with %q: ck can compare sha512 and sha256 only", c.GlanceImageID, img.HashAlgo)
	}
	var stored, source string
	var size int64
	opts := streamOptions{label: fmt.Sprintf("%s: proving %s", c.Desired.Name, c.GlanceImageID), target: img.DiskFormat}
	_, n, err = o.stream(ctx, c, opts, func(s *staged) (string, error) {
		w := &seenWriter{w: h, see: func(p []byte) { size += int64(len(p)) }}
		if _, err := io.Copy(w, s.p.r); err != nil {
			return "", err
		}
		var err error
		if source, err = s.source(); err != nil {
			return "", err
		}
		stored = hex.EncodeToString(h.Sum(nil))
		return "", nil
	})
	if err != nil {
		return "", n, err
	}
	if !strings.EqualFold(img.HashValue, stored) || img.Size != size {
		o.Logger.Warn("not proven: the image holds other bytes than its source; it is left alone and the source uploaded as a new image",
			"list", c.ListID, "image", c.ImageID, "glance_id", c.GlanceImageID,
			"observed", fmt.Sprintf("%s %s, %d bytes", img.HashAlgo, img.HashValue, img.Size),
			"expected", fmt.Sprintf("%s %s, %d bytes", img.HashAlgo, stored, size))
		create := c
		create.Action, create.GlanceImageID, create.Patch, create.Prove = plan.ActionCreate, "", nil, false
		id, m, err := o.transfer(ctx, g, create)
		if err == nil {
			err = o.shareNew(ctx, g, create, id)
		}
		return id, n + m, err
	}
	record := map[string]string{}
	if c.Desired.SHA512 == "" {
		record[plan.PropSHA512] = source // a registry layer's sha512, now proven
	}
	ops := o.patch(c.Patch)
	_, err = g.UpdateImage(ctx, c.GlanceImageID, append(ops, o.sealed(patched(img, c.Patch), record)...))
	return "", n, err
}

// patched is img with the property operations of ops applied, as Glance
// will hold it: what ck's seal must cover.
func patched(img glance.Image, ops []plan.PatchOp) glance.Image {
	img.Properties = maps.Clone(img.Properties)
	if img.Properties == nil {
		img.Properties = map[string]string{}
	}
	for _, op := range ops {
		k := strings.TrimPrefix(op.Path, "/")
		switch k {
		case "name", "min_ram", "visibility", "tags", plan.PropHidden:
			continue
		}
		if op.Op == plan.OpRemove {
			delete(img.Properties, k)
		} else if v, ok := op.Value.(string); ok {
			img.Properties[k] = v
		}
	}
	return img
}

// newHash returns a hash of one of the algorithms Glance may use for
// os_hash_value that ck can compute.
func newHash(algo string) (hash.Hash, bool) {
	switch strings.ToLower(algo) {
	case "sha512":
		return sha512.New(), true
	case "sha256":
		return sha256.New(), true
	}
	return nil, false
}
