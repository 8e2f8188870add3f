package apply

import (
	"context"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/ck-sync/ck/pkg/glance"
	"github.com/ck-sync/ck/pkg/plan"
	"github.com/ck-sync/ck/pkg/progress"
	"github.com/ck-sync/ck/pkg/transfer"
)

// Properties apply writes at creation besides the plan's. The plan does not
// compare them, so they never cause an update.
const (
	// PropSourceFormat is what the download was, outermost layer first,
	// e.g. "qcow2", "ova+vmdk", "gzip+qcow2": with ck_sha512 (always the
	// list's sha512) it says which bytes an unpacked or converted image came
	// from.
	PropSourceFormat = "ck_source_format"
	// PropVMwareDiskType is Glance's own property for a vmdk's subformat.
	PropVMwareDiskType = "vmware_disktype"
)

const gib = 1 << 30

// upload is what goes to Glance and what Glance must report afterwards.
type upload struct {
	r          io.Reader
	diskFormat string
	vsize      int64 // virtual size in bytes; 0 when unknown
	// asListed: the bytes are the download itself, so Glance's size and
	// hash must be the list's; otherwise they must be those of the bytes
	// sent, hashed on the way.
	asListed bool
}

// staged is what stream readied for Glance: the download itself when it
// is a disk, the disk inside it when it is compressed or an OVA (taken out
// on the stream), or a temporary file converted by qemu-img.
type staged struct {
	d         *plan.Desired
	name      string // "image <id> (<title>)", for messages
	disk      *transfer.Disk
	p         upload
	converted bool
	// source returns, once the download was read to its verified end, the
	// sha512 of the source's bytes (sha512Of).
	source func() (string, error)
}

// streamOptions say what stream readies the bytes for.
type streamOptions struct {
	label string // of the progress bar
	// target is the disk format the bytes must be in: the disk is
	// converted to it when it is in another; "" converts nothing.
	target string
	// upload: the bytes go to Glance by o.Method (checked before any
	// conversion); otherwise they are only hashed (a proof).
	upload bool
}

// stream downloads c.Desired, verifying it on the way, readies the bytes
// (unpacked, and converted to opts.target) and hands them to sink. It
// returns what sink returns and the bytes downloaded.
func (o Options) stream(ctx context.Context, c plan.Change, opts streamOptions, sink func(*staged) (string, error)) (id string, n int64, err error) {
	d := c.Desired
	if d == nil {
		return "", 0, errors.New("plan change has no desired image")
	}
	name := fmt.Sprintf("image %s (%q)", c.ImageID, c.Title)
	src := transfer.Source{URL: d.URI, Size: d.Size, SHA512: d.SHA512, Digest: d.Digest, Name: name}

	// The download gets a context of its own, so that closing it can stop
	// a read in progress first (see transfer.ReadAhead).
	dctx, abort := context.WithCancel(ctx)
	defer abort()
	body, err := o.Open(dctx, src)
	if err != nil {
		return "", 0, err
	}
	// A registry image's sha512 is learnt on the way: the stream verifies
	// the layer's sha256 and hashes the same bytes with sha512.
	source := sha512Of(body, d)
	// Download and hash ahead of the upload (2 MiB at most), so that the
	// two overlap on separate cores instead of taking turns.
	body = transfer.ReadAhead(body, abort, 8, 256<<10)
	defer body.Close()
	t := o.Progress.Start(c.Project+"/"+c.ImageID, opts.label, d.Size)
	defer func() { t.Done(err) }()
	downloaded := &counter{r: body, t: t}

	disk, err := transfer.Unpack(downloaded, transfer.UnpackOptions{Name: name, MaxExpanded: o.MaxExpanded, Size: d.Size})
	if err != nil {
		return "", downloaded.n.Load(), err
	}
	defer disk.Close()
	f := disk.Format
	o.crossCheck(c, disk)
	if f.Problem != "" {
		return "", downloaded.n.Load(), fmt.Errorf("%s: %s (%s): not uploaded", name, f.Problem, disk.Source())
	}
	target := opts.target
	convert := target != "" && f.DiskFormat != target && f.Name != "iso"

	// disk.Reader rather than disk, whose embedding hides the reader's
	// WriteTo: through it the read-ahead's blocks reach Glance uncopied.
	s := &staged{d: d, name: name, disk: disk, converted: convert, source: source,
		p: upload{r: disk.Reader, diskFormat: f.DiskFormat, vsize: disk.VirtualSize(), asListed: !disk.Unpacked()}}
	if f.Name == "raw" && !disk.Unpacked() {
		s.p.vsize = d.Size
	}
	if convert {
		if opts.upload {
			if err := o.uploadable(s); err != nil {
				return "", downloaded.n.Load(), err
			}
		}
		conv, err := transfer.Convert(ctx, disk, transfer.ConvertOptions{
			Target: target, QemuImg: transfer.QemuImg{Path: o.QemuImg}, WorkDir: o.WorkDir, Name: name, SourceSize: d.Size,
		})
		if err != nil {
			return "", downloaded.n.Load(), err
		}
		defer conv.Remove()
		file, err := os.Open(conv.Path)
		if err != nil {
			return "", downloaded.n.Load(), fmt.Errorf("%s: converted file: %w", name, err)
		}
		defer file.Close()
		s.p = upload{r: file, diskFormat: conv.Format, vsize: conv.VirtualSize}
	}
	id, err = sink(s)
	return id, downloaded.n.Load(), err
}

