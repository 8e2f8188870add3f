package render_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ck-sync/ck/pkg/glance"
	"github.com/ck-sync/ck/pkg/plan"
	pt "github.com/ck-sync/ck/pkg/plan/plantest"
	"github.com/ck-sync/ck/pkg/plan/render"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// plans returns the plans the golden files show, by name.
func plans(t *testing.T) map[string]*plan.Plan {
	t.Helper()
	lists, observed, pol := pt.Scenario()
	every, err := plan.Build(lists, observed, pol, pt.Now)
	if err != nil {
		t.Fatal(err)
	}

	img := pt.Image("c7", "CentOS 7 [x86_64]", "1")
	l := pt.List("list-1", "alpha.vo", pt.Now.Add(24*time.Hour), img)
	in := []plan.ListInput{{Source: pt.SourceAlpha, Status: plan.ListValid, List: l, Project: pt.ProjectAlpha, Digest: pt.SHA("l")[:64]}}
	up := []glance.Image{pt.CKImage(l, img, pt.SourceAlpha, pt.ProjectAlpha, "g-c7", pt.Now.Add(-time.Hour), pol)}
	empty, err := plan.Build(in, up, pol, pt.Now)
	if err != nil {
		t.Fatal(err)
	}

	strict := pol
	strict.MaxRetire = 0 // the default: 25% of ck's images
	blocked, err := plan.Build(lists, observed, strict, pt.Now)
	if blocked == nil || blocked.Blocked == nil {
		t.Fatalf("want a blocked plan, got error %v", err)
	}
	// prune: the scenario's retirements, then the deletion of the images
	// retired more than a day ago; pruneBlocked trips --max-delete.
	prunePol := plan.PrunePolicy{Tag: "ck", Managed: pol.ManagedProjects, Grace: 24 * time.Hour, MaxDelete: -1}
	pruned, err := plan.BuildPrune(every, observed, prunePol, pt.Now)
	if err != nil {
		t.Fatal(err)
	}
	prunePol.MaxDelete = 1
	pruneBlocked, _ := plan.BuildPrune(nil, observed, prunePol, pt.Now)
	if pruneBlocked == nil || pruneBlocked.Blocked == nil {
		t.Fatal("want a prune plan blocked by --max-delete")
	}
	// share: --share-mode members, one copy in vo-alpha shared with vo-beta
	// (to add) and with a project no list maps to any more (to remove).
	sharedIn := in[0]
	sharedIn.Members = []string{pt.ProjectBeta}
	sharedPol := pol
	sharedPol.Visibility = "shared"
	sharedImg := pt.CKImage(l, img, pt.SourceAlpha, pt.ProjectAlpha, "g-c7", pt.Now.Add(-time.Hour), sharedPol)
	sharedImg.Members = []glance.Member{{ImageID: "g-c7", ProjectID: pt.ProjectOther, Status: glance.MemberAccepted}}
	shared, err := plan.Build([]plan.ListInput{sharedIn}, []glance.Image{sharedImg}, pol, pt.Now)
	if err != nil {
		t.Fatal(err)
	}
	// filter: list-1 filtered to c7 and "gone": c7 is created, ck's image
	// of u22 (left out) is kept, and ck's image of "gone", which left the
	// list, retires.
	u22, gone := pt.Image("u22", "Ubuntu 22.04", "1"), pt.Image("gone", "Gone 1.0", "1")
	fl := pt.List("list-1", "alpha.vo", pt.Now.Add(24*time.Hour), img, u22)
	filterIn := []plan.ListInput{{Source: pt.SourceAlpha, Status: plan.ListValid, List: fl, Project: pt.ProjectAlpha, Images: []string{"c7", "gone", "typo"}}}
	filterHave := []glance.Image{
		pt.CKImage(fl, u22, pt.SourceAlpha, pt.ProjectAlpha, "g-u22", pt.Now.Add(-time.Hour), pol),
		pt.CKImage(fl, gone, pt.SourceAlpha, pt.ProjectAlpha, "g-gone", pt.Now.Add(-time.Hour), pol),
	}
	filtered, err := plan.Build(filterIn, filterHave, pol, pt.Now)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]*plan.Plan{"every": every, "empty": empty, "blocked": blocked, "prune": pruned, "prune-blocked": pruneBlocked, "share": shared, "filter": filtered}
}

func TestGolden(t *testing.T) {
	all := plans(t)
	tests := []struct {
		name   string
		plan   string
		render func(*bytes.Buffer, *plan.Plan) error
	}{
		{"every.txt", "every", text(false)},
		{"every-color.txt", "every", text(true)},
		{"every.json", "every", jsonDoc},
		{"empty.txt", "empty", text(false)},
		{"empty.json", "empty", jsonDoc},
		{"blocked.txt", "blocked", text(false)},
		{"prune.txt", "prune", text(false)},
		{"prune.json", "prune", jsonDoc},
		{"prune-blocked.txt", "prune-blocked", text(false)},
		{"share.txt", "share", text(false)},
		{"share.json", "share", jsonDoc},
		{"filter.txt", "filter", text(false)},
		{"filter.json", "filter", jsonDoc},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := tt.render(&buf, all[tt.plan]); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", tt.name+".golden")
			if *update {
				if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./pkg/plan/render -update)", err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("%s differs from %s:\n%s", tt.name, golden, buf.String())
			}
		})
	}
}

func text(color bool) func(*bytes.Buffer, *plan.Plan) error {
	return func(b *bytes.Buffer, p *plan.Plan) error {
		return render.Text(b, p, render.TextOptions{Color: color, ProjectNames: pt.ProjectNames})
	}
}

func jsonDoc(b *bytes.Buffer, p *plan.Plan) error { return render.JSON(b, p) }

func TestJSONParsesBack(t *testing.T) {
	for name, p := range plans(t) {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := render.JSON(&buf, p); err != nil {
				t.Fatal(err)
			}
			back, err := plan.Parse(buf.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			var again bytes.Buffer
			if err := render.JSON(&again, back); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf.Bytes(), again.Bytes()) {
				t.Errorf("JSON(Parse(JSON(p))) differs from JSON(p)")
			}
		})
	}
}

func TestTextHasNoColorUnlessAsked(t *testing.T) {
	p := plans(t)["every"]
	var buf bytes.Buffer
	if err := render.Text(&buf, p, render.TextOptions{}); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(buf.Bytes(), []byte("\x1b[")) {
		t.Errorf("Text without Color wrote ANSI escapes")
	}
}

func TestJSONWithholdsImageURLCredentials(t *testing.T) {
	p := &plan.Plan{Changes: []plan.Change{{Action: plan.ActionCreate, Desired: &plan.Desired{URI: "https://s3cr3tT0ken:x-oauth-basic@images.example.org/a.qcow2?sig=abc123"}}}}
	var buf bytes.Buffer
	if err := render.JSON(&buf, p); err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"s3cr3tT0ken", "abc123"} {
		if strings.Contains(buf.String(), secret) {
			t.Errorf("plan JSON contains %q:\n%s", secret, buf.String())
		}
	}
	if !strings.Contains(buf.String(), "images.example.org/a.qcow2") {
		t.Errorf("plan JSON lost the URL's host and path:\n%s", buf.String())
	}
	if p.Changes[0].Desired.URI == "" || !strings.Contains(p.Changes[0].Desired.URI, "s3cr3tT0ken") {
		t.Error("JSON changed the plan it rendered")
	}
}
