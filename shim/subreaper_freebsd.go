package shim

import (
	"fmt"
	"syscall"

	"golang.org/x/sys/unix"
)

// pdeathSignal is not used on FreeBSD (go-runc sets no parent-death signal
// there).
const pdeathSignal = syscall.Signal(0)

// sys/sys/procctl.h: PROC_REAP_ACQUIRE = 2; sys/sys/wait.h: P_PID = 0.
const (
	procReapAcquire = 2
	idtypePid       = 0
)

// Subreaper makes the shim the reaper of the container's processes, which
// runj-go leaves without a parent: procctl(P_PID, getpid(),
// PROC_REAP_ACQUIRE, NULL).
func Subreaper() error {
	_, _, errno := unix.Syscall6(unix.SYS_PROCCTL, idtypePid, uintptr(unix.Getpid()), procReapAcquire, 0, 0, 0)
	if errno != 0 {
		return fmt.Errorf("procctl(PROC_REAP_ACQUIRE): %w", errno)
	}
	return nil
}
