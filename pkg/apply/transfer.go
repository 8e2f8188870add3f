package apply

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"

	"github.com/ck-sync/ck/pkg/glance"
	"github.com/ck-sync/ck/pkg/plan"
	"github.com/ck-sync/ck/pkg/progress"
	"github.com/ck-sync/ck/pkg/transfer"
)

// headerSize is how much of an image is peeked to tell its format: enough
// for an ISO 9660 volume descriptor at 32 KiB.
const headerSize = 64 << 10

// transfer creates the image in Glance and fills it with the verified bytes
// of c.Desired. It returns the new image's id and the bytes moved. On any
// failure the new image is deleted, even when ctx was cancelled: a failed
// or interrupted run leaves no queued or saving image behind.
func (o Options) transfer(ctx context.Context, g Glance, c plan.Change) (id string, n int64, err error) {
	d := c.Desired
	if d == nil {
		return "", 0, errors.New("plan change has no desired image")
	}
	src := transfer.Source{URL: d.URI, Size: d.Size, SHA512: d.SHA512, Name: fmt.Sprintf("image %s (%q)", c.ImageID, c.Title)}

	body, err := o.Open(ctx, src)
	if err != nil {
		return "", 0, err
	}
	defer body.Close()
	br := bufio.NewReaderSize(body, headerSize)
	head, err := br.Peek(headerSize)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return "", 0, fmt.Errorf("read image header: %w", err)
	}
	f := transfer.Detect(head)
	if !f.Uploadable() {
		return "", 0, fmt.Errorf("image format %s is not supported yet (list says %q): not uploaded", f.Name, d.Format)
	}
	if hint := strings.ToLower(d.Format); hint != "" && hint != f.DiskFormat && hint != f.Name {
		o.Logger.Warn("image format differs from the list's hv:format; the bytes win",
			"list", c.ListID, "image", c.ImageID, "hv_format", d.Format, "detected", f.Name)
	}

	img, err := g.CreateImage(ctx, glance.CreateSpec{
		Name:            d.Name,
		DiskFormat:      f.DiskFormat,
		ContainerFormat: "bare",
		Visibility:      d.Visibility,
		MinRAM:          d.MinRAM,
		MinDisk:         d.MinDisk,
		Tags:            d.Tags,
		Properties:      d.Properties,
	})
	if err != nil {
		return "", 0, fmt.Errorf("create: %w", err)
	}
	defer func() {
		if err != nil {
			o.cleanup(ctx, g, img.ID, c)
			id = ""
		}
	}()

	t := o.Progress.Start(img.ID, fmt.Sprintf("%s → %s", d.Name, c.Project), d.Size)
	counted := &counter{r: progress.Reader(br, t)}
	final, err := o.send(ctx, g, img.ID, d, counted)
	t.Done(err)
	if err != nil {
		return img.ID, counted.n.Load(), err
	}
	if err := check(final, d); err != nil {
		return img.ID, counted.n.Load(), err
	}
	return img.ID, counted.n.Load(), nil
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

// check compares what Glance stored with what the list declared (spec §8):
// bad bytes must never stay an active image.
func check(img glance.Image, d *plan.Desired) error {
	if img.Status != "active" {
		return fmt.Errorf("verify: image is %s after upload, want active", img.Status)
	}
	if img.Size != d.Size {
		return fmt.Errorf("verify: Glance size %d, want hv:size %d", img.Size, d.Size)
	}
	if strings.EqualFold(img.HashAlgo, "sha512") && !strings.EqualFold(img.HashValue, d.SHA512) {
		return fmt.Errorf("verify: Glance os_hash_value %s, want sl:checksum:sha512 %s", img.HashValue, d.SHA512)
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

// counter counts the bytes read through it. net/http may still be reading
// the body from its own goroutine when an upload fails early, hence atomic.
type counter struct {
	r io.Reader
	n atomic.Int64
}

func (c *counter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}
