//go:build simkernel && !linux

package kernel

import (
	"fmt"
	"syscall"
)

func fexecve(fd uintptr, argv, env []string) error {
	return syscall.Exec(fmt.Sprintf("/dev/fd/%d", fd), argv, env)
}
