package glance_test

import (
	"testing"

	"github.com/ck-sync/ck/pkg/glance"
	"github.com/ck-sync/ck/pkg/glance/glancetest"
)

// mapping.json's {"project": NAME, "domain": DOMAIN} form is resolved by
// scoping a token by name, so the domain must reach Keystone as the
// project's domain (vo-beta lives in domain egi, the user in Default).
func TestIntegrationScopedByProjectName(t *testing.T) {
	t.Parallel()
	env := glancetest.Setup(t)
	ctx := testCtx(t)
	for _, tc := range []struct {
		name, project, domain, want string
		fails                       bool
	}{
		{name: "vo-beta in egi", project: "vo-beta", domain: "egi", want: env.ProjectVOBeta},
		{name: "vo-alpha in Default", project: "vo-alpha", domain: "Default", want: env.ProjectVOAlpha},
		{name: "vo-beta in the wrong domain", project: "vo-beta", domain: "Default", fails: true},
	} {
		svc, err := glance.Connect(ctx, glance.Config{Cloud: glancetest.CloudCK, ProjectName: tc.project, ProjectDomainName: tc.domain})
		switch {
		case tc.fails && err == nil:
			t.Errorf("%s: Connect succeeded, scoped to %s", tc.name, svc.ProjectID())
		case tc.fails:
		case err != nil:
			t.Errorf("%s: Connect: %v", tc.name, err)
		case svc.ProjectID() != tc.want:
			t.Errorf("%s: ProjectID() = %q, want %q", tc.name, svc.ProjectID(), tc.want)
		}
	}
}
