package rootfs

import (
	"errors"
	"unsafe"

	"golang.org/x/sys/unix"
)

// xattrUnsupported reports whether setting an extended attribute failed
// because the file system has none (errno ENOTSUP, the same value as
// EOPNOTSUPP on Linux).
func xattrUnsupported(err error) bool {
	return errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.EOPNOTSUPP)
}

// futimens sets the access and modification times of the file open as fd.
// utimensat(2) with a NULL path acts on dirfd itself: what glibc's
// futimens(3) does.
func futimens(fd int, times *[2]unix.Timespec) error {
	_, _, errno := unix.Syscall6(unix.SYS_UTIMENSAT, uintptr(fd), 0, uintptr(unsafe.Pointer(times)), 0, 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}
