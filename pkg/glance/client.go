package glance

import (
	"context"
	"io"
)

// Client is the part of Glance that ck uses, in ck's own types, so that the
// planner and the applier can run against an in-memory fake.
type Client interface {
	// ListImages returns every image matching f, hidden (os_hidden) or not.
	ListImages(ctx context.Context, f ListFilter) ([]Image, error)
	// GetImage returns one image; ErrNotFound when it does not exist.
	GetImage(ctx context.Context, id string) (Image, error)
	// CreateImage creates a queued image with all of spec's metadata at once.
	CreateImage(ctx context.Context, spec CreateSpec) (Image, error)
	// Upload streams body as the image's data, without a Content-Length.
	Upload(ctx context.Context, id string, body io.Reader) error
	// UpdateImage applies a JSON patch to the image's metadata.
	UpdateImage(ctx context.Context, id string, ops []Patch) (Image, error)
	// Deactivate makes an active image's data unavailable to non-admins.
	Deactivate(ctx context.Context, id string) error
	// Reactivate undoes Deactivate.
	Reactivate(ctx context.Context, id string) error
	// DeleteImage deletes the image and its data.
	DeleteImage(ctx context.Context, id string) error
}

// ListFilter selects images on the server side; zero fields do not filter.
type ListFilter struct {
	Tag        string            // images carrying this tag
	Owner      string            // project id
	Properties map[string]string // custom properties that must equal these values, e.g. ck_list_id
}

// CreateSpec is everything ck sets when it creates an image: all of it goes
// into the create call, so an image is never visible half-described.
type CreateSpec struct {
	Name            string
	DiskFormat      string
	ContainerFormat string
	Visibility      string // private, shared, community, public; "" = Glance's default (shared)
	MinRAM          int    // MiB
	MinDisk         int    // GiB
	Tags            []string
	Properties      map[string]string
	Hidden          bool // os_hidden
}

// Patch is one JSON-patch operation on an image (RFC 6902 as Glance takes it).
type Patch struct {
	Op    string // add, replace or remove
	Path  string // e.g. "/ck_retired" or "/os_hidden"
	Value any    // ignored for remove
}

// Patch operations.
const (
	OpAdd     = "add"
	OpReplace = "replace"
	OpRemove  = "remove"
)

// Project is a Keystone project the connected user has a role on.
type Project struct {
	ID       string
	Name     string
	DomainID string
}

var _ Client = (*Service)(nil)
