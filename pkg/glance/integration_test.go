package glance_test

// Integration tests: they run against the local Keystone + Glance of
// contrib/devcloud/devcloud.sh and skip (fail under CI=true) without it.

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ck-sync/ck/pkg/glance"
	"github.com/ck-sync/ck/pkg/glance/glancetest"
)

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func randomBytes(t *testing.T, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// plainReader hides bytes.Reader's Len, as a download stream would.
type plainReader struct{ r io.Reader }

func (p plainReader) Read(b []byte) (int, error) { return p.r.Read(b) }

// failingReader returns its data, then fails where EOF would be.
type failingReader struct {
	data []byte
	err  error
}

func (f *failingReader) Read(b []byte) (int, error) {
	if len(f.data) == 0 {
		return 0, f.err
	}
	n := copy(b, f.data)
	f.data = f.data[n:]
	return n, nil
}

func TestIntegrationImageLifecycle(t *testing.T) {
	t.Parallel()
	env := glancetest.Setup(t)
	ctx := testCtx(t)
	ck := env.CK
	if ck.ProjectID() != env.ProjectCK || ck.ProjectID() == "" {
		t.Fatalf("ProjectID() = %q, want project ck %q", ck.ProjectID(), env.ProjectCK)
	}
	if _, err := ck.ListImages(ctx, glance.ListFilter{}); err != nil {
		t.Fatalf("ListImages: %v", err)
	}

	listID := env.Name("list")
	spec := env.Spec("lifecycle")
	spec.MinRAM, spec.MinDisk = 512, 1
	spec.Properties = map[string]string{"ck_list_id": listID, "ck_image_id": "image-1", "os_distro": "ubuntu"}
	img, err := ck.CreateImage(ctx, spec)
	if err != nil {
		t.Fatalf("CreateImage: %v", err)
	}
	if img.Status != "queued" || img.Owner != env.ProjectCK || img.Visibility != "private" || img.Hidden ||
		img.MinRAM != 512 || img.MinDisk != 1 || img.DiskFormat != "raw" || img.ContainerFormat != "bare" ||
		!slices.Contains(img.Tags, env.Namespace) || img.Properties["ck_list_id"] != listID ||
		img.Properties["os_distro"] != "ubuntu" {
		t.Fatalf("created image = %+v", img)
	}

	data := randomBytes(t, 1<<20+123)
	if err := ck.Upload(ctx, img.ID, plainReader{bytes.NewReader(data)}); err != nil {
		t.Fatalf("Upload: %v", err)
	}
	got, err := ck.GetImage(ctx, img.ID)
	if err != nil {
		t.Fatalf("GetImage: %v", err)
	}
	sum := sha512.Sum512(data)
	if got.Status != "active" || got.Size != int64(len(data)) || got.HashAlgo != "sha512" || got.HashValue != hex.EncodeToString(sum[:]) {
		t.Fatalf("after upload: status %s size %d hash %s:%s; want active %d sha512:%x", got.Status, got.Size, got.HashAlgo, got.HashValue, len(data), sum)
	}
	if _, ok := got.Properties["os_hash_value"]; ok {
		t.Errorf("os_hash_value leaked into Properties")
	}

	filter := glance.ListFilter{Tag: env.Namespace, Owner: env.ProjectCK, Properties: map[string]string{"ck_list_id": listID}}
	assertListed(ctx, t, ck, filter, img.ID, false)
	other := glance.ListFilter{Tag: env.Namespace, Properties: map[string]string{"ck_list_id": listID + "-other"}}
	if imgs, err := ck.ListImages(ctx, other); err != nil || len(imgs) != 0 {
		t.Fatalf("ListImages(other list) = %v, %v; want none", imgs, err)
	}

	retired := time.Now().UTC().Format(time.RFC3339)
	upd, err := ck.UpdateImage(ctx, img.ID, []glance.Patch{
		{Op: glance.OpReplace, Path: "/os_hidden", Value: true},
		{Op: glance.OpAdd, Path: "/ck_retired", Value: retired},
		{Op: glance.OpRemove, Path: "/os_distro"},
	})
	if err != nil {
		t.Fatalf("UpdateImage: %v", err)
	}
	if !upd.Hidden || upd.Properties["ck_retired"] != retired || upd.Properties["os_distro"] != "" {
		t.Fatalf("after update: %+v", upd)
	}
	assertListed(ctx, t, ck, filter, img.ID, true)

	if err := ck.Deactivate(ctx, img.ID); err != nil {
		t.Fatalf("Deactivate: %v", err)
	}
	assertStatus(ctx, t, ck, img.ID, "deactivated")
	if err := ck.Reactivate(ctx, img.ID); err != nil {
		t.Fatalf("Reactivate: %v", err)
	}
	assertStatus(ctx, t, ck, img.ID, "active")
	if err := ck.Deactivate(ctx, img.ID); err != nil {
		t.Fatalf("Deactivate again: %v", err)
	}
	if err := ck.DeleteImage(ctx, img.ID); err != nil {
		t.Fatalf("DeleteImage of a deactivated image: %v", err)
	}
	if _, err := ck.GetImage(ctx, img.ID); !errors.Is(err, glance.ErrNotFound) {
		t.Fatalf("GetImage after delete: err = %v, want ErrNotFound", err)
	}
	if err := ck.DeleteImage(ctx, img.ID); !errors.Is(err, glance.ErrNotFound) {
		t.Fatalf("DeleteImage twice: err = %v, want ErrNotFound", err)
	}
}

func assertListed(ctx context.Context, t *testing.T, c glance.Client, f glance.ListFilter, id string, hidden bool) {
	t.Helper()
	imgs, err := c.ListImages(ctx, f)
	if err != nil {
		t.Fatalf("ListImages(%+v): %v", f, err)
	}
	if len(imgs) != 1 || imgs[0].ID != id || imgs[0].Hidden != hidden {
		t.Fatalf("ListImages(%+v) = %+v; want only %s with hidden=%v", f, imgs, id, hidden)
	}
}

func assertStatus(ctx context.Context, t *testing.T, c glance.Client, id, want string) {
	t.Helper()
	img, err := c.GetImage(ctx, id)
	if err != nil {
		t.Fatalf("GetImage: %v", err)
	}
	if img.Status != want {
		t.Fatalf("status = %s, want %s", img.Status, want)
	}
}

func TestIntegrationFailedUploadNeverActivates(t *testing.T) {
	t.Parallel()
	env := glancetest.Setup(t)
	ctx := testCtx(t)
	img, err := env.CK.CreateImage(ctx, env.Spec("broken-upload"))
	if err != nil {
		t.Fatalf("CreateImage: %v", err)
	}
	boom := errors.New("sha512 mismatch")
	err = env.CK.Upload(ctx, img.ID, &failingReader{data: randomBytes(t, 256<<10), err: boom})
	if !errors.Is(err, boom) {
		t.Fatalf("Upload error = %v, want the reader's error", err)
	}
	// Glance notices the aborted request asynchronously; give it a moment.
	time.Sleep(500 * time.Millisecond)
	got, err := env.CK.GetImage(ctx, img.ID)
	switch {
	case errors.Is(err, glance.ErrNotFound):
	case err != nil:
		t.Fatalf("GetImage: %v", err)
	case got.Status == "active" || got.Size != 0 && got.Status != "killed":
		t.Fatalf("after a failed upload: status %s, size %d; want queued/killed and no data", got.Status, got.Size)
	}
	if err := env.CK.DeleteImage(ctx, img.ID); err != nil && !errors.Is(err, glance.ErrNotFound) {
		t.Fatalf("DeleteImage: %v", err)
	}
}

func TestIntegrationRescopedToVOProject(t *testing.T) {
	t.Parallel()
	env := glancetest.Setup(t)
	ctx := testCtx(t)
	for _, tc := range []struct {
		name, project string
	}{
		{"vo-alpha", env.ProjectVOAlpha},
		{"vo-beta (domain egi)", env.ProjectVOBeta},
	} {
		svc := env.Connect(t, glancetest.CloudCK, tc.project)
		if svc.ProjectID() != tc.project {
			t.Fatalf("%s: ProjectID() = %q, want %q", tc.name, svc.ProjectID(), tc.project)
		}
		img, err := svc.CreateImage(ctx, env.Spec("rescoped"))
		if err != nil {
			t.Fatalf("%s: CreateImage: %v", tc.name, err)
		}
		if img.Owner != tc.project {
			t.Fatalf("%s: owner = %s, want %s", tc.name, img.Owner, tc.project)
		}
		// Private images of one VO stay invisible from ck's own project.
		if _, err := env.CK.GetImage(ctx, img.ID); !errors.Is(err, glance.ErrNotFound) {
			t.Fatalf("%s: GetImage from project ck: err = %v, want ErrNotFound", tc.name, err)
		}
	}
}

func TestIntegrationListPaginates(t *testing.T) {
	t.Parallel()
	env := glancetest.Setup(t)
	ctx := testCtx(t)
	small := env.Connect(t, glancetest.CloudCK, "")
	paged, err := glance.Connect(ctx, glance.Config{Cloud: glancetest.CloudCK, PageSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for i := range 5 {
		spec := env.Spec("page")
		spec.Hidden = i%2 == 0
		img, err := small.CreateImage(ctx, spec)
		if err != nil {
			t.Fatalf("CreateImage: %v", err)
		}
		if img.Hidden != spec.Hidden {
			t.Fatalf("created hidden=%v, want %v", img.Hidden, spec.Hidden)
		}
		want = append(want, img.ID)
	}
	imgs, err := paged.ListImages(ctx, glance.ListFilter{Tag: env.Namespace})
	if err != nil {
		t.Fatalf("ListImages: %v", err)
	}
	var got []string
	for _, img := range imgs {
		got = append(got, img.ID)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("paged list = %v, want %v", got, want)
	}
}

func TestIntegrationConnectErrors(t *testing.T) {
	env := glancetest.Setup(t)
	ctx := testCtx(t)
	_, err := glance.Connect(ctx, glance.Config{Cloud: "no-such-cloud"})
	if err == nil || !strings.Contains(err.Error(), `auth: cloud "no-such-cloud" not found in `+env.CloudsFile) {
		t.Fatalf("err = %v", err)
	}
}
