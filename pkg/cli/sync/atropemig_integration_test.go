package sync_test

// The migration of docs/migrating.md "From atrope", as
// contrib/demo/atrope-site.sh stages it, run automatically: an atrope
// catch-all site (Harbor sources of the real local registry with a robot
// account, shared with every VO of the site, ops included; a HEPiX list
// with a token and an images: whitelist; per-project credentials, one of
// them another user's, named as a clouds.yaml cloud in vo_map.yaml) whose
// images atrope left in the local Glance, plus two leftovers of images no
// longer published. ck, given atrope's files as they are, takes over every
// published image with no upload, and reports the leftovers without ever
// touching them.
//
// Harbor's API cannot run here: an in-process TLS server answers the one
// call a Harbor source makes (the repositories of a project).

import (
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ck-sync/ck/pkg/cli/clitest"
	"github.com/ck-sync/ck/pkg/glance"
	"github.com/ck-sync/ck/pkg/glance/glancetest"
	"github.com/ck-sync/ck/pkg/plan"
	"github.com/ck-sync/ck/pkg/registry/registrytest"
)

// Not parallel: it points OS_CLIENT_CONFIG_FILE (process-wide) at a
// clouds.yaml whose Keystone and Glance are counting proxies.
func TestAtropeMigration(t *testing.T) {
	reg := registrytest.Setup(t).Auth // registry.egi.eu's stand-in: a robot account
	fx := newFixture(t, true)
	env := fx.env

	// The registry: two Harbor projects as EGI has them, one for every VO
	// (egi_vm_images) and one of a VO; the 22.04 build is pushed, atrope
	// syncs it, and then the registry's retention policy deletes it.
	egi, voProject := registrytest.NewProject(), registrytest.NewProject()
	ubuntu := reg.Push(t, registrytest.Spec{Repo: egi + "/ubuntu"})
	alma := reg.Push(t, registrytest.Spec{Repo: egi + "/alma", Tags: []string{"9-2025-10-07-0a1b2c3d", "9"},
		LayerAnnotations: map[string]string{registrytest.AnnOSDistro: "almalinux", registrytest.AnnOSVersion: "9"}})
	jupyter := reg.Push(t, registrytest.Spec{Repo: voProject + "/jupyter", Tags: []string{"1.2-2025-10-07-0a1b2c3d", "1.2"}})
	old := reg.Push(t, registrytest.Spec{Repo: egi + "/ubuntu", Tags: []string{"22.04-2025-04-01-0a1b2c3d", "22.04"}})

	harbor := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		repos := map[string][]string{egi: {egi + "/ubuntu", egi + "/alma"}, voProject: {voProject + "/jupyter"}}
		project, ok := strings.CutPrefix(r.URL.Path, "/api/v2.0/projects/")
		project, ok2 := strings.CutSuffix(project, "/repositories")
		if user, pass, _ := r.BasicAuth(); user != reg.Username || pass != reg.Password {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		if !ok || !ok2 || repos[project] == nil {
			http.NotFound(w, r)
			return
		}
		var page []map[string]any
		for i, name := range repos[project] {
			page = append(page, map[string]any{"id": i + 1, "name": name, "artifact_count": 1})
		}
		w.Header().Set("X-Total-Count", fmt.Sprint(len(page)))
		_ = json.NewEncoder(w).Encode(page)
	}))
	t.Cleanup(harbor.Close)

	// The HEPiX list (AppDB's role): a token, three images, two subscribed.
	const token = "atrope-migration-t0ken"
	almaImg := image{id: "alma-9", title: "AlmaLinux 9", data: rawImage(t, 8192)}
	cernvm := image{id: "cernvm-4", title: "CernVM 4", data: rawImage(t, 8192)}
	debian := image{id: "debian-12", title: "Debian 12", data: rawImage(t, 4096)}
	centos := image{id: "centos-7", title: "CentOS 7", data: rawImage(t, 4096)} // since dropped from the list
	l := publish(t, fx.srv, fx.dir, fx.tag+"-alpha", "alpha.vo", token, almaImg, cernvm, debian)

	// atrope's files, as the catch-all writes them (unique source names:
	// the cloud is shared with other tests).
	hepixName, egiName, voName := fx.tag+"-appdb", fx.tag+"-egi_vm_images", fx.tag+"-alpha.vo"
	sources := filepath.Join(fx.dir, "sources.yaml")
	voMap := filepath.Join(fx.dir, "vo_map.yaml")
	caFile := filepath.Join(fx.dir, "cas.pem")
	cas, err := os.ReadFile(reg.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range [][]byte{harbor.Certificate().Raw, fx.srv.Certificate().Raw} {
		cas = append(cas, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c})...)
	}
	for path, body := range map[string]string{
		caFile: string(cas),
		sources: fmt.Sprintf(`%[1]s:
  enabled: true
  endorser:
    ca: %[2]s
    dn: %[3]s
  images:
  - %[4]s
  - %[5]s
  prefix: 'APPDB '
  token: %[6]s
  url: %[7]s
  vos:
  - alpha.vo
%[8]s:
  project: %[9]s
  type: harbor
  vos:
  - alpha.vo
  - beta.vo
  - ops
%[10]s:
  project: %[11]s
  type: harbor
  vos:
  - alpha.vo
harbor:
  api_url: %[12]s/api/v2.0
  auth_password: %[13]s
  auth_user: %[14]s
  enabled: true
  prefix: 'registry.egi.eu '
  registry_host: %[15]s
  tag_pattern: ^[^-]*$
`, hepixName, clitest.EndorserCA, clitest.EndorserDN, almaImg.id, cernvm.id, token, l.source,
			egiName, egi, voName, voProject, harbor.URL, reg.Password, reg.Username, reg.Host),
		// vo-beta's [glance_<id>] credentials are bob's: a cloud of their own.
		voMap: fmt.Sprintf("alpha.vo:\n  project_id: %s\nbeta.vo:\n  project_id: %s\n  cloud: %s\nops:\n  project_id: %s\n",
			env.ProjectVOAlpha, env.ProjectVOBeta, glancetest.CloudBob, env.ProjectCK),
	} {
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	args := []string{"--atrope-sources", sources, "--mapping-file", voMap, "--extra-ca-file", caFile}

	// What atrope left: one copy in its own project (cloud ck's), shared,
	// each VO project an accepted member (vo-beta's accepted by bob).
	bob := env.Connect(t, glancetest.CloudBob, "")
	seed := func(name, file string, data []byte, format string, props map[string]string, members ...string) glance.Image {
		t.Helper()
		if data == nil {
			var err error
			if data, err = os.ReadFile(file); err != nil {
				t.Fatal(err)
			}
		}
		img, err := env.CK.CreateImage(fx.ctx, glance.CreateSpec{Name: env.Name(name), DiskFormat: format, ContainerFormat: "bare",
			Visibility: "shared", Tags: []string{"atrope-catchall"}, Properties: props})
		if err != nil {
			t.Fatal(err)
		}
		env.Track(img.ID)
		if err := env.CK.Upload(fx.ctx, img.ID, strings.NewReader(string(data))); err != nil {
			t.Fatal(err)
		}
		for _, m := range members {
			if _, err := env.CK.AddMember(fx.ctx, img.ID, m); err != nil {
				t.Fatal(err)
			}
			accept := env.VOAlpha
			if m == env.ProjectVOBeta {
				accept = bob
			}
			if _, err := accept.UpdateMemberStatus(fx.ctx, img.ID, m, glance.MemberAccepted); err != nil {
				t.Fatal(err)
			}
		}
		got, err := env.Admin.GetImage(fx.ctx, img.ID)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	harborImage := func(a *registrytest.Artifact, tag, source string, members ...string) glance.Image {
		t.Helper()
		ref := a.Repo + ":" + tag
		layer := a.Layers[0]
		attrs := map[string]string{"eu.egi.cloud.image_ref": ref}
		for k, v := range layer.Annotations {
			attrs[k] = v
		}
		b, _ := json.Marshal(attrs)
		id := reg.Host + "/" + ref + "-" + a.Digest
		return seed("registry.egi.eu "+ref, layer.File, nil, "qcow2", map[string]string{
			plan.PropAtropeImageID: id, plan.PropMPURI: id, plan.PropAtropeHash: layer.Digest, plan.PropAtropeList: source,
			"project": strings.Split(a.Repo, "/")[0], plan.PropAttributes: string(b),
			plan.PropDescription: layer.Annotations[registrytest.AnnDescription], plan.PropOSDistro: layer.Annotations[registrytest.AnnOSDistro],
		}, members...)
	}
	hepixImage := func(im image) glance.Image {
		t.Helper()
		return seed("APPDB "+im.title, "", im.data, "raw", map[string]string{
			plan.PropAtropeImageID: im.id, plan.PropAtropeHash: "sha512:" + im.sha512(), plan.PropAtropeList: hepixName, "project": "",
			plan.PropAttributes: `{"dc:identifier": "` + im.id + `", "dc:title": "` + im.title + `"}`,
		}, env.ProjectVOAlpha)
	}
	both := []string{env.ProjectVOAlpha, env.ProjectVOBeta}
	published := map[string][]string{} // Glance id → the members it must keep
	for _, img := range []struct {
		g       glance.Image
		members []string
	}{
		{harborImage(ubuntu, "24.04", egiName, both...), both},
		{harborImage(alma, "9", egiName, both...), both},
		{harborImage(jupyter, "1.2", voName, env.ProjectVOAlpha), []string{env.ProjectVOAlpha}},
		{hepixImage(almaImg), []string{env.ProjectVOAlpha}},
		{hepixImage(cernvm), []string{env.ProjectVOAlpha}},
	} {
		published[img.g.ID] = img.members
	}
	leftovers := []glance.Image{harborImage(old, "22.04", egiName, both...), hepixImage(centos)}
	reg.DeleteManifest(t, old.Repo, old.Digest)
	leftoverIDs := []string{leftovers[0].ID, leftovers[1].ID}

	// ck verify: atrope's three enabled sources.
	if r := fx.run(t, "verify", args...); r.code != 0 || !strings.Contains(r.stdout, "3 list(s): 3 valid") {
		t.Fatalf("verify: %s", r)
	}

	// ck diff: every published image adopted, the leftovers reported.
	r := fx.run(t, "diff", append(args, "-o", "json")...)
	if r.code != 0 {
		t.Fatalf("diff: %s", r)
	}
	var p plan.Plan
	if err := json.Unmarshal([]byte(r.stdout), &p); err != nil {
		t.Fatal(err)
	}
	if p.Stats.Adopt != len(published) || p.Stats.Create+p.Stats.Replace+p.Stats.Retire+p.Stats.Unshare != 0 {
		t.Errorf("diff stats %+v: want %d adopted, nothing created, replaced, retired or unshared", p.Stats, len(published))
	}
	var reported []string
	for _, n := range p.Notices {
		if slices.Contains(leftoverIDs, n.GlanceImageID) && n.Kind == plan.NoticeLegacyLeftover {
			reported = append(reported, n.GlanceImageID)
		}
	}
	slices.Sort(reported)
	if !slices.Equal(reported, slices.Sorted(slices.Values(leftoverIDs))) {
		t.Errorf("leftovers reported %v, want %v; notices %+v", reported, leftoverIDs, p.Notices)
	}

	// ck sync, counted: no image created, nothing uploaded to Glance; one
	// download of each registry layer (the proof), none of the list's.
	counter := newCallCounter(t, env.CloudsFile)
	t.Setenv("OS_CLIENT_CONFIG_FILE", counter.cloudsFile)
	leftoverBefore := map[string]string{}
	for _, id := range leftoverIDs {
		leftoverBefore[id] = marshal(fx.getImage(t, id))
	}
	r = fx.run(t, "sync", append(args, "-o", "json")...)
	if r.code != 0 {
		t.Fatalf("sync: %s", r)
	}
	if strings.Contains(r.stdout+r.stderr, token) || strings.Contains(r.stdout+r.stderr, reg.Password) {
		t.Errorf("a token or password is in the output")
	}
	out := parseLines(t, r.stdout)
	adopted := 0
	for _, c := range out.changes {
		switch {
		case c.Status != "done":
			t.Errorf("change %+v not done", c)
		case c.Action == "adopt" && published[c.GlanceID] != nil:
			adopted++
		case c.Action == "share" && published[c.GlanceID] != nil:
		default:
			t.Errorf("change %+v: want only adoptions and shares of atrope's published images", c)
		}
	}
	if adopted != len(published) {
		t.Errorf("%d images adopted, want %d", adopted, len(published))
	}
	_, gl := counter.take()
	for _, c := range gl {
		method, path, _ := strings.Cut(c, " ")
		path, _, _ = strings.Cut(path, "?")
		if (method == http.MethodPost && path == "/v2/images") || strings.HasSuffix(path, "/file") ||
			strings.HasSuffix(path, "/stage") || strings.HasSuffix(path, "/import") || method == http.MethodDelete {
			t.Errorf("Glance call %q: the migration must create, upload and delete nothing", c)
		}
	}
	for _, a := range []*registrytest.Artifact{ubuntu, alma, jupyter} {
		if n := blobDownloads(t, reg, a.Repo, a.Layers[0].Digest); n != 1 {
			t.Errorf("%s: %d downloads of its layer, want 1 (the proof)", a.Repo, n)
		}
	}
	if n := fx.srv.imageHits(); n != 0 {
		t.Errorf("%d downloads of the list's images, want 0 (Glance's sha512 is the proof)", n)
	}

	// ck's images are exactly atrope's, same ids, members kept.
	checkTakenOver := func(when string) {
		t.Helper()
		var ids []string
		for _, img := range fx.images(t) {
			ids = append(ids, img.ID)
			if !slices.Contains(img.Tags, "atrope-catchall") || img.Owner != env.ProjectCK || img.Visibility != "shared" {
				t.Errorf("%s: image %s: tags %v, owner %s, visibility %s", when, img.Name, img.Tags, img.Owner, img.Visibility)
			}
			ms, err := env.CK.ListMembers(fx.ctx, img.ID)
			if err != nil {
				t.Fatal(err)
			}
			var accepted []string
			for _, m := range ms {
				if m.Status == glance.MemberAccepted {
					accepted = append(accepted, m.ProjectID)
				}
			}
			slices.Sort(accepted)
			if want := slices.Sorted(slices.Values(published[img.ID])); !slices.Equal(accepted, want) {
				t.Errorf("%s: image %s: accepted members %v, want %v", when, img.Name, accepted, want)
			}
		}
		slices.Sort(ids)
		var want []string
		for id := range published {
			want = append(want, id)
		}
		slices.Sort(want)
		if !slices.Equal(ids, want) {
			t.Errorf("%s: ck's images %v, want atrope's published ones %v", when, ids, want)
		}
	}
	checkTakenOver("after the sync")

	// The next run changes nothing (no member of atrope's is unshared),
	// diff --exit-code agrees, and ck prune deletes nothing; the leftovers
	// are still reported and untouched.
	if r := fx.run(t, "sync", append(args, "-o", "json")...); r.code != 0 || !strings.Contains(r.stdout, `"changes":[]`) {
		t.Errorf("second sync is not a no-op: %s", r)
	}
	checkTakenOver("after a second sync")
	r = fx.run(t, "diff", append(args, "--exit-code")...)
	if r.code != 0 || strings.Count(r.stdout, "legacy-leftover") != 2 {
		t.Errorf("diff --exit-code after the migration: %s", r)
	}
	if r := fx.run(t, "prune", args...); r.code != 0 || strings.Count(r.stdout, "legacy-leftover") != 2 {
		t.Errorf("prune: %s", r)
	}
	for _, id := range leftoverIDs {
		if after := marshal(fx.getImage(t, id)); after != leftoverBefore[id] {
			t.Errorf("leftover %s changed:\nbefore %s\nafter  %s", id, leftoverBefore[id], after)
		}
	}
}

// getImage returns one image as admin sees it.
func (fx *fixture) getImage(t *testing.T, id string) glance.Image {
	t.Helper()
	img, err := fx.env.Admin.GetImage(fx.ctx, id)
	if err != nil {
		t.Fatalf("image %s: %v", id, err)
	}
	return img
}

// blobDownloads counts the successful GETs of a blob in the registry's
// access log (an auth registry also logs each 401 challenge), once the
// count stops moving (the registry writes a line after the response).
func blobDownloads(t *testing.T, reg *registrytest.Registry, repo, digest string) int {
	t.Helper()
	count := func() int {
		b, err := os.ReadFile(reg.AccessLog)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, line := range strings.Split(string(b), "\n") {
			if strings.Contains(line, `"GET /v2/`+repo+`/blobs/`+digest+` `) && strings.Contains(line, `" 200 `) {
				n++
			}
		}
		return n
	}
	n := count()
	for range 10 {
		time.Sleep(100 * time.Millisecond)
		m := count()
		if m == n {
			break
		}
		n = m
	}
	return n
}
