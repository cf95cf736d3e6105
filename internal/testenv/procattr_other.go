//go:build unix && !linux

package testenv

import "syscall"

// serverProcAttr: without Pdeathsig outside Linux, servers are stopped by Stop (and
// dynalite also exits when its stdin closes).
func serverProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