// transfer creates the image in Glance and fills it with the verified bytes
// of c.Desired (see stream). It returns the new image's id and the bytes
// downloaded. On any failure the new image is deleted, even when ctx was
// cancelled: a failed or interrupted run leaves no queued or saving image
// behind.
func (o Options) transfer(ctx context.Context, g Glance, c plan.Change) (string, int64, error) {
	if c.Desired == nil {
		return "", 0, errors.New("plan change has no desired image")
	}
	project := c.Project
	if n := o.ProjectNames[project]; n != "" {
		project = n
	}
	label := fmt.Sprintf("%s → %s", c.Desired.Name, project)
	opts := streamOptions{label: label, target: o.convertTarget(c), upload: true}
	return o.stream(ctx, c, opts, func(s *staged) (string, error) { return o.upload(ctx, g, c, s) })
}

// uploadable refuses what the upload method cannot store as ck would.
func (o Options) uploadable(s *staged) error {
	if o.Method != MethodWebDownload {
		return nil
	}
	switch {
	case s.d.SHA512 == "":
		// A registry blob needs the source's auth, which Glance has not.
		return fmt.Errorf("%s is a registry image: web-download cannot fetch it; use --upload-method upload or glance-direct", s.name)
	case transfer.HasCredentials(s.d.URI):
		// Glance would keep the URL, credentials and all, in its task
		// records and logs.
		return fmt.Errorf("%s: its hv:uri carries credentials: web-download would hand them to Glance; use --upload-method upload or glance-direct", s.name)
	case !s.p.asListed || s.converted:
		return fmt.Errorf("%s is %s: web-download would store it as it is; use --upload-method upload or glance-direct", s.name, s.disk.Source())
	}
	return nil
}

