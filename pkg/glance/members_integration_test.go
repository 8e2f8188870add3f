package glance_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/ck-sync/ck/pkg/glance"
	"github.com/ck-sync/ck/pkg/glance/glancetest"
)

// One copy in project ck, shared with vo-alpha and vo-beta: the member
// project accepts with its own token, sees the image, and loses it when the
// member is removed — atrope's model, ck's --share-mode members.
func TestIntegrationMembers(t *testing.T) {
	t.Parallel()
	env := glancetest.Setup(t)
	ctx := testCtx(t)
	spec := env.Spec("shared")
	spec.Visibility = "shared"
	img, err := env.CK.CreateImage(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}

	for _, p := range []string{env.ProjectVOAlpha, env.ProjectVOBeta} {
		m, err := env.CK.AddMember(ctx, img.ID, p)
		if err != nil {
			t.Fatal(err)
		}
		if m.Status != glance.MemberPending || m.ProjectID != p || m.ImageID != img.ID {
			t.Errorf("new member = %+v, want %s pending", m, p)
		}
	}
	if _, err := env.CK.AddMember(ctx, img.ID, env.ProjectVOAlpha); !errors.Is(err, glance.ErrConflict) {
		t.Errorf("adding a member twice: %v, want ErrConflict", err)
	}
	// Only the member project may accept.
	if _, err := env.CK.UpdateMemberStatus(ctx, img.ID, env.ProjectVOAlpha, glance.MemberAccepted); !errors.Is(err, glance.ErrForbidden) && !errors.Is(err, glance.ErrNotFound) {
		t.Errorf("owner accepting for the member: %v, want forbidden", err)
	}
	m, err := env.VOAlpha.UpdateMemberStatus(ctx, img.ID, env.ProjectVOAlpha, glance.MemberAccepted)
	if err != nil || m.Status != glance.MemberAccepted {
		t.Fatalf("accept as vo-alpha: %+v, %v", m, err)
	}

	ms, err := env.CK.ListMembers(ctx, img.ID)
	if err != nil {
		t.Fatal(err)
	}
	status := map[string]string{}
	for _, m := range ms {
		status[m.ProjectID] = m.Status
	}
	if len(ms) != 2 || status[env.ProjectVOAlpha] != glance.MemberAccepted || status[env.ProjectVOBeta] != glance.MemberPending {
		t.Errorf("members = %+v, want vo-alpha accepted and vo-beta pending", ms)
	}
	seen := func(svc *glance.Service) bool {
		imgs, err := svc.ListImages(ctx, glance.ListFilter{Tag: env.Namespace})
		if err != nil {
			t.Fatal(err)
		}
		return slices.ContainsFunc(imgs, func(i glance.Image) bool { return i.ID == img.ID })
	}
	if !seen(env.VOAlpha) {
		t.Errorf("vo-alpha does not list the image it accepted")
	}
	if seen(env.VOBeta) {
		t.Errorf("vo-beta lists an image it has not accepted")
	}

	if err := env.CK.RemoveMember(ctx, img.ID, env.ProjectVOAlpha); err != nil {
		t.Fatal(err)
	}
	if seen(env.VOAlpha) {
		t.Errorf("vo-alpha still lists the image after its member was removed")
	}
	if err := env.CK.RemoveMember(ctx, img.ID, env.ProjectVOAlpha); !errors.Is(err, glance.ErrNotFound) {
		t.Errorf("removing a member twice: %v, want ErrNotFound", err)
	}
	ms, err = env.CK.ListMembers(ctx, img.ID)
	if err != nil || len(ms) != 1 || ms[0].ProjectID != env.ProjectVOBeta {
		t.Errorf("members after removal = %+v, %v; want vo-beta only", ms, err)
	}
}
