package apply

import (
	"context"
	"errors"
	"fmt"

	"github.com/ck-sync/ck/pkg/glance"
	"github.com/ck-sync/ck/pkg/plan"
)

// Deactivator is the part of Glance that prune's deletions need besides
// Glance: a deleted image's data is made unavailable first, so that a
// delete Glance refuses still leaves the image unusable for new servers.
type Deactivator interface {
	Deactivate(ctx context.Context, id string) error
}

// ErrNotDeleted marks a deletion that Glance refused (the image is
// protected, in use, or has clones): the image is left retired, hidden
// and, where Glance allowed it, deactivated, and the next prune tries again.
var ErrNotDeleted = errors.New("not deleted")

// deleteImage deactivates, then deletes one retired image. An image that is
// already gone counts as deleted: another prune or a person got there first.
func deleteImage(ctx context.Context, g Glance, c plan.Change) error {
	id := c.GlanceImageID
	d, ok := g.(Deactivator)
	if !ok {
		return fmt.Errorf("delete image %s: this Glance client cannot deactivate images", id)
	}
	err := d.Deactivate(ctx, id)
	switch {
	case errors.Is(err, glance.ErrNotFound):
		return nil
	case errors.Is(err, glance.ErrConflict), errors.Is(err, glance.ErrForbidden):
		// An image that is not active (e.g. deactivated by an earlier
		// prune) cannot be deactivated again; deleting still may work.
	case err != nil:
		return fmt.Errorf("deactivate image %s before deleting it: %w", id, err)
	}
	err = g.DeleteImage(ctx, id)
	switch {
	case err == nil, errors.Is(err, glance.ErrNotFound):
		return nil
	case errors.Is(err, glance.ErrConflict), errors.Is(err, glance.ErrForbidden):
		return fmt.Errorf("%w: Glance refused to delete image %s (protected, in use or cloned), left hidden and deactivated: %w", ErrNotDeleted, id, err)
	}
	return fmt.Errorf("delete image %s: %w", id, err)
}
