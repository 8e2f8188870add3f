package plan_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/ck-sync/ck/pkg/glance"
	"github.com/ck-sync/ck/pkg/imagelist"
	"github.com/ck-sync/ck/pkg/plan"
	pt "github.com/ck-sync/ck/pkg/plan/plantest"
)

// BenchmarkBuild is spec §9's diff at scale, the planning part: 2 000
// listed images in 4 lists, and 5 000 Glance images — 2 000 of them ck's
// current copies (a third with stale metadata), 3 000 other images.
func BenchmarkBuild(b *testing.B) {
	const project = "p-alpha"
	var inputs []plan.ListInput
	var observed []glance.Image
	pol := plan.Policy{ManagedProjects: []string{project}, MaxRetire: -1}
	for l := range 4 {
		var images []imagelist.Image
		for i := range 500 {
			images = append(images, pt.Image(fmt.Sprintf("img-%d-%d", l, i), fmt.Sprintf("Image %d/%d", l, i), "1"))
		}
		list := pt.List(fmt.Sprintf("list-%d", l), "alpha.vo", pt.Now.Add(365*24*time.Hour), images...)
		src := fmt.Sprintf("https://lists.example.org/%d/image.list", l)
		inputs = append(inputs, plan.ListInput{Source: src, Status: plan.ListValid, List: list, ListID: list.ID, Project: project, Digest: "d"})
		for i, img := range images {
			g := pt.CKImage(list, img, src, project, fmt.Sprintf("g-%d-%d", l, i), pt.Now.Add(-time.Hour), pol)
			if i%3 == 0 {
				g.Name += " (old title)"
			}
			observed = append(observed, g)
		}
	}
	for i := range 3000 {
		observed = append(observed, glance.Image{ID: fmt.Sprintf("other-%d", i), Owner: project, Status: "active", Name: "user image"})
	}
	b.ReportAllocs()
	for b.Loop() {
		p, err := plan.Build(inputs, observed, pol, pt.Now)
		if err != nil {
			b.Fatal(err)
		}
		if len(p.Changes) != 668 { // every third image of 4×500 has a stale name
			b.Fatalf("%d changes", len(p.Changes))
		}
	}
}
