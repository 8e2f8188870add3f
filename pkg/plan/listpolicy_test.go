package plan_test

import (
	"testing"

	"github.com/ck-sync/ck/pkg/plan"
	pt "github.com/ck-sync/ck/pkg/plan/plantest"
)

// A list's own name prefix follows the site's, and its own visibility
// replaces the site's (atrope's per-source prefix and sharing_model).
func TestBuildListNamePrefixAndVisibility(t *testing.T) {
	i1 := pt.Image("i1", "Image one", "1")
	pol := pol
	pol.NamePrefix = "site "
	in := valid(srcA, pa, pt.List("LA", "vo.a", month, i1))
	in.NamePrefix, in.Visibility = "registry.egi.eu ", "community"
	p, err := plan.Build([]plan.ListInput{in}, nil, pol, now)
	if err != nil {
		t.Fatal(err)
	}
	d := p.Changes[0].Desired
	if d.Name != "site registry.egi.eu Image one" || d.Visibility != "community" {
		t.Errorf("name %q visibility %q", d.Name, d.Visibility)
	}
	other, _ := plan.Build([]plan.ListInput{valid(srcA, pa, pt.List("LA", "vo.a", month, i1))}, nil, pol, now)
	if d := other.Changes[0].Desired; d.Name != "site Image one" || d.Visibility != "private" {
		t.Errorf("without list settings: name %q visibility %q", d.Name, d.Visibility)
	}
}