// upload creates the image, sends the staged bytes, checks what Glance
// stored, then shows the image with ck's record (and seal) of it.
func (o Options) upload(ctx context.Context, g Glance, c plan.Change, s *staged) (id string, err error) {
	d, p := s.d, s.p
	if err := o.uploadable(s); err != nil {
		return "", err
	}
	img, err := g.CreateImage(ctx, o.createSpec(d, s.disk, p))
	if err != nil {
		return "", fmt.Errorf("create: %w", err)
	}
	defer func() {
		if err != nil {
			o.cleanup(ctx, g, img.ID, c)
			id = ""
		}
	}()
	if mark := plan.UnverifiedMark(o.SealKey, img); mark != "" {
		// Should ck be killed before it verifies the bytes, prune can
		// tell this upload from a member's image with ck's marks.
		if _, err := g.UpdateImage(ctx, img.ID, []glance.Patch{{Op: glance.OpReplace, Path: "/" + plan.PropUnverified, Value: mark}}); err != nil {
			return img.ID, fmt.Errorf("mark the upload: %w", err)
		}
	}

	// The bytes sent need a hash of their own only when they are not the
	// download's: the list's sha512, verified on the way, covers those.
	out, sent := p.r, (*sentReader)(nil)
	if !p.asListed {
		sent = newSent(p.r)
		out = sent
	}
	final, err := o.send(ctx, g, img.ID, d, out)
	if err != nil {
		return img.ID, err
	}
	sum, err := s.source()
	if err != nil {
		return img.ID, err
	}
	// With web-download Glance fetched the bytes itself: its sha512 is the
	// only check they get, so it must be there.
	want := expected{size: d.Size, sha512: sum, digest: d.Digest, what: "the list's", needHash: o.Method == MethodWebDownload}
	if d.SHA512 == "" {
		want.what = "the layer's"
	}
	if !p.asListed {
		want = expected{size: sent.n.Load(), sha512: sent.sum(), what: "the bytes sent (" + p.diskFormat + " from " + s.disk.Source() + ")"}
	}
	if err := check(final, want); err != nil {
		return img.ID, err
	}
	// Verified: only now may users see it.
	show := []glance.Patch{
		{Op: glance.OpRemove, Path: "/" + plan.PropUnverified},
		{Op: glance.OpReplace, Path: "/os_hidden", Value: false},
	}
	if img.Visibility != d.Visibility {
		show = append(show, glance.Patch{Op: glance.OpReplace, Path: "/visibility", Value: d.Visibility})
	}
	record := map[string]string{}
	if d.SHA512 == "" {
		// ck's record of which sha512 the layer has: what later runs
		// check Glance's os_hash_value against (plan.proven).
		record[plan.PropSHA512] = sum
	}
	show = append(show, o.sealed(final, record)...)
	if _, err := g.UpdateImage(ctx, img.ID, show); err != nil {
		return img.ID, fmt.Errorf("unhide the verified image: %w", err)
	}
	return img.ID, nil
}

// createSpec is the create call: every field is set there, so the image is
// never visible half-described.
func (o Options) createSpec(d *plan.Desired, disk *transfer.Disk, p upload) glance.CreateSpec {
	props := make(map[string]string, len(d.Properties)+2)
	for k, v := range d.Properties {
		props[k] = v
	}
	props[PropSourceFormat] = disk.Source()
	props[plan.PropUnverified] = "true" // removed once Glance's copy is verified
	if p.diskFormat == "vmdk" {
		switch disk.Format.Subformat {
		case "streamOptimized":
			props[PropVMwareDiskType] = "streamOptimized"
		case "monolithicSparse":
			props[PropVMwareDiskType] = "sparse"
		}
	}
	minDisk := d.MinDisk
	if p.diskFormat != "iso" && p.vsize > 0 {
		// An ISO boots as a CD-ROM: its size says nothing of the disk needed.
		minDisk = max(minDisk, int((p.vsize+gib-1)/gib))
	}
	visibility := d.Visibility
	if o.Method == MethodWebDownload {
		// Glance fetches and activates the bytes itself, before ck can
		// check them; a hidden image is still usable by id by everyone its
		// visibility reaches, so it stays private until it is verified.
		visibility = "private"
	}
	return glance.CreateSpec{
		// Hidden until its bytes are verified: a run killed mid-upload
		// (SIGKILL, a reboot) leaves nothing in users' image lists, and
		// prune deletes it later as abandoned.
		Hidden:          true,
		Name:            d.Name,
		DiskFormat:      p.diskFormat,
		ContainerFormat: "bare",
		Visibility:      visibility,
		MinRAM:          d.MinRAM,
		MinDisk:         minDisk,
		Tags:            d.Tags,
		Properties:      props,
	}
}

// formatAliases are hv:format spellings that name a format differently.
var formatAliases = map[string]string{"qcow": "qcow2", "img": "raw", "gz": "gzip", "bz2": "bzip2", "zst": "zstd", "vhdx": "vhdx", "vpc": "vhd"}

