package apply

import (
	"context"
	"errors"
	"fmt"

	"github.com/ck-sync/ck/pkg/glance"
	"github.com/ck-sync/ck/pkg/plan"
)

// Sharer is the image-member part of Glance that --share-mode members needs.
type Sharer interface {
	AddMember(ctx context.Context, id, project string) (glance.Member, error)
	UpdateMemberStatus(ctx context.Context, id, project, status string) (glance.Member, error)
	RemoveMember(ctx context.Context, id, project string) error
}

// shareImage makes project a member of image id and accepts the membership
// with a connection scoped to project. Without such a connection (the
// clouds.yaml user has no role there) the member stays pending, which is
// logged and not an error: the project's own users can accept it.
func (o Options) shareImage(ctx context.Context, g Glance, id, project string) error {
	s, ok := g.(Sharer)
	if !ok {
		return fmt.Errorf("share image %s: this Glance client cannot manage image members", id)
	}
	if _, err := s.AddMember(ctx, id, project); err != nil && !errors.Is(err, glance.ErrConflict) {
		return err // ErrConflict: a member already, perhaps still pending
	}
	mg, err := o.Glance(project)
	if err != nil {
		o.Logger.Warn("image member left pending: no connection to its project to accept it", "image", id, "member", project, "error", err)
		return nil
	}
	ms, ok := mg.(Sharer)
	if !ok {
		return fmt.Errorf("accept image %s as %s: this Glance client cannot manage image members", id, project)
	}
	if _, err := ms.UpdateMemberStatus(ctx, id, project, glance.MemberAccepted); err != nil {
		return fmt.Errorf("accept image %s as member %s: %w", id, project, err)
	}
	return nil
}

// unshareImage removes project from image id's members; a member already
// gone counts as removed.
func unshareImage(ctx context.Context, g Glance, id, project string) error {
	s, ok := g.(Sharer)
	if !ok {
		return fmt.Errorf("unshare image %s: this Glance client cannot manage image members", id)
	}
	if err := s.RemoveMember(ctx, id, project); err != nil && !errors.Is(err, glance.ErrNotFound) {
		return err
	}
	return nil
}

// shareNew shares a freshly uploaded image with the members its plan
// change wants, once it is active.
func (o Options) shareNew(ctx context.Context, g Glance, c plan.Change, id string) error {
	if c.Desired == nil {
		return nil
	}
	for _, p := range c.Desired.Members {
		if err := o.shareImage(ctx, g, id, p); err != nil {
			return fmt.Errorf("share new image %s with %s: %w", id, p, err)
		}
	}
	return nil
}
