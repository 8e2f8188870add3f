package sync_test

// Integration tests: `ck sync` in-process against the local Keystone +
// Glance of contrib/devcloud/devcloud.sh (skipped without it, failed under
// CI=true), with images and lists served by an httptest server on
// 127.0.0.1. Each test tags its images with its own namespace and passes
// it as --tag; glancetest deletes them afterwards.

import (
	"encoding/base64"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ck-sync/ck/pkg/cli/cmdutil"
	"github.com/ck-sync/ck/pkg/glance"
	"github.com/ck-sync/ck/pkg/plan"
)

// checkImage asserts that img is ck's current, active copy of im from l,
// with every property of spec §5.
func checkImage(t *testing.T, fx *fixture, img glance.Image, l list, im image, project, diskFormat string) {
	t.Helper()
	sha := im.sha512()
	want := map[string]string{
		plan.PropListID:       l.id,
		plan.PropImageID:      im.id,
		plan.PropSHA512:       sha,
		plan.PropSize:         strconv.Itoa(len(im.data)),
		plan.PropVersion:      "1.0",
		plan.PropListURL:      l.source,
		plan.PropExpires:      "2044-12-31T00:00:00Z",
		plan.PropMPURI:        "https://appdb.ck-test.example/store/vo/image/" + im.id + ":1/",
		plan.PropTitle:        im.title,
		plan.PropDescription:  "Test image " + im.id + ".",
		plan.PropHVVersion:    "1.0",
		plan.PropOSDistro:     "ubuntu",
		plan.PropOSVersion:    "24.04",
		plan.PropArchitecture: "x86_64",
	}
	for k, v := range want {
		if got := img.Properties[k]; got != v {
			t.Errorf("image %s: %s = %q, want %q", im.id, k, got, v)
		}
	}
	if r, ok := img.Properties[plan.PropRetired]; ok {
		t.Errorf("image %s: current image has %s = %q", im.id, plan.PropRetired, r)
	}
	if strings.Contains(img.Properties[plan.PropListURL], "@") {
		t.Errorf("image %s: ck_list_url carries credentials: %s", im.id, img.Properties[plan.PropListURL])
	}
	var attrs map[string]any
	if err := json.Unmarshal([]byte(img.Properties[plan.PropAttributes]), &attrs); err != nil {
		t.Errorf("image %s: APPLIANCE_ATTRIBUTES is not JSON: %v: %q", im.id, err, img.Properties[plan.PropAttributes])
	}
	for k, v := range map[string]any{"ad:vo": l.vo, "dc:identifier": im.id, "sl:checksum:sha512": sha, "hv:hypervisor": "KVM"} {
		if attrs[k] != v {
			t.Errorf("image %s: APPLIANCE_ATTRIBUTES[%s] = %v, want %v", im.id, k, attrs[k], v)
		}
	}
	checks := []struct {
		what      string
		got, want any
	}{
		{"name", img.Name, im.title},
		{"owner", img.Owner, project},
		{"status", img.Status, "active"},
		{"os_hash_algo", img.HashAlgo, "sha512"},
		{"os_hash_value", img.HashValue, sha},
		{"size", img.Size, int64(len(im.data))},
		{"disk_format", img.DiskFormat, diskFormat},
		{"container_format", img.ContainerFormat, "bare"},
		{"visibility", img.Visibility, "private"},
		{"os_hidden", img.Hidden, false},
		{"min_ram", img.MinRAM, 2048},
		{"tags", img.Tags, []string{fx.tag}},
	}
	for _, c := range checks {
		if !equal(c.got, c.want) {
			t.Errorf("image %s: %s = %v, want %v", im.id, c.what, c.got, c.want)
		}
	}
}

func equal(a, b any) bool {
	as, ok1 := a.([]string)
	bs, ok2 := b.([]string)
	if ok1 && ok2 {
		return slices.Equal(as, bs)
	}
	return a == b
}

