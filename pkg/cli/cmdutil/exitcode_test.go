package cmdutil

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestExitCode(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"nil", nil, 0},
		{"plain", errors.New("boom"), 1},
		{"usage", &UsageError{Flag: "--output", Reason: "bad"}, 1},
		{"changes", &ChangesError{Count: 3}, 2},
		{"partial", fmt.Errorf("wrapped: %w", &PartialError{Summary: "1 failed"}), 3},
		{"locked", &LockedError{Path: "/run/ck.lock"}, 75},
		{"sigint", &SignalError{Signal: os.Interrupt}, 130},
		{"sigterm", &SignalError{Signal: syscall.SIGTERM}, 143},
		{"canceled", context.Canceled, 130},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ExitCode(tt.err); got != tt.want {
				t.Errorf("ExitCode(%v) = %d, want %d", tt.err, got, tt.want)
			}
		})
	}
}

func TestLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ck.lock")
	release, err := Lock(path)
	if err != nil {
		t.Fatal(err)
	}
	// flock locks belong to the open file description, so a second open in
	// the same process contends like another process would.
	_, err = Lock(path)
	var locked *LockedError
	if !errors.As(err, &locked) || ExitCode(err) != ExitLocked {
		t.Fatalf("second Lock: err = %v, want LockedError (exit 75)", err)
	}
	release()
	release2, err := Lock(path)
	if err != nil {
		t.Fatalf("Lock after release: %v", err)
	}
	release2()
}

func TestRedactor(t *testing.T) {
	r := &Redactor{}
	r.Add("s3cr3tT0ken", "x") // "x" is too short to redact safely
	var sb strings.Builder
	w := r.Writer(&sb)
	fmt.Fprintf(w, "GET https://s3cr3tT0ken:x-oauth-basic@host/list failed\n")
	if got := sb.String(); strings.Contains(got, "s3cr3tT0ken") || !strings.Contains(got, "REDACTED:x-oauth-basic@host") {
		t.Fatalf("redacted output = %q", got)
	}
}
