package plan_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ck-sync/ck/pkg/glance"
	"github.com/ck-sync/ck/pkg/imagelist"
	"github.com/ck-sync/ck/pkg/plan"
	pt "github.com/ck-sync/ck/pkg/plan/plantest"
)

// Issue 11 item 2: two subscriptions that give one dc:identifier. The copy
// used never depends on the alphabetical order of the sources, and copies
// that disagree change nothing.
func TestBuildOneListIDFromTwoSources(t *testing.T) {
	const (
		primary = "https://appdb.example.org/store/vo/a/image.list"
		mirror  = "http://mirror.example.org/a/image.list" // sorts first
	)
	i1, i2 := pt.Image("i1", "One", "1"), pt.Image("i2", "Two", "1")
	lA := pt.List("LA", "vo.a", month, i1, i2)
	observed := []glance.Image{
		pt.CKImage(lA, i1, primary, pa, "g1", t0, pol),
		pt.CKImage(lA, i2, primary, pa, "g2", t0, pol),
	}
	expired := pt.List("LA", "vo.a", now.Add(-time.Hour), i1, i2)
	older := func(l *imagelist.List) *imagelist.List { c := *l; c.Created = l.Created.Add(-time.Hour); return &c }
	otherEndorser := func(l *imagelist.List) *imagelist.List {
		c := *l
		c.Endorser.DN = "/DC=org/DC=evil/CN=another publisher"
		return &c
	}
	i1other := mutate(i1, func(i *imagelist.Image) { i.SHA512 = pt.SHA("other bytes") })

	type listStatus struct {
		source string
		status plan.ListStatus
	}
	tests := []struct {
		name       string
		lists      []plan.ListInput
		want       []string
		statuses   []listStatus
		reasonHas  map[string][]string // source → words its reason must contain
		wantFailed bool
	}{
		{
			name:     "an expired mirror of the same list does not beat the valid primary",
			lists:    []plan.ListInput{valid(mirror, pa, expired), valid(primary, pa, lA)},
			want:     []string{},
			statuses: []listStatus{{mirror, plan.ListSkipped}, {primary, plan.ListValid}},
			reasonHas: map[string][]string{
				mirror: {"same list as " + primary, "this copy expired"},
			},
		},
		{
			name:  "of two valid copies the newest dc:date:created is used",
			lists: []plan.ListInput{valid(mirror, pa, lA), valid(primary, pa, older(lA))},
			// ck_list_url names the copy used.
			want:     []string{"update-metadata metadata-changed project-a LA/i1 g1", "update-metadata metadata-changed project-a LA/i2 g2"},
			statuses: []listStatus{{mirror, plan.ListValid}, {primary, plan.ListSkipped}},
			reasonHas: map[string][]string{
				primary: {"same list as " + mirror, "newer"},
			},
		},
		{
			name:     "another endorser claiming the id: both fail, nothing retired or created",
			lists:    []plan.ListInput{valid(primary, pa, lA), valid(mirror, pa, otherEndorser(pt.List("LA", "vo.a", month, pt.Image("evil", "Evil", "1"))))},
			want:     []string{},
			statuses: []listStatus{{mirror, plan.ListFailed}, {primary, plan.ListFailed}},
			reasonHas: map[string][]string{
				primary: {mirror, "endorser DN"},
				mirror:  {primary, "endorser DN"},
			},
		},
		{
			name:     "a copy with another image set: both fail",
			lists:    []plan.ListInput{valid(primary, pa, lA), valid(mirror, pa, pt.List("LA", "vo.a", month, i1))},
			want:     []string{},
			statuses: []listStatus{{mirror, plan.ListFailed}, {primary, plan.ListFailed}},
			reasonHas: map[string][]string{
				primary: {mirror, `image "i2" is only in`},
				mirror:  {primary},
			},
		},
		{
			name:     "a copy with another digest: both fail",
			lists:    []plan.ListInput{valid(primary, pa, lA), valid(mirror, pa, pt.List("LA", "vo.a", month, i1other, i2))},
			want:     []string{},
			statuses: []listStatus{{mirror, plan.ListFailed}, {primary, plan.ListFailed}},
			reasonHas: map[string][]string{
				primary: {mirror, `image "i1" has sha512`},
			},
		},
		{
			name:     "an expired copy that disagrees: both fail rather than retire",
			lists:    []plan.ListInput{valid(mirror, pa, pt.List("LA", "vo.a", now.Add(-time.Hour), i1)), valid(primary, pa, lA)},
			want:     []string{},
			statuses: []listStatus{{mirror, plan.ListFailed}, {primary, plan.ListFailed}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := plan.Build(tt.lists, observed, pol, now)
			if err != nil {
				t.Fatal(err)
			}
			if got := brief(p); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("changes:\n got  %q\n want %q", got, tt.want)
			}
			var got []listStatus
			for _, l := range p.Lists {
				got = append(got, listStatus{l.Source, l.Status})
				for _, w := range tt.reasonHas[l.Source] {
					if !strings.Contains(l.Reason, w) {
						t.Errorf("list %s: reason %q lacks %q", l.Source, l.Reason, w)
					}
				}
			}
			if !reflect.DeepEqual(got, tt.statuses) {
				t.Errorf("lists = %v, want %v", got, tt.statuses)
			}
			// Shuffled input order gives the same plan.
			rev := []plan.ListInput{tt.lists[1], tt.lists[0]}
			again, err := plan.Build(rev, observed, pol, now)
			if err != nil || !reflect.DeepEqual(again, p) {
				t.Errorf("plan depends on the order of the inputs: %q vs %q", brief(again), brief(p))
			}
		})
	}
}