// The life of a site's images over several runs: the first sync creates
// everything in the right VO projects; the next is a no-op that transfers
// nothing and makes a few list calls; new bytes replace, a new title
// updates in place, a removed image is retired, and an unreachable list
// retires nothing.
//
// Not parallel: it points OS_CLIENT_CONFIG_FILE (process-wide) at a
// clouds.yaml whose Keystone and Glance are counting proxies.
func TestIntegrationSyncLifecycle(t *testing.T) {
	fx := newFixture(t, false)
	env := fx.env
	aQcow := image{id: "a-qcow2", title: "Alpha qcow2", data: qcow2Image(t), format: "QCOW2"}
	aRaw := image{id: "a-raw", title: "Alpha raw", data: rawImage(t, 256<<10)}
	bRaw := image{id: "b-raw", title: "Beta raw", data: rawImage(t, 128<<10)}
	bTwo := image{id: "b-two", title: "Beta two", data: rawImage(t, 64<<10)}
	alpha := fx.publish(t, "alpha", "alpha.vo", aQcow, aRaw)
	beta := fx.publish(t, "beta", "beta.vo", bRaw, bTwo)
	subs := filepath.Join(fx.dir, "image-lists.conf")
	if err := os.WriteFile(subs, []byte("# two VOs\n"+alpha.url+"\n"+beta.url+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sync := func(t *testing.T, args ...string) result {
		t.Helper()
		return fx.run(t, "sync", append([]string{"--image-lists-file", subs, "-o", "json"}, args...)...)
	}

	// 1. First sync: every image created, in its VO's project, complete.
	start := time.Now()
	r := sync(t)
	t.Logf("first sync of 4 images into 2 projects: %v", time.Since(start))
	if r.code != 0 {
		t.Fatalf("first sync: %s", r)
	}
	out := parseLines(t, r.stdout)
	if out.summary.Done != 4 || out.summary.Failed != 0 || len(out.changes) != 4 {
		t.Fatalf("first sync summary %+v, changes %+v", out.summary, out.changes)
	}
	for _, c := range out.changes {
		if c.Action != "create" || c.Status != "done" || c.GlanceID == "" {
			t.Errorf("first sync change %+v, want create done", c)
		}
	}
	ids := map[string]string{}
	for _, tc := range []struct {
		l       list
		im      image
		project string
		format  string
	}{
		{alpha, aQcow, env.ProjectVOAlpha, "qcow2"},
		{alpha, aRaw, env.ProjectVOAlpha, "raw"},
		{beta, bRaw, env.ProjectVOBeta, "raw"},
		{beta, bTwo, env.ProjectVOBeta, "raw"},
	} {
		img := fx.current(t, tc.im.id)
		checkImage(t, fx, img, tc.l, tc.im, tc.project, tc.format)
		if got := out.change(t, tc.im.id).GlanceID; got != img.ID {
			t.Errorf("image %s: summary says Glance id %s, Glance has %s", tc.im.id, got, img.ID)
		}
		ids[tc.im.id] = img.ID
	}
	if t.Failed() {
		t.FailNow()
	}

	// 2. A second sync is a no-op: no transfer, the same images, and a
	// constant handful of Glance calls with no per-image request.
	counter := newCallCounter(t, env.CloudsFile)
	t.Setenv("OS_CLIENT_CONFIG_FILE", counter.cloudsFile)
	before := fx.snapshot(t)
	hits := fx.srv.imageHits()
	// Per connection (the clouds.yaml project and one per VO project):
	// gophercloud's version discovery (GET /). Per project: one listing,
	// visible and hidden: of ck's tag, or with --adopt (the default) by
	// owner only, which also finds cloudkeeper-os's and atrope's images.
	// Nothing per image, and the same every time.
	for _, tc := range []struct {
		args     []string
		listings int
		max      int
	}{
		{[]string{"--adopt=false"}, 4, 12},
		{nil, 4, 12},
	} {
		var calls []int
		for run := range 2 {
			start := time.Now()
			r := sync(t, tc.args...)
			elapsed := time.Since(start)
			if r.code != 0 {
				t.Fatalf("no-op sync %v %d: %s", tc.args, run+1, r)
			}
			out := parseLines(t, r.stdout)
			if !out.plan.Empty() || out.summary.Changes != 0 || out.plan.Stats.Unchanged != 4 {
				t.Errorf("no-op sync %v %d: plan %+v, summary %+v", tc.args, run+1, out.plan.Changes, out.summary)
			}
			ks, gl := counter.take()
			t.Logf("no-op sync %v %d: %v, %d Glance calls %v, %d Keystone calls %v", tc.args, run+1, elapsed, len(gl), gl, len(ks), ks)
			var discovery, listings int
			for _, c := range gl {
				switch {
				case c == "GET /":
					discovery++
				case strings.HasPrefix(c, "GET /v2/images?") &&
					(strings.Contains(c, "owner="+env.ProjectVOAlpha) || strings.Contains(c, "owner="+env.ProjectVOBeta)):
					listings++
				default:
					t.Errorf("no-op sync %v %d: Glance call %q, want only version discovery and listings of the VO projects", tc.args, run+1, c)
				}
			}
			if discovery > 3 || listings != tc.listings || len(gl)+len(ks) > tc.max {
				t.Errorf("no-op sync %v %d: %d discovery and %d listing Glance calls, %d Keystone calls; want ≤ 3, %d and ≤ %d in all",
					tc.args, run+1, discovery, listings, len(ks), tc.listings, tc.max)
			}
			calls = append(calls, len(gl)+len(ks))
		}
		if calls[0] != calls[1] {
			t.Errorf("no-op syncs %v made %v calls: not constant", tc.args, calls)
		}
	}
	if n := fx.srv.imageHits() - hits; n != 0 {
		t.Errorf("no-op syncs made %d image requests, want 0", n)
	}
	if after := fx.snapshot(t); !maps.Equal(before, after) {
		t.Errorf("no-op syncs changed Glance:\nbefore %v\nafter  %v", before, after)
	}

	// 3. New bytes replace: a new image, and the old one retired and
	// hidden only once the new one was active.
	// The new bytes are held half way, so the test can look at Glance while
	// the new image is being uploaded (hence a longer idle timeout).
	aRaw2 := aRaw
	aRaw2.data = rawImage(t, 192<<10)
	aRaw2.hold = make(chan struct{})
	alpha = fx.publish(t, "alpha", "alpha.vo", aQcow, aRaw2)
	done := make(chan result, 1)
	go func() { done <- sync(t, "--timeout", "30s") }()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		imgs := fx.byImageID(t)[aRaw.id]
		if len(imgs) == 2 {
			for _, img := range imgs {
				if img.ID == ids[aRaw.id] && (img.Hidden || img.Properties[plan.PropRetired] != "") {
					t.Errorf("replace: the old image was retired while its successor was %v", imgs)
				}
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("replace: no new image after 30s: %v", imgs)
		}
	}
	close(aRaw2.hold)
	r = <-done
	if r.code != 0 {
		t.Fatalf("replace: %s", r)
	}
	if c := parseLines(t, r.stdout).change(t, aRaw.id); c.Action != "replace" || c.Status != "done" {
		t.Errorf("replace: change %+v", c)
	}
	repl := fx.current(t, aRaw.id)
	checkImage(t, fx, repl, alpha, aRaw2, env.ProjectVOAlpha, "raw")
	if repl.ID == ids[aRaw.id] {
		t.Errorf("replace kept Glance image %s, want a new one", repl.ID)
	}
	old, err := env.Admin.GetImage(fx.ctx, ids[aRaw.id])
	if err != nil {
		t.Fatalf("replaced image: %v", err)
	}
	if old.Properties[plan.PropRetired] != now.Format(time.RFC3339) || !old.Hidden || old.Status != "active" {
		t.Errorf("replaced image: ck_retired %q, os_hidden %v, status %s; want %s, true, active",
			old.Properties[plan.PropRetired], old.Hidden, old.Status, now.Format(time.RFC3339))
	}

	// 4. A new title only: the same image, patched in place.
	aQcow2 := aQcow
	aQcow2.title = "Alpha qcow2, renamed"
	alpha = fx.publish(t, "alpha", "alpha.vo", aQcow2, aRaw2)
	hits = fx.srv.imageHits()
	r = sync(t)
	if r.code != 0 {
		t.Fatalf("title change: %s", r)
	}
	if c := parseLines(t, r.stdout).change(t, aQcow.id); c.Action != "update-metadata" || c.Status != "done" {
		t.Errorf("title change: change %+v", c)
	}
	renamed := fx.current(t, aQcow.id)
	checkImage(t, fx, renamed, alpha, aQcow2, env.ProjectVOAlpha, "qcow2")
	if renamed.ID != ids[aQcow.id] {
		t.Errorf("title change made Glance image %s, want %s updated in place", renamed.ID, ids[aQcow.id])
	}
	if n := fx.srv.imageHits() - hits; n != 0 {
		t.Errorf("title change made %d image requests, want 0", n)
	}

	// 5. An image removed from its list is retired.
	beta = fx.publish(t, "beta", "beta.vo", bRaw)
	r = sync(t)
	if r.code != 0 {
		t.Fatalf("removal: %s", r)
	}
	if c := parseLines(t, r.stdout).change(t, bTwo.id); c.Action != "retire" || c.Status != "done" {
		t.Errorf("removal: change %+v", c)
	}
	gone, err := env.Admin.GetImage(fx.ctx, ids[bTwo.id])
	if err != nil {
		t.Fatal(err)
	}
	if gone.Properties[plan.PropRetired] == "" || !gone.Hidden || gone.Status != "active" {
		t.Errorf("removed image: ck_retired %q, os_hidden %v, status %s", gone.Properties[plan.PropRetired], gone.Hidden, gone.Status)
	}
	checkImage(t, fx, fx.current(t, bRaw.id), beta, bRaw, env.ProjectVOBeta, "raw")

	// 6. A subscribed list that cannot be fetched retires nothing: its
	// images are not "removed", and the run says it was partial.
	fx.srv.remove(beta.path)
	before = fx.snapshot(t)
	r = sync(t)
	if r.code != cmdutil.ExitPartial {
		t.Fatalf("unreachable list: %s", r)
	}
	out = parseLines(t, r.stdout)
	if !out.plan.Empty() {
		t.Errorf("unreachable list: plan has changes %+v", out.plan.Changes)
	}
	var failed []string
	for _, l := range out.plan.Lists {
		if l.Status == plan.ListFailed {
			failed = append(failed, l.Source)
		}
	}
	if !slices.Equal(failed, []string{beta.source}) {
		t.Errorf("failed lists %v, want [%s]", failed, beta.source)
	}
	if after := fx.snapshot(t); !maps.Equal(before, after) {
		t.Errorf("a sync with an unreachable list changed Glance:\nbefore %v\nafter  %v", before, after)
	}
}

// A token in the list URL (an AppDB personal token as Basic auth user)
// appears nowhere: not on stdout, not in debug logs, not in any property
// or name of the images ck creates.
func TestIntegrationSyncTokenNeverShown(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, true)
	const token = "ghp_S3cr3tT0kenOfTheSiteAdmin0123456789"
	im := image{id: "tok-1", title: "Token test", data: rawImage(t, 64<<10)}
	l := publish(t, fx.srv, fx.dir, fx.tag+"-token", "alpha.vo", token, im)
	if !strings.Contains(l.url, token+":x-oauth-basic@") {
		t.Fatalf("list URL %s lacks the token", l.url)
	}
	ca := fx.srv.caFile(t)
	secrets := []string{token, base64.StdEncoding.EncodeToString([]byte(token + ":x-oauth-basic"))}

	for _, format := range []string{"text", "json"} {
		r := fx.run(t, "sync", "--extra-ca-file", ca, "--log-level", "debug", "--log-format", format, "-o", format, l.url)
		if r.code != 0 {
			t.Fatalf("sync -o %s: %s", format, r)
		}
		for _, s := range secrets {
			if strings.Contains(r.stdout, s) || strings.Contains(r.stderr, s) {
				t.Errorf("-o %s: the token appears in the output:\n%s", format, r)
			}
		}
		if !strings.Contains(r.stdout+r.stderr, l.source) {
			t.Errorf("-o %s: the list's redacted URL %s is not shown:\n%s", format, l.source, r)
		}
	}
	img := fx.current(t, im.id)
	checkImage(t, fx, img, l, im, fx.env.ProjectVOAlpha, "raw")
	fields := append([]string{img.Name}, img.Tags...)
	for k, v := range img.Properties {
		fields = append(fields, k, v)
	}
	for _, f := range fields {
		for _, s := range secrets {
			if strings.Contains(f, s) {
				t.Errorf("Glance image %s holds the token: %q", img.ID, f)
			}
		}
	}
	// The same fault on a failed download: the error names the image, not the token.
	bad := im
	bad.id, bad.data = "tok-2", rawImage(t, 32<<10)
	bad.fault = serve500
	l = publish(t, fx.srv, fx.dir, fx.tag+"-token", "alpha.vo", token, im, bad)
	r := fx.run(t, "sync", "--extra-ca-file", ca, "--log-level", "debug", l.url)
	if r.code != cmdutil.ExitPartial {
		t.Fatalf("sync with a failing image: %s", r)
	}
	for _, s := range secrets {
		if strings.Contains(r.stdout, s) || strings.Contains(r.stderr, s) {
			t.Errorf("failed download: the token appears in the output:\n%s", r)
		}
	}
}

// --dry-run changes nothing and, with --exit-code, says there are
// changes; a plan saved by ck diff --out is applied by ck sync --plan,
// and refused once the list changed, with what changed.
func TestIntegrationSyncDryRunAndSavedPlan(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, false)
	p1 := image{id: "p-1", title: "Plan one", data: rawImage(t, 64<<10)}
	p2 := image{id: "p-2", title: "Plan two", data: rawImage(t, 64<<10)}
	l := fx.publish(t, "plan", "beta.vo", p1)

	for _, tc := range []struct {
		name string
		args []string
		code int
	}{
		{"dry run", []string{"--dry-run"}, 0},
		{"dry run, exit code", []string{"--dry-run", "--exit-code"}, cmdutil.ExitChanges},
	} {
		r := fx.run(t, "sync", append(tc.args, l.url)...)
		if r.code != tc.code || !strings.Contains(r.stdout, "+ create") || strings.Contains(r.stdout, "Applied:") {
			t.Errorf("%s: want exit %d and the plan only; %s", tc.name, tc.code, r)
		}
	}
	if imgs := fx.images(t); len(imgs) != 0 || fx.srv.imageHits() != 0 {
		t.Fatalf("--dry-run made %d images and %d image requests", len(imgs), fx.srv.imageHits())
	}

	saved := filepath.Join(fx.dir, "plan.json")
	if r := fx.run(t, "diff", "--out", saved, l.url); r.code != 0 {
		t.Fatalf("diff --out: %s", r)
	}
	r := fx.run(t, "sync", "-o", "json", "--plan", saved, l.url)
	if r.code != 0 {
		t.Fatalf("sync --plan: %s", r)
	}
	if s := parseLines(t, r.stdout).summary; s.Done != 1 || s.Changes != 1 {
		t.Errorf("sync --plan summary %+v, want 1 change done", s)
	}
	checkImage(t, fx, fx.current(t, p1.id), l, p1, fx.env.ProjectVOBeta, "raw")

	// A plan saved now (empty) goes stale when the list gains an image.
	if r := fx.run(t, "diff", "--out", saved, l.url); r.code != 0 {
		t.Fatalf("diff --out: %s", r)
	}
	fx.publish(t, "plan", "beta.vo", p1, p2)
	before, hits := fx.snapshot(t), fx.srv.imageHits()
	r = fx.run(t, "sync", "--plan", saved, l.url)
	if r.code != cmdutil.ExitError || !strings.Contains(r.stderr, "stale") || !strings.Contains(r.stderr, "list "+l.source+" changed") {
		t.Errorf("stale plan: want exit 1 naming the changed list; %s", r)
	}
	if after := fx.snapshot(t); !maps.Equal(before, after) || fx.srv.imageHits() != hits {
		t.Errorf("a refused plan changed Glance or downloaded images")
	}
}

// glance-direct and web-download each make an active image with the
// list's hash.
func TestIntegrationSyncUploadMethods(t *testing.T) {
	t.Parallel()
	for _, method := range []string{"glance-direct", "web-download"} {
		t.Run(method, func(t *testing.T) {
			t.Parallel()
			fx := newFixture(t, false)
			im := image{id: "m-" + method, title: "Method " + method, data: rawImage(t, 512<<10)}
			l := fx.publish(t, "method", "alpha.vo", im)
			r := fx.run(t, "sync", "--upload-method", method, "-o", "json", l.url)
			if r.code != 0 {
				t.Fatalf("sync --upload-method %s: %s", method, r)
			}
			if c := parseLines(t, r.stdout).change(t, im.id); c.Status != "done" {
				t.Errorf("change %+v", c)
			}
			checkImage(t, fx, fx.current(t, im.id), l, im, fx.env.ProjectVOAlpha, "raw")
			// ck reads the image's first bytes to tell its format; with
			// web-download, Glance then fetches the image itself.
			want := 1
			if method == "web-download" {
				want = 2
			}
			if n := fx.srv.imageHits(); n != want {
				t.Errorf("%d image requests, want %d", n, want)
			}
		})
	}
}
