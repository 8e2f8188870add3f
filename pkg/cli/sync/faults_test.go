package sync_test

// Fault tests: an image server that corrupts, truncates, shortens, stalls,
// fails or trickles; and a SIGTERM in the middle of an upload. Whatever
// happens, Glance must hold no half-made or bad image afterwards, and the
// other images of the run still sync.

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ck-sync/ck/pkg/cli/cmdutil"
	"github.com/ck-sync/ck/pkg/glance/glancetest"
)

func TestIntegrationSyncImageServerFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		fault fault
		// wantErr is part of the failed change's error; "" means the image
		// must sync.
		wantErr string
	}{
		{"wrong checksum, right size", serveCorrupt, "sha512 mismatch"},
		{"truncated, Range ignored", serveTruncated, "cannot resume"},
		{"wrong size, with Content-Length", serveShort, "size mismatch: got Content-Length"},
		{"wrong size, chunked", serveShortChunked, "size mismatch"},
		{"truncated once, then resumed with Range", serveTruncatedOnce, ""},
		{"stalled", serveStall, "giving up after 4 attempts"},
		{"500 always", serve500, "HTTP 500"},
		{"slow but steady", serveSlow, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fx := newFixture(t, false)
			bad := image{id: "fault-" + tc.fault.String(), title: "Faulty image", data: rawImage(t, 384<<10), fault: tc.fault}
			good := image{id: "good", title: "Good neighbour", data: rawImage(t, 128<<10)}
			l := fx.publish(t, "faults", "alpha.vo", bad, good)

			start := time.Now()
			r := fx.run(t, "sync", "-o", "json", l.url)
			t.Logf("sync with a %s image: %v", tc.fault, time.Since(start))
			wantCode := cmdutil.ExitPartial
			if tc.wantErr == "" {
				wantCode = 0
			}
			if r.code != wantCode {
				t.Fatalf("want exit %d; %s", wantCode, r)
			}
			out := parseLines(t, r.stdout)
			c := out.change(t, bad.id)
			t.Logf("the %s image's change: %s %s", tc.fault, c.Status, c.Error)
			if tc.wantErr == "" {
				if c.Status != "done" {
					t.Errorf("change %+v, want done", c)
				}
				checkImage(t, fx, fx.current(t, bad.id), l, bad, fx.env.ProjectVOAlpha, "raw")
			} else {
				if c.Status != "failed" || !strings.Contains(c.Error, tc.wantErr) {
					t.Errorf("change %+v, want failed with %q", c, tc.wantErr)
				}
				// Bad bytes must fail the upload itself, not Glance's
				// check after the image went active.
				if strings.Contains(c.Error, "verify: Glance") {
					t.Errorf("Glance accepted the bad bytes before ck noticed: %s", c.Error)
				}
				for _, img := range fx.byImageID(t)[bad.id] {
					t.Errorf("the failed image left Glance image %s (status %s, hidden %v)", img.ID, img.Status, img.Hidden)
				}
			}
			if c := out.change(t, good.id); c.Status != "done" {
				t.Errorf("the good image did not sync: %+v", c)
			}
			checkImage(t, fx, fx.current(t, good.id), l, good, fx.env.ProjectVOAlpha, "raw")
		})
	}
}

// SIGTERM during an upload stops it, deletes the half-made image and
// exits 143. It needs a real process: the signal handling is Main's.
func TestIntegrationSyncSIGTERMDuringUpload(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, false)
	bin := filepath.Join(t.TempDir(), "ck")
	build := exec.CommandContext(fx.ctx, "go", "build", "-o", bin, "./cmd/ck")
	build.Dir = "../../.."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	im := image{id: "sigterm", title: "Interrupted", data: rawImage(t, 8<<20), fault: servePause}
	l := fx.publish(t, "sigterm", "alpha.vo", im)
	caDir, err := filepath.Abs(filepath.Join(pkiDir, "cadir"))
	if err != nil {
		t.Fatal(err)
	}

	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, "sync", "--os-cloud", glancetest.CloudCK, "--tag", fx.tag, "--ca-dir", caDir,
		"--mapping-file", fx.mapping, "--progress", "never", l.url)
	cmd.Env = append(os.Environ(), "OS_CLIENT_CONFIG_FILE="+fx.env.CloudsFile)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-done
		}
	})

	// Wait until the image exists in Glance and its bytes are flowing.
	status := ""
	for deadline := time.Now().Add(60 * time.Second); status != "saving"; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no upload in progress after 60s (status %q)\nstderr:\n%s", status, stderr.String())
		}
		select {
		case err := <-done:
			t.Fatalf("ck exited before the signal: %v\nstderr:\n%s", err, stderr.String())
		default:
		}
		if imgs := fx.byImageID(t)[im.id]; len(imgs) == 1 && fx.srv.started.Load() > 0 {
			status = imgs[0].Status
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != cmdutil.ExitTerminated {
			t.Errorf("ck after SIGTERM: %v, want exit %d\nstderr:\n%s", err, cmdutil.ExitTerminated, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("ck still running 30s after SIGTERM\nstderr:\n%s", stderr.String())
	}
	// ck deletes the image before exiting; allow Glance a moment anyway.
	var left []string
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		left = left[:0]
		for _, img := range fx.images(t) {
			left = append(left, img.ID+" "+img.Status)
		}
		if len(left) == 0 || time.Now().After(deadline) {
			break
		}
	}
	if len(left) != 0 {
		t.Errorf("SIGTERM left images behind: %v\nstderr:\n%s", left, stderr.String())
	}
	if !strings.Contains(stderr.String(), "SIGTERM") && !strings.Contains(stderr.String(), "terminated") {
		t.Logf("stderr does not name the signal:\n%s", stderr.String())
	}
}
