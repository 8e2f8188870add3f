package glance

import (
	"context"

	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/projects"
)

// Project looks a project up in Keystone by id (GET /v3/projects/{id}).
// Keystone answers only a user allowed to read that project (an admin, or
// a token scoped to it): ErrNotFound means it does not exist, ErrForbidden
// that the user may not tell.
func (s *Service) Project(ctx context.Context, id string) (Project, error) {
	p, err := projects.Get(ctx, s.identity, id).Extract()
	if err != nil {
		return Project{}, wrapErr("get project "+id, err)
	}
	return Project{ID: p.ID, Name: p.Name, DomainID: p.DomainID}, nil
}
