package shim

import (
	"fmt"
	"syscall"

	"golang.org/x/sys/unix"
)

// pdeathSignal ends runj-go if the shim dies while it runs.
const pdeathSignal = syscall.SIGKILL

// Subreaper makes the shim the reaper of the container's processes, which
// runj-go leaves without a parent: prctl(PR_SET_CHILD_SUBREAPER).
func Subreaper() error {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("prctl(PR_SET_CHILD_SUBREAPER): %w", err)
	}
	return nil
}
