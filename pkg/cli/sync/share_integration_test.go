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
	"github.com/ck-sync/ck/pkg/registry/registrytest"
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

	writeMapping := func(t *testing.T, m string) {
		t.Helper()
		if err := os.WriteFile(fx.Mapping, []byte(m), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// Issue 11 item 6: a member project id Keystone does not know (here a
	// typo) fails its VO's list: nothing is shared with it, and the VO's
	// real project, no longer named, is not unshared.
	t.Run("unknown member project: an error, nothing unshared", func(t *testing.T) {
		const typo = "0123456789abcdef0123456789abcdef"
		writeMapping(t, fmt.Sprintf(`{"alpha.vo": {"project": %q}, "beta.vo": {"project": %q}}`, typo, env.ProjectVOBeta))
		code, stdout, stderr := fx.Run(t, "sync", "--share-mode", "members", "-o", "json", la.Path, lb.Path)
		if code != 3 {
			t.Fatalf("exit %d, want 3; stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
		p := clitest.PlanLine(t, stdout)
		for _, c := range p.Changes {
			t.Errorf("unexpected change %s member %s", clitest.Brief(c), c.Member)
		}
		for _, l := range p.Lists {
			if l.ListID == la.List.ID && (l.Status != plan.ListFailed || !strings.Contains(l.Reason, typo)) {
				t.Errorf("list %s: %s (%s), want failed naming project %s", l.ListID, l.Status, l.Reason, typo)
			}
		}
		if got := members(t, env.CK, env.ProjectCK); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("members %v, want them unchanged: %v", got, want)
		}
	})

	// Issue 11 item 6: a VO removed from mapping.json loses its membership;
	// the image stays (nothing is created for the VO's list either).
	t.Run("VO removed from the mapping: membership removed, image kept", func(t *testing.T) {
		writeMapping(t, fmt.Sprintf(`{"beta.vo": {"project": %q}}`, env.ProjectVOBeta))
		code, stdout, stderr := fx.Run(t, "sync", "--share-mode", "members", "-o", "json", la.Path, lb.Path)
		if code != 3 { // the unmapped VO's list is reported as skipped
			t.Fatalf("exit %d, want 3; stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
		var got []string
		for _, c := range clitest.PlanLine(t, stdout).Changes {
			got = append(got, string(c.Action)+" "+string(c.Reason)+" "+c.ImageID+" "+c.Member)
		}
		if wantChanges := []string{"unshare stale-member " + tag + "-s1 " + env.ProjectVOBeta}; !slices.Equal(got, wantChanges) {
			t.Errorf("changes %q, want %q", got, wantChanges)
		}
		want[tag+"-s1"] = []string{}
		if got := members(t, env.CK, env.ProjectCK); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("members %v, want %v", got, want)
		}
		imgs, err := env.CK.ListImages(ctx, glance.ListFilter{Tag: tag, Owner: env.ProjectCK})
		if err != nil {
			t.Fatal(err)
		}
		for _, img := range imgs {
			if img.Status != "active" || img.Properties[plan.PropRetired] != "" {
				t.Errorf("image %s: status %s, ck_retired %q: want it kept", img.Properties[plan.PropImageID], img.Status, img.Properties[plan.PropRetired])
			}
		}
	})

	t.Run("no role in the member project and no right to look it up: an error", func(t *testing.T) {
		// bob's own project is vo-beta; he has no role in vo-alpha, and
		// Keystone does not let him read it: ck cannot tell a typo.
		writeMapping(t, fmt.Sprintf(`{"alpha.vo": {"project": %q}}`, env.ProjectVOAlpha))
		code, stdout, stderr := fx.Run(t, "sync", "--os-cloud", glancetest.CloudBob, "--share-mode", "members", la.Path)
		if code != 3 || !strings.Contains(stdout, "cannot tell it from a mistyped id") {
			t.Fatalf("exit %d, want 3 and the list failed; stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
		if imgs, _ := env.VOBeta.ListImages(ctx, glance.ListFilter{Tag: tag, Owner: env.ProjectVOBeta}); len(imgs) != 0 {
			t.Errorf("bob's project got %d images", len(imgs))
		}
	})

	t.Run("no role in the member project, known to Keystone: left pending and reported", func(t *testing.T) {
		// admin has a role in project admin only, but may read every
		// project in Keystone.
		home := env.Admin.ProjectID()
		writeMapping(t, fmt.Sprintf(`{"alpha.vo": {"project": %q}}`, env.ProjectVOAlpha))
		code, stdout, stderr := fx.Run(t, "sync", "--os-cloud", glancetest.CloudAdmin, "--share-mode", "members", la.Path)
		if code != 0 {
			t.Fatalf("exit %d; stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
		if !strings.Contains(stderr, "left pending") {
			t.Errorf("the pending member is not reported:\n%s", stderr)
		}
		wantAdmin := map[string][]string{tag + "-s1": {env.ProjectVOAlpha + ":pending"}}
		if got := members(t, env.Admin, home); fmt.Sprint(got) != fmt.Sprint(wantAdmin) {
			t.Errorf("admin's copy: members %v, want %v", got, wantAdmin)
		}
		code, stdout, _ = fx.Run(t, "diff", "--os-cloud", glancetest.CloudAdmin, "--share-mode", "members", "--exit-code", la.Path)
		if code != 0 || !strings.Contains(stdout, "1 image member pending") {
			t.Errorf("diff: exit %d, want 0 and the pending member counted:\n%s", code, stdout)
		}
		// A project Keystone does not know, told apart from one ck has no
		// role in because admin may read projects.
		writeMapping(t, `{"alpha.vo": {"project": "0123456789abcdef0123456789abcdef"}}`)
		code, stdout, stderr = fx.Run(t, "diff", "--os-cloud", glancetest.CloudAdmin, "--share-mode", "members", la.Path)
		if code != 3 || !strings.Contains(stdout, "Keystone knows no project with that id") {
			t.Errorf("unknown project: exit %d, want 3 naming it; stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
	})
}

// One source for two VOs (a registry source's vos) under --share-mode
// members: one shared copy whose members are both VOs' projects, and the
// next run changes nothing (it once kept only the first VO, so the second
// was never shared, or was unshared if it was).
func TestIntegrationShareMembersOneSourceTwoVOs(t *testing.T) {
	reg := registrytest.Setup(t).Anon
	fx := newRegFixture(t, reg)
	a := reg.Push(t, registrytest.Spec{})
	src := "oci://" + reg.Host + "/" + a.Repo
	id := reg.Host + "/" + a.Repo + ":24.04"
	args := fx.subscribe(t, []string{src}, "  - url: "+src+"\n    vos: [beta.vo, alpha.vo]\n")

	r := fx.sync(t, args, "--share-mode", "members")
	if r.code != 0 {
		t.Fatalf("sync: %s", r)
	}
	img := fx.current(t, id)
	if img.Owner != fx.env.ProjectCK || img.Visibility != "shared" {
		t.Fatalf("image owner %s visibility %s, want one shared copy in %s", img.Owner, img.Visibility, fx.env.ProjectCK)
	}
	ms, err := fx.env.CK.ListMembers(fx.ctx, img.ID)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range ms {
		got = append(got, m.ProjectID+":"+m.Status)
	}
	slices.Sort(got)
	want := []string{fx.env.ProjectVOAlpha + ":accepted", fx.env.ProjectVOBeta + ":accepted"}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("members %q, want %q", got, want)
	}
	if n := len(fx.byImageID(t)[id]); n != 1 {
		t.Errorf("%d images of %s, want one shared copy", n, id)
	}
	if r := fx.sync(t, args, "--share-mode", "members"); r.code != 0 || !strings.Contains(r.stdout, `"changes":[]`) {
		t.Errorf("second sync is not a no-op: %s", r)
	}
}