// crossCheck logs an hv:format that names none of the layers: the bytes
// win, since lists often leave the field out or get it wrong.
func (o Options) crossCheck(c plan.Change, disk *transfer.Disk) {
	hint := strings.ToLower(strings.TrimSpace(c.Desired.Format))
	if a, ok := formatAliases[hint]; ok {
		hint = a
	}
	if hint == "" || hint == disk.Format.Name || hint == disk.Format.DiskFormat {
		return
	}
	for _, l := range disk.Layers {
		if hint == l.Name {
			return
		}
	}
	o.Logger.Warn("image format differs from the list's hv:format; the bytes win",
		"list", c.ListID, "image", c.ImageID, "hv_format", c.Desired.Format, "detected", disk.Source(), "disk", disk.Format.String())
}

// send moves the bytes by the chosen method and returns the image as Glance
// has it afterwards.
func (o Options) send(ctx context.Context, g Glance, id string, d *plan.Desired, body io.Reader) (glance.Image, error) {
	switch o.Method {
	case MethodUpload:
		if err := g.Upload(ctx, id, body); err != nil {
			return glance.Image{}, fmt.Errorf("upload: %w", err)
		}
		return g.GetImage(ctx, id)
	case MethodGlanceDirect:
		imp, ok := g.(Importer)
		if !ok {
			return glance.Image{}, errors.New("glance-direct: this Glance client cannot import")
		}
		if err := imp.Stage(ctx, id, body); err != nil {
			return glance.Image{}, fmt.Errorf("stage: %w", err)
		}
		if err := imp.Import(ctx, id, string(MethodGlanceDirect), ""); err != nil {
			return glance.Image{}, fmt.Errorf("import: %w", err)
		}
		return imp.WaitActive(ctx, id)
	case MethodWebDownload:
		imp, ok := g.(Importer)
		if !ok {
			return glance.Image{}, errors.New("web-download: this Glance client cannot import")
		}
		if err := imp.Import(ctx, id, string(MethodWebDownload), d.URI); err != nil {
			return glance.Image{}, fmt.Errorf("import: %w", err)
		}
		return imp.WaitActive(ctx, id)
	}
	return glance.Image{}, fmt.Errorf("unknown upload method %q", o.Method)
}

// expected is what Glance must report for the image after upload.
type expected struct {
	size     int64
	sha512   string
	digest   string // a registry layer's: what a sha256 Glance must report
	what     string // whose values, for messages
	needHash bool   // Glance's sha512 must be there (nobody else hashed the bytes)
}

// check compares what Glance stored with what was sent (spec §8): bad bytes
// must never stay an active image.
func check(img glance.Image, want expected) error {
	if img.Status != "active" {
		return fmt.Errorf("verify: image is %s after upload, want active", img.Status)
	}
	if img.Size != want.size {
		return fmt.Errorf("verify: Glance size %d, want %d (%s size)", img.Size, want.size, want.what)
	}
	if want.needHash && !strings.EqualFold(img.HashAlgo, "sha512") {
		return fmt.Errorf("verify: Glance hashed the image with %q, not sha512: the bytes it fetched cannot be checked against the list (use --upload-method upload)", img.HashAlgo)
	}
	if strings.EqualFold(img.HashAlgo, "sha512") && !strings.EqualFold(img.HashValue, want.sha512) {
		return fmt.Errorf("verify: Glance os_hash_value %s, want %s (%s sha512)", img.HashValue, want.sha512, want.what)
	}
	if alg, hex, _ := strings.Cut(want.digest, ":"); strings.EqualFold(img.HashAlgo, alg) && !strings.EqualFold(img.HashValue, hex) {
		return fmt.Errorf("verify: Glance os_hash_value %s, want %s (%s %s)", img.HashValue, hex, want.what, alg)
	}
	return nil
}

// cleanup deletes a half-made image. It runs on a context that outlives an
// interrupted run, but not for ever.
func (o Options) cleanup(ctx context.Context, g Glance, id string, c plan.Change) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), o.CleanupTimeout)
	defer cancel()
	if err := g.DeleteImage(cctx, id); err != nil && !errors.Is(err, glance.ErrNotFound) {
		o.Logger.Error("could not delete the half-made image; delete it by hand", "glance_id", id, "list", c.ListID, "image", c.ImageID, "error", err)
		return
	}
	o.Logger.Info("deleted the half-made image", "glance_id", id, "list", c.ListID, "image", c.ImageID)
}

