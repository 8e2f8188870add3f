package prune_test

// Integration tests: `ck prune` in-process against the local Keystone +
// Glance of contrib/devcloud/devcloud.sh (skipped without it, failed
// under CI=true).

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ck-sync/ck/pkg/cli/clitest"
	"github.com/ck-sync/ck/pkg/cli/cmdutil"
	"github.com/ck-sync/ck/pkg/glance"
	"github.com/ck-sync/ck/pkg/glance/glancetest"
	"github.com/ck-sync/ck/pkg/plan"
)

func TestIntegrationPrune(t *testing.T) {
	t.Parallel()
	fx := clitest.New(t)
	env, ctx := fx.Env, fx.Ctx
	day := 24 * time.Hour
	alpha := fx.WriteList(t, fx.Tag+"-alpha", "alpha.vo", clitest.ImageSpec{ID: "a1"})
	gone := fx.WriteList(t, fx.Tag+"-gone", "alpha.vo", clitest.ImageSpec{ID: "g1"}) // unsubscribed below
	subs := fx.Subscribe(t, alpha)

	retiredAt := func(age time.Duration) func(*glance.CreateSpec) {
		return func(s *glance.CreateSpec) {
			s.Properties[plan.PropRetired] = clitest.Now.Add(-age).UTC().Format(time.RFC3339)
			s.Hidden = true
		}
	}
	as := func(id string) plan.Desired {
		d := fx.Desired(t, alpha, "a1")
		d.Properties[plan.PropImageID] = id
		return d
	}
	// ck's images hold the listed bytes: Glance's hash is what proves it.
	a1 := []byte(alpha.List.ID + "/a1") // clitest's default bytes of a1
	current := fx.Seed(t, env.VOAlpha, fx.Desired(t, alpha, "a1"), a1, nil)
	old := fx.Seed(t, env.VOAlpha, as("a0"), a1, retiredAt(8*day))
	young := fx.Seed(t, env.VOAlpha, as("a-young"), a1, retiredAt(6*day))
	protected := fx.Seed(t, env.VOAlpha, as("a-protected"), a1, retiredAt(9*day))
	if _, err := env.VOAlpha.UpdateImage(ctx, protected.ID, []glance.Patch{{Op: glance.OpReplace, Path: "/protected", Value: true}}); err != nil {
		t.Fatal(err)
	}
	unsubscribed := fx.Seed(t, env.VOAlpha, fx.Desired(t, gone, "g1"), []byte(gone.List.ID+"/g1"), nil)
	// Not ck's: ck's properties without ck's tag, and a server snapshot.
	foreign := fx.Seed(t, env.VOAlpha, as("a-foreign"), a1, func(s *glance.CreateSpec) {
		retiredAt(30 * day)(s)
		s.Tags = []string{"someone-else"}
	})
	snapshot := fx.Seed(t, env.VOAlpha, as("a-snapshot"), a1, func(s *glance.CreateSpec) {
		retiredAt(30 * day)(s)
		s.Properties[plan.PropImageType] = "snapshot"
	})
	// Issue 11 item 1: alice, a member of vo-alpha, uploads her own bytes
	// with ck's tag and properties copied, ck_retired a month ago: prune
	// must not delete it (it reports it instead).
	alice := env.Connect(t, glancetest.CloudAlice, "")
	forged := fx.Seed(t, alice, as("a-forged"), []byte("alice's own bytes"), retiredAt(30*day))
	untouched := func(t *testing.T) {
		t.Helper()
		for _, want := range []glance.Image{foreign, snapshot, current, forged} {
			got, ok := fx.Get(t, want.ID)
			if !ok || got.Status != "active" || !got.UpdatedAt.Equal(want.UpdatedAt) {
				t.Errorf("image %s (%s) was touched: present %v, status %q, updated %v (was %v)", want.ID, want.Name, ok, got.Status, got.UpdatedAt, want.UpdatedAt)
			}
		}
	}
	flags := []string{"prune", "--image-lists-file", subs, "--max-retire", "none"}

	t.Run("dry run changes nothing", func(t *testing.T) {
		code, stdout, stderr := fx.Run(t, append(flags, "--dry-run", "--max-delete", "none", "-o", "json")...)
		if code != 0 {
			t.Fatalf("exit %d; stderr:\n%s", code, stderr)
		}
		p := clitest.PlanLine(t, stdout)
		var got []string
		for _, c := range p.Changes {
			got = append(got, clitest.Brief(c))
		}
		want := []string{
			"delete grace-over a-protected " + protected.ID,
			"delete grace-over a0 " + old.ID,
			"retire unsubscribed g1 " + unsubscribed.ID,
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("changes:\n got %q\nwant %q", got, want)
		}
		if len(p.Notices) != 1 || p.Notices[0].GlanceImageID != forged.ID || p.Notices[0].Kind != plan.NoticeUnproven {
			t.Errorf("notices = %+v, want alice's image %s reported as unproven", p.Notices, forged.ID)
		}
		if img, _ := fx.Get(t, old.ID); img.Status != "active" {
			t.Errorf("dry run touched %s: status %s", old.ID, img.Status)
		}
	})
	t.Run("max-delete guard", func(t *testing.T) {
		code, stdout, stderr := fx.Run(t, append(flags, "--max-delete", "1")...)
		if code != cmdutil.ExitError || !strings.Contains(stderr, "--max-delete") || !strings.Contains(stdout, "Blocked:") {
			t.Fatalf("exit %d, want 1 naming --max-delete; stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
		if img, ok := fx.Get(t, old.ID); !ok || img.Status != "active" {
			t.Errorf("blocked prune touched %s", old.ID)
		}
		if img, _ := fx.Get(t, unsubscribed.ID); img.Properties[plan.PropRetired] != "" {
			t.Errorf("blocked prune retired %s", unsubscribed.ID)
		}
	})
	t.Run("prune", func(t *testing.T) {
		code, stdout, stderr := fx.Run(t, append(flags, "--max-delete", "none", "-o", "json")...)
		if code != cmdutil.ExitPartial {
			t.Fatalf("exit %d, want %d (the protected image); stdout:\n%s\nstderr:\n%s", code, cmdutil.ExitPartial, stdout, stderr)
		}
		want := fmt.Sprintf(`"glance_id":%q,"status":"refused"`, protected.ID)
		if !strings.Contains(stdout, want) || !strings.Contains(stdout, `"type":"summary","retired":1,"deleted":1,"refused":1,"failed":0`) {
			t.Errorf("report lacks %s and the summary:\n%s", want, stdout)
		}
		if _, ok := fx.Get(t, old.ID); ok {
			t.Errorf("image %s retired 8 days ago was not deleted", old.ID)
		}
		if img, ok := fx.Get(t, young.ID); !ok || img.Status != "active" {
			t.Errorf("image %s retired 6 days ago: present %v status %q, want kept", young.ID, ok, img.Status)
		}
		if img, ok := fx.Get(t, protected.ID); !ok || img.Status != "deactivated" || !img.Hidden {
			t.Errorf("protected image %s: present %v status %q hidden %v, want kept, deactivated and hidden", protected.ID, ok, img.Status, img.Hidden)
		}
		if img, _ := fx.Get(t, unsubscribed.ID); img.Properties[plan.PropRetired] != clitest.Now.Format(time.RFC3339) || !img.Hidden || img.Status != "active" {
			t.Errorf("unsubscribed image %s: ck_retired %q hidden %v status %s, want retired now, hidden, still active",
				unsubscribed.ID, img.Properties[plan.PropRetired], img.Hidden, img.Status)
		}
		untouched(t)
	})
	t.Run("again: the protected image is still reported, nothing else", func(t *testing.T) {
		code, stdout, stderr := fx.Run(t, append(flags, "--max-delete", "none")...)
		if code != cmdutil.ExitPartial || !strings.Contains(stdout, "refused") || !strings.Contains(stdout, "protected") {
			t.Fatalf("exit %d, want 3 and the refusal; stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
		untouched(t)
	})
}

// A list that cannot be read causes nothing, even in prune.
func TestIntegrationPruneUnreadableList(t *testing.T) {
	t.Parallel()
	fx := clitest.New(t)
	lost := fx.WriteList(t, fx.Tag+"-lost", "alpha.vo", clitest.ImageSpec{ID: "l1"})
	img := fx.Seed(t, fx.Env.VOAlpha, fx.Desired(t, lost, "l1"), []byte(lost.List.ID+"/l1"), nil)
	subs := fx.Subscribe(t, lost)
	if err := writeGarbage(lost.Path); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := fx.Run(t, "prune", "--image-lists-file", subs, "--max-retire", "none", "--max-delete", "none")
	if code != cmdutil.ExitPartial || !strings.Contains(stdout, "failed") {
		t.Fatalf("exit %d, want 3 with the failed list; stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if got, _ := fx.Get(t, img.ID); got.Properties[plan.PropRetired] != "" || got.Hidden {
		t.Errorf("image %s of an unreadable list was retired", img.ID)
	}
}
