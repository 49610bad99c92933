//go:build simkernel

package kernel

import (
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// fexecve is execveat(fd, "", argv, envp, AT_EMPTY_PATH), which works
// after a chroot that hides /proc.
func fexecve(fd uintptr, argv, env []string) error {
	argvp, err := syscall.SlicePtrFromStrings(argv)
	if err != nil {
		return err
	}
	envp, err := syscall.SlicePtrFromStrings(env)
	if err != nil {
		return err
	}
	empty := []byte{0}
	_, _, errno := unix.Syscall6(unix.SYS_EXECVEAT, fd, uintptr(unsafe.Pointer(&empty[0])),
		uintptr(unsafe.Pointer(&argvp[0])), uintptr(unsafe.Pointer(&envp[0])), unix.AT_EMPTY_PATH, 0)
	return os.NewSyscallError("execveat", errno)
}
