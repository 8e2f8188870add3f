package sync_test

// ck reading an atrope site's files as they are (--atrope-sources and a
// vo_map.yaml mapping file): a HEPiX source with a token, an image
// whitelist, a prefix and vos, and a Harbor source of the real local
// registry (enumerated through an in-process stand-in for Harbor's API,
// which cannot run here), synced into the local Glance as atrope would
// have them: one copy in the clouds.yaml project, shared with the VO's.

import (
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ck-sync/ck/pkg/cli/clitest"
	"github.com/ck-sync/ck/pkg/glance"
	"github.com/ck-sync/ck/pkg/plan"
	"github.com/ck-sync/ck/pkg/registry/registrytest"
)

func TestAtropeSitesFiles(t *testing.T) {
	reg := registrytest.Setup(t).Anon
	fx := newFixture(t, false)
	const token = "atrope-appdb-t0ken"
	l := publish(t, fx.srv, fx.dir, fx.tag+"-fedcloud", "fedcloud.egi.eu", token,
		image{id: "keep", title: "Kept image", data: rawImage(t, 4096)},
		image{id: "drop", title: "Not subscribed", data: rawImage(t, 4096)})
	project := registrytest.NewProject()
	reg.Push(t, registrytest.Spec{Repo: project + "/ubuntu"})

	harbor := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v2.0/projects/"+project+"/repositories" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("X-Total-Count", "1")
		fmt.Fprintf(w, `[{"id":1,"name":%q,"artifact_count":1}]`, project+"/ubuntu")
	}))
	t.Cleanup(harbor.Close)
	cas, err := os.ReadFile(reg.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	cas = append(cas, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: harbor.Certificate().Raw})...)
	caFile := filepath.Join(fx.dir, "cas.pem")
	sources := filepath.Join(fx.dir, "sources.yaml")
	voMap := filepath.Join(fx.dir, "vo_map.yaml")
	for path, body := range map[string]string{
		caFile: string(cas),
		sources: fmt.Sprintf(`
vo.fedcloud.egi.eu:
    url: %s
    enabled: true
    endorser:
        dn: '%s'
        ca: "%s"
    token: %s
    images:
        - keep
    prefix: "FEDCLOUD "
    vos:
        - fedcloud.egi.eu
harbor:
    api_url: %s/api/v2.0
    registry_host: %s
    prefix: "registry.egi.eu "
    tag_pattern: "^[^-]*$"
%s:
    type: harbor
    project: %s
    vos:
        - fedcloud.egi.eu
retired-source:
    enabled: false
`, l.source, clitest.EndorserDN, clitest.EndorserCA, token, harbor.URL, reg.Host, project, project),
		voMap: fmt.Sprintf("fedcloud.egi.eu:\n  project_id: %s\n", fx.env.ProjectVOAlpha),
	} {
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	args := []string{"--atrope-sources", sources, "--mapping-file", voMap, "--extra-ca-file", caFile}

	// ck verify shows what ck reads from the file: the two enabled sources.
	r := fx.run(t, "verify", args...)
	if r.code != 0 || !strings.Contains(r.stdout, "2 list(s): 2 valid") || !strings.Contains(r.stdout, `atrope sources.yaml "vo.fedcloud.egi.eu"`) ||
		!strings.Contains(r.stdout, "harbor://"+reg.Host+"/"+project) {
		t.Fatalf("verify: %s", r)
	}

	r = fx.run(t, "sync", append(args, "-o", "json")...)
	if r.code != 0 {
		t.Fatalf("sync: %s", r)
	}
	if strings.Contains(r.stdout+r.stderr, token) {
		t.Errorf("the AppDB token is in the output")
	}
	imgs := fx.images(t)
	names := []string{}
	for _, img := range imgs {
		names = append(names, img.Name)
		if img.Owner != fx.env.ProjectCK || img.Visibility != "shared" {
			t.Errorf("image %s: owner %s visibility %s, want the clouds.yaml project, shared", img.Name, img.Owner, img.Visibility)
		}
		members, err := fx.env.CK.ListMembers(fx.ctx, img.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(members) != 1 || members[0].ProjectID != fx.env.ProjectVOAlpha || members[0].Status != glance.MemberAccepted {
			t.Errorf("image %s: members %+v, want vo-alpha accepted", img.Name, members)
		}
	}
	slices.Sort(names)
	want := []string{"FEDCLOUD Kept image", "registry.egi.eu " + project + "/ubuntu:24.04"}
	if !slices.Equal(names, want) {
		t.Errorf("images %q, want %q", names, want)
	}
	for _, img := range imgs {
		if img.Properties[plan.PropImageID] == "drop" {
			t.Errorf("an image outside the source's images: was created")
		}
	}
	if r := fx.run(t, "diff", append(args, "--exit-code")...); r.code != 0 {
		t.Errorf("not in sync after sync: %s", r)
	}
}
