package glance

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
	"github.com/gophercloud/gophercloud/v2/pagination"
)

// listQuery is a raw image-list query: gophercloud's ListOpts cannot filter on
// custom properties, which ck needs (ck_list_id=…).
type listQuery url.Values

// ToImageListQuery implements images.ListOptsBuilder.
func (q listQuery) ToImageListQuery() (string, error) {
	return "?" + url.Values(q).Encode(), nil
}

// listQueries builds one query per os_hidden value: Glance leaves hidden
// images out of lists unless asked for them, and cannot be asked for both.
func listQueries(f ListFilter, pageSize int) []listQuery {
	var out []listQuery
	for _, hidden := range []string{"false", "true"} {
		q := url.Values{}
		q.Set("limit", fmt.Sprint(pageSize))
		q.Set("os_hidden", hidden)
		if f.Tag != "" {
			q.Set("tag", f.Tag)
		}
		if f.Owner != "" {
			q.Set("owner", f.Owner)
		}
		keys := make([]string, 0, len(f.Properties))
		for k := range f.Properties {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			q.Set(k, f.Properties[k])
		}
		out = append(out, listQuery(q))
	}
	return out
}

// ListImages implements Client: two paginated passes (visible, then hidden),
// no per-image request.
func (s *Service) ListImages(ctx context.Context, f ListFilter) ([]Image, error) {
	// Glance pages with a marker: the last image of the previous page. When
	// that image is deleted between two pages (by a user, or by another
	// ck), Glance answers 400 "No image found with ID": list again.
	for attempt := 1; ; attempt++ {
		out, err := s.listImages(ctx, f)
		if err == nil || attempt == 3 || !markerGone(err) {
			return out, err
		}
	}
}

// markerGone reports whether err is Glance's answer to a page marker that
// names an image deleted since the previous page.
func markerGone(err error) bool {
	rc, ok := responseCode(err)
	return ok && rc.Actual == http.StatusBadRequest && strings.Contains(string(rc.Body), "No image found with ID")
}

func (s *Service) listImages(ctx context.Context, f ListFilter) ([]Image, error) {
	var out []Image
	seen := map[string]bool{}
	for _, q := range listQueries(f, s.pageSize) {
		err := images.List(s.image, q).EachPage(ctx, func(_ context.Context, page pagination.Page) (bool, error) {
			imgs, err := images.ExtractImages(page)
			if err != nil {
				return false, err
			}
			for i := range imgs {
				// An image whose os_hidden flipped between the passes shows up twice.
				if seen[imgs[i].ID] {
					continue
				}
				seen[imgs[i].ID] = true
				out = append(out, fromGophercloud(&imgs[i]))
			}
			return true, nil
		})
		if err != nil {
			return nil, wrapErr("list images", err)
		}
	}
	return out, nil
}

// GetImage implements Client.
func (s *Service) GetImage(ctx context.Context, id string) (Image, error) {
	g, err := images.Get(ctx, s.image, id).Extract()
	if err != nil {
		return Image{}, wrapErr("get image "+id, err)
	}
	return fromGophercloud(g), nil
}

// CreateImage implements Client.
func (s *Service) CreateImage(ctx context.Context, spec CreateSpec) (Image, error) {
	g, err := images.Create(ctx, s.image, createOpts(spec)).Extract()
	if err != nil {
		return Image{}, wrapErr(fmt.Sprintf("create image %q", spec.Name), err)
	}
	return fromGophercloud(g), nil
}

// UpdateImage implements Client.
func (s *Service) UpdateImage(ctx context.Context, id string, ops []Patch) (Image, error) {
	for _, op := range ops {
		if op.Op != OpAdd && op.Op != OpReplace && op.Op != OpRemove {
			return Image{}, fmt.Errorf("update image %s: unknown patch op %q on %s", id, op.Op, op.Path)
		}
	}
	g, err := images.Update(ctx, s.image, id, updateOpts(ops)).Extract()
	if err != nil {
		return Image{}, wrapErr("update image "+id, err)
	}
	return fromGophercloud(g), nil
}

// DeleteImage implements Client.
func (s *Service) DeleteImage(ctx context.Context, id string) error {
	return wrapErr("delete image "+id, images.Delete(ctx, s.image, id).ExtractErr())
}

// Deactivate implements Client. gophercloud has no helper for this action.
func (s *Service) Deactivate(ctx context.Context, id string) error {
	return s.action(ctx, id, "deactivate")
}

// Reactivate implements Client.
func (s *Service) Reactivate(ctx context.Context, id string) error {
	return s.action(ctx, id, "reactivate")
}

func (s *Service) action(ctx context.Context, id, name string) error {
	u := s.image.ServiceURL("images", id, "actions", name)
	_, err := s.image.Post(ctx, u, nil, nil, &gophercloud.RequestOpts{OkCodes: []int{http.StatusNoContent}})
	return wrapErr(name+" image "+id, err)
}

// Upload implements Client. It sends the request itself rather than through
// gophercloud, whose retry after a 401 would re-send the already consumed
// stream: Glance would then store a truncated or empty image. After a 401 it
// re-authenticates, so the caller only has to upload again.
func (s *Service) Upload(ctx context.Context, id string, body io.Reader) error {
	return s.putStream(ctx, "upload image "+id, s.image.ServiceURL("images", id, "file"), body)
}

// recordingReader remembers the first error other than EOF that its reader
// returned. net/http reads it from its own goroutine, hence the lock.
type recordingReader struct {
	r   io.Reader
	mu  sync.Mutex
	err error
}

func (r *recordingReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF {
		r.record(err)
	}
	return n, err
}

// WriteTo implements io.WriterTo, which net/http's upload prefers to Read:
// a reader with a WriteTo of its own (ck's read-ahead) then writes its
// blocks whole, one chunk each, instead of through a 32 KiB buffer. Only
// the reader's errors are recorded, not those of w (the connection).
func (r *recordingReader) WriteTo(w io.Writer) (int64, error) {
	ew := &errWriter{w: w}
	n, err := io.Copy(ew, r.r)
	if err != nil && ew.err == nil {
		r.record(err)
	}
	return n, err
}

func (r *recordingReader) record(err error) {
	r.mu.Lock()
	if r.err == nil {
		r.err = err
	}
	r.mu.Unlock()
}

func (r *recordingReader) failure() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

// errWriter remembers w's error, to tell it from the reader's in a copy.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	n, err := e.w.Write(p)
	if err != nil && e.err == nil {
		e.err = err
	}
	return n, err
}
