package glance

import (
	"context"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/members"
	"github.com/gophercloud/gophercloud/v2/pagination"
)

// Member is one project an image is shared with (an image member), as
// atrope's single-copy model (ck's --share-mode members) uses them.
type Member struct {
	ImageID   string
	ProjectID string // member_id: the project the image is shared with
	Status    string // pending, accepted or rejected: set by the member project
	CreatedAt time.Time
	UpdatedAt time.Time
}

// The member statuses. Only the member project can change its own status;
// the owner sees the image in that project's lists once it is accepted.
const (
	MemberPending  = "pending"
	MemberAccepted = "accepted"
	MemberRejected = "rejected"
)

func fromMember(m *members.Member) Member {
	return Member{ImageID: m.ImageID, ProjectID: m.MemberID, Status: m.Status, CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt}
}

// ListMembers returns the projects image id is shared with. Glance allows
// it to the owner (every member) and to a member (itself only).
func (s *Service) ListMembers(ctx context.Context, id string) ([]Member, error) {
	var out []Member
	err := members.List(s.image, id).EachPage(ctx, func(_ context.Context, page pagination.Page) (bool, error) {
		ms, err := members.ExtractMembers(page)
		if err != nil {
			return false, err
		}
		for i := range ms {
			out = append(out, fromMember(&ms[i]))
		}
		return true, nil
	})
	if err != nil {
		return nil, wrapErr("list members of image "+id, err)
	}
	return out, nil
}

// AddMember shares image id with project (status pending). The image's
// visibility must be shared; Glance answers 409 if project is a member
// already and 403 if the caller does not own the image.
func (s *Service) AddMember(ctx context.Context, id, project string) (Member, error) {
	m, err := members.Create(ctx, s.image, id, project).Extract()
	if err != nil {
		return Member{}, wrapErr("add member "+project+" to image "+id, err)
	}
	return fromMember(m), nil
}

// UpdateMemberStatus sets project's membership of image id to status
// (MemberAccepted, MemberRejected or MemberPending). Glance allows it only
// with a token scoped to that project.
func (s *Service) UpdateMemberStatus(ctx context.Context, id, project, status string) (Member, error) {
	m, err := members.Update(ctx, s.image, id, project, members.UpdateOpts{Status: status}).Extract()
	if err != nil {
		return Member{}, wrapErr("set member "+project+" of image "+id+" to "+status, err)
	}
	return fromMember(m), nil
}

// RemoveMember stops sharing image id with project.
func (s *Service) RemoveMember(ctx context.Context, id, project string) error {
	return wrapErr("remove member "+project+" from image "+id, members.Delete(ctx, s.image, id, project).ExtractErr())
}
