package testenv

import "syscall"

// serverProcAttr puts a server in its own process group and has the kernel kill it if the
// test runner dies, so no server outlives a crashed run.
func serverProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
