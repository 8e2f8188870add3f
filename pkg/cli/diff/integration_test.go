package diff_test

// Integration tests: `ck diff` in-process against the local Keystone +
// Glance of contrib/devcloud/devcloud.sh (skipped without it, failed
// under CI=true). Each test tags its images with its own namespace and
// passes that as --tag, so parallel tests never see each other's images.

import (
	"bytes"
	"context"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ck-sync/ck/pkg/cli/clitest"
	"github.com/ck-sync/ck/pkg/cli/cmdutil"
	"github.com/ck-sync/ck/pkg/glance"
	"github.com/ck-sync/ck/pkg/plan"
)

// writeList signs a HEPiX list of VO vo holding qcow2 images (by
// dc:identifier) into dir, as AppDB would; image img of list id holds the
// bytes listBytes(id, img).
func writeList(t *testing.T, dir, id, vo string, images ...string) clitest.List {
	t.Helper()
	specs := make([]clitest.ImageSpec, 0, len(images))
	for _, img := range images {
		specs = append(specs, clitest.ImageSpec{
			ID:    img,
			URI:   "https://images.ck-test.example/" + img + ".qcow2",
			Data:  listBytes(id, img),
			Props: map[string]string{"hv:format": "QCOW2"},
		})
	}
	return clitest.WriteList(t, dir, id, vo, specs...)
}

// listBytes are the bytes of image img of list id.
func listBytes(id, img string) []byte { return []byte("ck diff test bytes of " + id + "/" + img) }

// seed creates an active image as ck would have from d, holding data
// (Glance's os_hash_value is what ck's plan trusts), changed by edit.
func seed(t *testing.T, ctx context.Context, svc *glance.Service, d plan.Desired, data []byte, edit func(*glance.CreateSpec)) glance.Image {
	t.Helper()
	spec := glance.CreateSpec{
		Name: d.Name, DiskFormat: "raw", ContainerFormat: "bare", Visibility: d.Visibility,
		MinRAM: d.MinRAM, Tags: slices.Clone(d.Tags), Properties: maps.Clone(d.Properties),
	}
	if edit != nil {
		edit(&spec)
	}
	img, err := svc.CreateImage(ctx, spec)
	if err != nil {
		t.Fatalf("seed %s: %v", spec.Name, err)
	}
	if err := svc.Upload(ctx, img.ID, bytes.NewReader(data)); err != nil {
		t.Fatalf("seed %s: upload: %v", spec.Name, err)
	}
	return img
}

// seedListed creates the image ck would have made for image img of l, as
// listed, changed by edit.
func (fx *fixture) seedListed(t *testing.T, svc *glance.Service, l clitest.List, img string, edit func(*glance.CreateSpec)) glance.Image {
	t.Helper()
	return seed(t, fx.Ctx, svc, fx.Desired(t, l, img), listBytes(l.List.ID, img), edit)
}

// asOtherBytes makes a seeded image one ck uploaded for an older version
// of the list: it holds data, and ck_sha512 and ck_size say so.
func asOtherBytes(data []byte) func(*glance.CreateSpec) {
	return func(s *glance.CreateSpec) {
		sum := sha512.Sum512(data)
		s.Properties[plan.PropSHA512] = hex.EncodeToString(sum[:])
		s.Properties[plan.PropSize] = strconv.Itoa(len(data))
	}
}

// fixture is a test's namespace, files and flags (clitest's, with a page
// size of 2 so that listing pages).
type fixture struct{ *clitest.Fixture }

func newFixture(t *testing.T) *fixture {
	fx := &fixture{clitest.New(t)}
	fx.PageSize = 2
	return fx
}

// run runs `ck diff` with the fixture's cloud, CA, mapping and tag.
func (fx *fixture) run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return fx.Run(t, append([]string{"diff"}, args...)...)
}

// snapshot is what must not change in Glance: every field ck could touch.
func (fx *fixture) snapshot(t *testing.T) map[string]string {
	t.Helper()
	imgs, err := fx.Env.Admin.ListImages(fx.Ctx, glance.ListFilter{Tag: fx.Tag})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, img := range imgs {
		b, _ := json.Marshal(img)
		out[img.ID] = string(b)
	}
	return out
}

func decodePlan(t *testing.T, stdout string) *plan.Plan {
	t.Helper()
	var p plan.Plan
	if err := json.Unmarshal([]byte(stdout), &p); err != nil {
		t.Fatalf("stdout is not a JSON plan: %v\n%s", err, stdout)
	}
	return &p
}

// changeLine identifies one change for comparison.
func changeLine(c plan.Change) string {
	return fmt.Sprintf("%s %s %s %s %s", c.Action, c.Reason, c.Project, c.ImageID, c.GlanceImageID)
}

