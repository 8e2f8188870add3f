package cmdutil

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// Lock takes a non-blocking exclusive flock on path, creating the file if
// needed. The returned func releases it. A lock held by another process
// gives a *LockedError (exit 75), so cron wrappers can tell it apart.
func Lock(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, &UsageError{Flag: "--lock-file", Reason: err.Error()}
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, &LockedError{Path: path}
		}
		return nil, fmt.Errorf("--lock-file %s: %w", path, err)
	}
	// The pid helps an operator find the holder; the lock itself is the flock.
	_ = f.Truncate(0)
	_, _ = fmt.Fprintf(f, "%d\n", os.Getpid())
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
