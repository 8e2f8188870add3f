package plan_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/ck-sync/ck/pkg/glance"
	"github.com/ck-sync/ck/pkg/plan"
	pt "github.com/ck-sync/ck/pkg/plan/plantest"
)

func TestBuildShareMembers(t *testing.T) {
	const home, voA, voB, voC = "home", "vo-a", "vo-b", "vo-c"
	img := pt.Image("i1", "CernVM", "1")
	l := pt.List("l1", "alpha.vo", month, img)
	in := plan.ListInput{Source: srcA, Status: plan.ListValid, List: l, Project: home, Members: []string{voB, voA}}
	pol := plan.Policy{ManagedProjects: []string{home}, MaxRetire: -1, FullSet: true, CanAccept: map[string]bool{voA: true}}
	shared := func(members ...glance.Member) glance.Image {
		d := plan.DesiredImage(l, img, srcA, pol)
		d.Visibility = "shared"
		g := pt.FromDesired(d, home, "g1", t0)
		g.Members = members
		return g
	}
	m := func(p, status string) glance.Member {
		return glance.Member{ImageID: "g1", ProjectID: p, Status: status}
	}

	tests := []struct {
		name      string
		observed  []glance.Image
		want      []string
		pending   int
		unchanged int
	}{
		{name: "new image: created shared, members in desired", want: []string{"create new home l1/i1"}},
		{name: "members missing: shared", observed: []glance.Image{shared()},
			want: []string{"share new-member home l1/i1 g1", "share new-member home l1/i1 g1"}},
		{name: "pending where ck can accept: accepted; elsewhere: counted",
			observed: []glance.Image{shared(m(voA, glance.MemberPending), m(voB, glance.MemberPending))},
			want:     []string{"share member-pending home l1/i1 g1"}, pending: 1},
		{name: "accepted and rejected: nothing to do",
			observed: []glance.Image{shared(m(voA, glance.MemberAccepted), m(voB, glance.MemberRejected))},
			want:     []string{}, unchanged: 1},
		{name: "a member no list wants: unshared",
			observed: []glance.Image{shared(m(voA, glance.MemberAccepted), m(voB, glance.MemberAccepted), m(voC, glance.MemberAccepted))},
			want:     []string{"unshare stale-member home l1/i1 g1"}},
		{name: "a private copy becomes shared", observed: []glance.Image{func() glance.Image {
			g := shared(m(voA, glance.MemberAccepted), m(voB, glance.MemberAccepted))
			g.Visibility = "private"
			return g
		}()}, want: []string{"update-metadata metadata-changed home l1/i1 g1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := plan.Build([]plan.ListInput{in}, tt.observed, pol, now)
			if err != nil {
				t.Fatal(err)
			}
			if got := brief(p); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("changes:\n got  %q\n want %q", got, tt.want)
			}
			if p.Stats.Pending != tt.pending || p.Stats.Unchanged != tt.unchanged {
				t.Errorf("stats = %+v, want %d pending, %d unchanged", p.Stats, tt.pending, tt.unchanged)
			}
			assertIdempotent(t, []plan.ListInput{in}, tt.observed, pol, p)
			for _, c := range p.Changes {
				switch c.Action {
				case plan.ActionCreate:
					if !reflect.DeepEqual(c.Desired.Members, []string{voA, voB}) || c.Desired.Visibility != "shared" {
						t.Errorf("create: members %v visibility %s, want [vo-a vo-b] shared", c.Desired.Members, c.Desired.Visibility)
					}
				case plan.ActionShare, plan.ActionUnshare:
					if c.Member == "" {
						t.Errorf("%s without a member", c.Action)
					}
				}
			}
		})
	}
}

// Issue 11 item 6: an unshare takes an image away from a VO's users as a
// retirement does, so unshares count towards --max-retire.
func TestBuildUnsharesCountTowardsTheRetireGuard(t *testing.T) {
	const home = "home"
	img := pt.Image("i1", "CernVM", "1")
	l := pt.List("l1", "alpha.vo", month, img)
	in := plan.ListInput{Source: srcA, Status: plan.ListValid, List: l, Project: home, Members: []string{"vo-a"}}
	d := plan.DesiredImage(l, img, srcA, plan.Policy{})
	d.Visibility = "shared"
	g := pt.FromDesired(d, home, "g1", t0)
	for _, p := range []string{"vo-a", "vo-x", "vo-y"} {
		g.Members = append(g.Members, glance.Member{ImageID: "g1", ProjectID: p, Status: glance.MemberAccepted})
	}
	p, err := plan.Build([]plan.ListInput{in}, []glance.Image{g}, plan.Policy{ManagedProjects: []string{home}, MaxRetire: 1}, now)
	want := &plan.GuardError{Action: plan.ActionRetire, Count: 0, Limit: 1, Unshare: 2}
	if p == nil || p.Blocked == nil || *p.Blocked != *want || err == nil {
		t.Fatalf("Build() = %+v, %v; want blocked by %+v", p, err, want)
	}
	if msg := err.Error(); !strings.Contains(msg, "unshare 2") || !strings.Contains(msg, "--max-retire") {
		t.Errorf("error %q does not say it would unshare 2 images over --max-retire", msg)
	}
	if _, err := plan.Build([]plan.ListInput{in}, []glance.Image{g}, plan.Policy{ManagedProjects: []string{home}, MaxRetire: 2}, now); err != nil {
		t.Errorf("2 unshares with --max-retire 2: %v", err)
	}
}

// Issue 11 item 6: when a VO leaves mapping.json in member mode, its
// list is skipped (nothing is created for it) but the shared copies stay
// and lose their members, instead of staying shared with the VO.
func TestBuildDropsMembersOfAnUnmappedVO(t *testing.T) {
	const home = "home"
	img := pt.Image("i1", "CernVM", "1")
	l := pt.List("l1", "alpha.vo", month, img, pt.Image("i2", "Not uploaded yet", "1"))
	d := plan.DesiredImage(l, img, srcA, plan.Policy{})
	d.Visibility = "shared"
	g := pt.FromDesired(d, home, "g1", t0)
	g.Members = []glance.Member{{ImageID: "g1", ProjectID: "vo-a", Status: glance.MemberAccepted}}
	in := plan.ListInput{Source: srcA, Status: plan.ListSkipped, List: l, ListID: "l1", Project: home, DropMembers: true,
		Reason: `no project mapped for VO "alpha.vo"`}
	p, err := plan.Build([]plan.ListInput{in}, []glance.Image{g}, plan.Policy{ManagedProjects: []string{home}, MaxRetire: -1, FullSet: true}, now)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := brief(p), []string{"unshare stale-member home l1/i1 g1"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("changes %q, want %q", got, want)
	}
	if p.Changes[0].Member != "vo-a" || p.Stats.Kept != 1 || p.Lists[0].Status != plan.ListSkipped {
		t.Errorf("unshare of %q, stats %+v, list %+v: want vo-a unshared, the image kept, the list skipped", p.Changes[0].Member, p.Stats, p.Lists[0])
	}
}