func TestIntegrationDiff(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	env, ctx, tag := fx.Env, fx.Ctx, fx.Tag
	alpha := writeList(t, fx.Dir, tag+"-alpha", "alpha.vo", "a1", "a2", "a3", "a4", "a6")
	beta := writeList(t, fx.Dir, tag+"-beta", "beta.vo", "b1", "b2")

	// Project vo-alpha, mapped by id.
	a1 := fx.seedListed(t, env.VOAlpha, alpha, "a1", nil)
	oldA2 := []byte("the bytes a2 had in the list's previous version")
	a2 := seed(t, ctx, env.VOAlpha, fx.Desired(t, alpha, "a2"), oldA2, asOtherBytes(oldA2)) // the list's bytes changed
	a3 := fx.seedListed(t, env.VOAlpha, alpha, "a3", func(s *glance.CreateSpec) {
		s.Name = "old title"
		s.Properties[plan.PropTitle] = "old title"
	})
	a6 := fx.seedListed(t, env.VOAlpha, alpha, "a6", func(s *glance.CreateSpec) { s.Hidden = true })
	gone := fx.Desired(t, alpha, "a1")
	a1Bytes := listBytes(alpha.List.ID, "a1")
	gone.Properties[plan.PropImageID] = "a5"
	a5 := seed(t, ctx, env.VOAlpha, gone, a1Bytes, nil) // no longer listed
	gone.Properties[plan.PropImageID] = "a7"
	seed(t, ctx, env.VOAlpha, gone, a1Bytes, func(s *glance.CreateSpec) { // retired earlier
		s.Properties[plan.PropRetired] = "2026-05-01T00:00:00Z"
		s.Hidden = true
	})
	gone.Properties[plan.PropImageID] = "a8"
	seed(t, ctx, env.VOAlpha, gone, a1Bytes, func(s *glance.CreateSpec) { // a server snapshot
		s.Properties[plan.PropImageType] = "snapshot"
	})
	seed(t, ctx, env.VOAlpha, plan.Desired{Name: env.Name("foreign-alpha"), Visibility: "private", Tags: []string{tag}}, []byte("foreign"), nil)

	// Project vo-beta (domain egi), mapped by name and domain.
	b1 := fx.seedListed(t, env.VOBeta, beta, "b1", nil)
	goneB := fx.Desired(t, beta, "b1")
	goneB.Properties[plan.PropImageID] = "b3"
	b3 := seed(t, ctx, env.VOBeta, goneB, listBytes(beta.List.ID, "b1"), nil)
	fx.seedListed(t, env.VOBeta, beta, "b1", func(s *glance.CreateSpec) {
		s.Properties[plan.PropImageType] = "snapshot"
	})
	seed(t, ctx, env.VOBeta, plan.Desired{Name: env.Name("foreign-beta"), Visibility: "private", Tags: []string{tag}}, []byte("foreign"), nil)

	before := fx.snapshot(t)
	if len(before) != 12 {
		t.Fatalf("seeded %d images, want 12", len(before))
	}

	start := time.Now()
	code, stdout, stderr := fx.run(t, "-o", "json", "--max-retire", "2", alpha.Path, beta.Path)
	t.Logf("ck diff against the local Glance: %v", time.Since(start))
	if code != 0 {
		t.Fatalf("exit %d, want 0; stderr:\n%s", code, stderr)
	}
	p := decodePlan(t, stdout)
	pa, pb := env.ProjectVOAlpha, env.ProjectVOBeta
	want := []string{
		fmt.Sprintf("create new %s a4 ", pa),
		fmt.Sprintf("create new %s b2 ", pb),
		fmt.Sprintf("replace content-changed %s a2 %s", pa, a2.ID),
		fmt.Sprintf("update-metadata metadata-changed %s a3 %s", pa, a3.ID),
		fmt.Sprintf("retire removed-from-list %s a5 %s", pa, a5.ID),
		fmt.Sprintf("retire removed-from-list %s b3 %s", pb, b3.ID),
	}
	var got []string
	for _, c := range p.Changes {
		got = append(got, changeLine(c))
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("changes:\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(want, "\n     "))
	}
	for _, c := range p.Changes {
		if c.GlanceImageID == a1.ID || c.GlanceImageID == a6.ID || c.GlanceImageID == b1.ID {
			t.Errorf("current image %s has a change: %s", c.ImageID, changeLine(c))
		}
		if c.Action == plan.ActionUpdateMetadata {
			paths := []string{}
			for _, op := range c.Patch {
				paths = append(paths, op.Path)
			}
			if !slices.Equal(paths, []string{"/name", "/" + plan.PropTitle}) {
				t.Errorf("update-metadata patch paths = %v, want name and title only", paths)
			}
		}
	}
	wantStats := plan.Stats{Create: 2, Replace: 1, Update: 1, Retire: 2, Unchanged: 3, Managed: 8, Ignored: 4, Retired: 1}
	if p.Stats != wantStats {
		t.Errorf("stats = %+v\nwant    %+v", p.Stats, wantStats)
	}
	for _, l := range p.Lists {
		if l.Status != plan.ListValid {
			t.Errorf("list %s: status %s (%s), want valid", l.Source, l.Status, l.Reason)
		}
	}
	if after := fx.snapshot(t); !maps.Equal(before, after) {
		t.Errorf("ck diff changed Glance:\nbefore %v\nafter  %v", before, after)
	}

	t.Run("exit code", func(t *testing.T) {
		code, stdout, stderr := fx.run(t, "--exit-code", "--max-retire", "2", alpha.Path, beta.Path)
		if code != cmdutil.ExitChanges {
			t.Fatalf("exit %d, want %d; stderr:\n%s", code, cmdutil.ExitChanges, stderr)
		}
		for _, s := range []string{"+ create", "-/+ replace", "~ update-metadata", "- retire", "vo-beta", "removed-from-list",
			"Plan: 2 to create, 1 to replace, 1 to update, 2 to retire. 3 unchanged."} {
			if !strings.Contains(stdout, s) {
				t.Errorf("text plan lacks %q:\n%s", s, stdout)
			}
		}
		if strings.Contains(stdout, "\x1b[") {
			t.Errorf("colour on a non-terminal:\n%q", stdout)
		}
	})
	t.Run("max-retire guard", func(t *testing.T) {
		out := filepath.Join(fx.Dir, "blocked.json")
		code, stdout, stderr := fx.run(t, "--out", out, alpha.Path, beta.Path) // default 25% of 7 current images: 1
		if code != cmdutil.ExitError || !strings.Contains(stderr, "--max-retire") || !strings.Contains(stdout, "Blocked:") {
			t.Fatalf("exit %d, want 1 with a --max-retire message; stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Errorf("a blocked plan was written to --out: %v", err)
		}
	})
	t.Run("out", func(t *testing.T) {
		out := filepath.Join(fx.Dir, "plan.json")
		code, _, stderr := fx.run(t, "--out", out, "--max-retire", "none", alpha.Path, beta.Path)
		if code != 0 {
			t.Fatalf("exit %d; stderr:\n%s", code, stderr)
		}
		data, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if saved := decodePlan(t, string(data)); len(saved.Changes) != 6 || saved.FormatVersion != plan.FormatVersion {
			t.Errorf("saved plan: %d changes, format %q", len(saved.Changes), saved.FormatVersion)
		}
	})
	if after := fx.snapshot(t); !maps.Equal(before, after) {
		t.Errorf("ck diff changed Glance")
	}
}

// A list that cannot be read retires nothing, even among the full set of
// subscriptions where its images would otherwise look unsubscribed.
func TestIntegrationDiffUnreachableList(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	env, tag := fx.Env, fx.Tag
	alpha := writeList(t, fx.Dir, tag+"-alpha", "alpha.vo", "a1")
	lost := writeList(t, fx.Dir, tag+"-lost", "alpha.vo", "l1")
	fx.seedListed(t, env.VOAlpha, alpha, "a1", nil)
	l1 := fx.seedListed(t, env.VOAlpha, lost, "l1", nil)
	if err := os.Remove(lost.Path); err != nil {
		t.Fatal(err)
	}
	subs := fx.Subscribe(t, alpha, lost)
	before := fx.snapshot(t)

	code, stdout, stderr := fx.run(t, "-o", "json", "--image-lists-file", subs, "--max-retire", "none")
	if code != cmdutil.ExitPartial {
		t.Fatalf("exit %d, want %d; stderr:\n%s", code, cmdutil.ExitPartial, stderr)
	}
	p := decodePlan(t, stdout)
	for _, c := range p.Changes {
		t.Errorf("unexpected change %s", changeLine(c))
	}
	if p.Stats.Kept != 1 || p.Stats.Unchanged != 1 {
		t.Errorf("stats = %+v, want 1 kept (%s) and 1 unchanged", p.Stats, l1.ID)
	}
	var failed int
	for _, l := range p.Lists {
		if l.Status == plan.ListFailed {
			failed++
			if l.Source != lost.Source || !strings.Contains(l.Reason, "fetch") {
				t.Errorf("failed list %s: reason %q", l.Source, l.Reason)
			}
		}
	}
	if failed != 1 {
		t.Errorf("%d failed lists, want 1: %+v", failed, p.Lists)
	}
	if after := fx.snapshot(t); !maps.Equal(before, after) {
		t.Errorf("ck diff changed Glance")
	}
}

// A site in sync says so, exits 0 even under --exit-code; an unmapped
// VO's list is reported, skipped, and exits 3.
func TestIntegrationDiffNoChangesAndUnmapped(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	env, tag := fx.Env, fx.Tag
	beta := writeList(t, fx.Dir, tag+"-beta", "beta.vo", "b1", "b2")
	fx.seedListed(t, env.VOBeta, beta, "b1", nil)
	fx.seedListed(t, env.VOBeta, beta, "b2", nil)

	code, stdout, stderr := fx.run(t, "--exit-code", beta.Path)
	if code != 0 || !strings.Contains(stdout, "No changes.") || !strings.Contains(stdout, "2 images up to date") {
		t.Fatalf("exit %d, want 0 and No changes; stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}

	gamma := writeList(t, fx.Dir, tag+"-gamma", "gamma.vo", "g1")
	code, stdout, stderr = fx.run(t, beta.Path, gamma.Path)
	if code != cmdutil.ExitPartial || !strings.Contains(stdout, `no project mapped for VO "gamma.vo"`) || !strings.Contains(stdout, "skipped") {
		t.Fatalf("exit %d, want 3 with gamma.vo skipped; stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	// With --default-project, the unmapped VO's list goes there.
	code, stdout, stderr = fx.run(t, "-o", "json", "--default-project", "ck", beta.Path, gamma.Path)
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
	p := decodePlan(t, stdout)
	if len(p.Changes) != 1 || p.Changes[0].ImageID != "g1" || p.Changes[0].Project != env.ProjectCK {
		t.Errorf("changes = %+v, want g1 created in project ck %s", p.Changes, env.ProjectCK)
	}

	// An unknown cloud fails the run, naming the cloud.
	code, _, stderr = fx.run(t, "--os-cloud", "no-such-cloud", beta.Path)
	if code != cmdutil.ExitError || !strings.Contains(stderr, `"no-such-cloud"`) {
		t.Errorf("unknown cloud: exit %d, stderr:\n%s", code, stderr)
	}

	// A missing mapping file is a usage error naming the file.
	fx.Mapping = filepath.Join(fx.Dir, "missing.json")
	code, _, stderr = fx.run(t, beta.Path)
	if code != cmdutil.ExitError || !strings.Contains(stderr, "--mapping-file") || !strings.Contains(stderr, "missing.json") {
		t.Errorf("missing mapping: exit %d, stderr:\n%s", code, stderr)
	}
}

// A mapping entry whose project is gone stops only its own VO: its list
// fails (its images are left alone), the other VOs are planned, exit 3.
func TestIntegrationDiffStaleMappingEntry(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	env, tag := fx.Env, fx.Tag
	m := fmt.Sprintf(`{
  "alpha.vo": {"project": %q},
  "beta.vo": {"project": "vo-beta", "domain": "egi"},
  "ghost.vo": {"project": "0123456789abcdef0123456789abcdef"}
}`, env.ProjectVOAlpha)
	fx.Mapping = filepath.Join(fx.Dir, "mapping-ghost.json")
	if err := os.WriteFile(fx.Mapping, []byte(m), 0o644); err != nil {
		t.Fatal(err)
	}
	beta := writeList(t, fx.Dir, tag+"-beta", "beta.vo", "b1")
	fx.seedListed(t, env.VOBeta, beta, "b1", nil)
	ghost := writeList(t, fx.Dir, tag+"-ghost", "ghost.vo", "g1")

	code, stdout, stderr := fx.run(t, "-o", "json", beta.Path, ghost.Path)
	if code != cmdutil.ExitPartial {
		t.Fatalf("exit %d, want 3; stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	p := decodePlan(t, stdout)
	if len(p.Changes) != 0 || p.Stats.Unchanged != 1 {
		t.Errorf("changes %+v, stats %+v: want beta planned (unchanged) and nothing for ghost.vo", p.Changes, p.Stats)
	}
	var ghostStatus plan.ListStatus
	for _, l := range p.Lists {
		if l.ListID == tag+"-ghost" {
			ghostStatus = l.Status
		}
	}
	if ghostStatus != plan.ListFailed || !strings.Contains(stderr, "ghost.vo") {
		t.Errorf("ghost list status %q (want failed); stderr:\n%s", ghostStatus, stderr)
	}
}