// counter counts the bytes that pass through it, by Read or by WriteTo, and
// reports them to t when set. net/http may still be reading the body from
// its own goroutine when an upload fails early, hence atomic.
type counter struct {
	r io.Reader
	t progress.Transfer // nil: count only
	n atomic.Int64
}

func (c *counter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.add(p[:n])
	return n, err
}

// WriteTo implements io.WriterTo, which net/http's upload (io.Copy) prefers
// to Read: r's own WriteTo, the read-ahead's, then hands its blocks on
// whole, with no copy through a 32 KiB buffer.
func (c *counter) WriteTo(w io.Writer) (int64, error) {
	return io.Copy(seenWriter{w: w, see: c.add}, c.r)
}

func (c *counter) add(p []byte) {
	if len(p) == 0 {
		return
	}
	c.n.Add(int64(len(p)))
	if c.t != nil {
		c.t.Add(int64(len(p)))
	}
}

// sentReader counts and hashes what goes to Glance, for the check of an
// unpacked or converted image, whose bytes the list's sha512 does not cover.
type sentReader struct {
	counter
	mu sync.Mutex // the hash may be read while net/http's writer still holds the body
	h  hash.Hash
}

func newSent(r io.Reader) *sentReader {
	s := &sentReader{h: sha512.New()}
	s.r = r
	return s
}

func (s *sentReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	s.add(p[:n])
	return n, err
}

// WriteTo implements io.WriterTo; see counter.WriteTo.
func (s *sentReader) WriteTo(w io.Writer) (int64, error) {
	return io.Copy(seenWriter{w: w, see: s.add}, s.r)
}

func (s *sentReader) add(p []byte) {
	s.counter.add(p)
	s.mu.Lock()
	s.h.Write(p)
	s.mu.Unlock()
}

func (s *sentReader) sum() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return hex.EncodeToString(s.h.Sum(nil))
}

// seenWriter writes to w and shows see the bytes w took, so that what is
// counted and hashed is what was sent.
type seenWriter struct {
	w   io.Writer
	see func([]byte)
}

func (s seenWriter) Write(p []byte) (int, error) {
	n, err := s.w.Write(p)
	s.see(p[:n])
	return n, err
}

// sha512Of returns how to learn, once body has been read to its end, the
// sha512 of d's bytes: the list's for a HEPiX image; for a registry image
// (no sha512 listed) the one body computed on the same pass as it verified
// the layer's digest, which is only an answer once that verification
// succeeded.
func sha512Of(body io.Reader, d *plan.Desired) func() (string, error) {
	if d.SHA512 != "" {
		return func() (string, error) { return d.SHA512, nil }
	}
	return func() (string, error) {
		v, ok := body.(interface {
			SumOf(string) (string, bool)
			Verified() bool
		})
		if !ok {
			return "", errors.New("the download computes no sha512 of the layer")
		}
		sum, ok := v.SumOf(transfer.CheckSHA512)
		if !ok || !v.Verified() {
			return "", errors.New("the layer was not read to its verified end, so its sha512 is unknown")
		}
		return sum, nil
	}
}

// sealed returns the patch that records props on img (as Glance reported
// it after the bytes were verified) and ck's seal of the result
// (plan.Seal): later runs vouch for an image whose seal holds without
// downloading it again. Without a seal key only props are recorded.
func (o Options) sealed(img glance.Image, props map[string]string) []glance.Patch {
	img.Properties = maps.Clone(img.Properties)
	if img.Properties == nil {
		img.Properties = map[string]string{}
	}
	var ops []glance.Patch
	for _, k := range slices.Sorted(maps.Keys(props)) {
		img.Properties[k] = props[k]
		ops = append(ops, glance.Patch{Op: glance.OpAdd, Path: "/" + k, Value: props[k]})
	}
	if seal := plan.Seal(o.SealKey, img); seal != "" {
		ops = append(ops, glance.Patch{Op: glance.OpAdd, Path: "/" + plan.PropSeal, Value: seal})
	}
	return ops
}
