package testenv

import "syscall"

// serverProcAttr: Windows has no process groups here; servers are stopped by Stop.
func serverProcAttr() *syscall.SysProcAttr { return nil }
