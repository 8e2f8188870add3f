//go:build !linux

package registrytest

import "syscall"

// sysProcAttr has no parent-death signal to ask for outside Linux (where
// docker-registry is not packaged anyway).
func sysProcAttr() *syscall.SysProcAttr { return nil }
