package sync_test

// --share-mode members against the local Glance: one copy in the clouds.yaml
// project, shared with each VO's project, accepted there with a token scoped
// to it, stale members removed, and a member ck has no role in left pending.

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/ck-sync/ck/pkg/cli/clitest"
	"github.com/ck-sync/ck/pkg/glance"
	"github.com/ck-sync/ck/pkg/glance/glancetest"
	"github.com/ck-sync/ck/pkg/plan"
)

func TestIntegrationShareMembers(t *testing.T) {
	t.Parallel()
	fx := clitest.New(t)
	env, ctx, tag := fx.Env, fx.Ctx, fx.Tag
	bytesA, bytesB := []byte(strings.Repeat("alpha\n", 300)), []byte(strings.Repeat("beta\n", 300))
	srv := newAdoptServer(t, map[string][]byte{"/a": bytesA, "/b": bytesB})
	la := fx.WriteList(t, tag+"-a", "alpha.vo", clitest.ImageSpec{ID: tag + "-s1", URI: srv.URL + "/a", Data: bytesA})
	lb := fx.WriteList(t, tag+"-b", "beta.vo", clitest.ImageSpec{ID: tag + "-s2", URI: srv.URL + "/b", Data: bytesB})

	// members returns each of ck's images (by image id) in project owner
	// with its members' statuses, e.g. "vo-alpha-id:accepted".
	members := func(t *testing.T, svc *glance.Service, owner string) map[string][]string {
		t.Helper()
		imgs, err := svc.ListImages(ctx, glance.ListFilter{Tag: tag, Owner: owner})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string][]string{}
		for _, img := range imgs {
			if img.Visibility != "shared" {
				t.Errorf("image %s is %s, want shared", img.ID, img.Visibility)
			}
			ms, err := svc.ListMembers(ctx, img.ID)
			if err != nil {
				t.Fatal(err)
			}
			list := []string{}
			for _, m := range ms {
				list = append(list, m.ProjectID+":"+m.Status)
			}
			slices.Sort(list)
			out[img.Properties[plan.PropImageID]] = list
		}
		return out
	}

	code, stdout, stderr := fx.Run(t, "sync", "--share-mode", "members", la.Path, lb.Path)
	if code != 0 {
		t.Fatalf("exit %d; stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	want := map[string][]string{
		tag + "-s1": {env.ProjectVOAlpha + ":accepted"},
		tag + "-s2": {env.ProjectVOBeta + ":accepted"},
	}
	if got := members(t, env.CK, env.ProjectCK); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("after sync: members %v, want %v", got, want)
	}
	for _, svc := range []*glance.Service{env.VOAlpha, env.VOBeta} {
		if imgs, _ := svc.ListImages(ctx, glance.ListFilter{Tag: tag, Owner: svc.ProjectID()}); len(imgs) != 0 {
			t.Errorf("project %s got its own copy in member mode: %d images", svc.ProjectID(), len(imgs))
		}
	}
	if code, stdout, _ := fx.Run(t, "diff", "--share-mode", "members", "--exit-code", la.Path, lb.Path); code != 0 {
		t.Errorf("diff after sync: exit %d, want 0:\n%s", code, stdout)
	}

	// alpha.vo moves to vo-beta: vo-beta is shared, vo-alpha unshared.
	m := fmt.Sprintf(`{"alpha.vo": {"project": %q}, "beta.vo": {"project": %q}}`, env.ProjectVOBeta, env.ProjectVOBeta)
	if err := os.WriteFile(fx.Mapping, []byte(m), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = fx.Run(t, "sync", "--share-mode", "members", "-o", "json", la.Path, lb.Path)
	if code != 0 {
		t.Fatalf("exit %d; stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	var got []string
	for _, c := range clitest.PlanLine(t, stdout).Changes {
		got = append(got, string(c.Action)+" "+string(c.Reason)+" "+c.Member)
	}
	wantChanges := []string{"share new-member " + env.ProjectVOBeta, "unshare stale-member " + env.ProjectVOAlpha}
	if !slices.Equal(got, wantChanges) {
		t.Errorf("changes %q, want %q", got, wantChanges)
	}
	want[tag+"-s1"] = []string{env.ProjectVOBeta + ":accepted"}
	if got := members(t, env.CK, env.ProjectCK); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("after the move: members %v, want %v", got, want)
	}

	t.Run("no role in the member project: left pending and reported", func(t *testing.T) {
		// bob's own project is vo-beta; he has no role in vo-alpha.
		m := fmt.Sprintf(`{"alpha.vo": {"project": %q}}`, env.ProjectVOAlpha)
		if err := os.WriteFile(fx.Mapping, []byte(m), 0o644); err != nil {
			t.Fatal(err)
		}
		code, stdout, stderr := fx.Run(t, "sync", "--os-cloud", glancetest.CloudBob, "--share-mode", "members", la.Path)
		if code != 0 {
			t.Fatalf("exit %d; stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
		if !strings.Contains(stderr, "left pending") {
			t.Errorf("the pending member is not reported:\n%s", stderr)
		}
		wantBob := map[string][]string{tag + "-s1": {env.ProjectVOAlpha + ":pending"}}
		if got := members(t, env.VOBeta, env.ProjectVOBeta); fmt.Sprint(got) != fmt.Sprint(wantBob) {
			t.Errorf("bob's copy: members %v, want %v", got, wantBob)
		}
		code, stdout, _ = fx.Run(t, "diff", "--os-cloud", glancetest.CloudBob, "--share-mode", "members", "--exit-code", la.Path)
		if code != 0 || !strings.Contains(stdout, "1 image member pending") {
			t.Errorf("diff: exit %d, want 0 and the pending member counted:\n%s", code, stdout)
		}
	})
}
