package registrytest

import "syscall"

// sysProcAttr makes a private registry die with the test binary (a test
// killed by -timeout must not leave registries behind). Pdeathsig follows
// the OS thread that started the child; the Go runtime only retires threads
// of goroutines that exit while locked to one, which these tests never do.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
