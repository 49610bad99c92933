package rootfs

import (
	"errors"
	"unsafe"

	"golang.org/x/sys/unix"
)

// xattrUnsupported reports whether setting an extended attribute failed
// because the file system has none (EOPNOTSUPP, extattr_set_fd(2)) or
// because FreeBSD has no namespace for it: x/sys/unix maps only the
// "user." and "system." prefixes to EXTATTR_NAMESPACE_USER and
// EXTATTR_NAMESPACE_SYSTEM (sys/extattr.h) and returns ENOATTR for the
// Linux-only "security." and "trusted." ones.
func xattrUnsupported(err error) bool {
	return errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOATTR)
}

// futimens sets the access and modification times of the file open as fd
// (futimens(2); sys/sys/syscall.h: SYS_futimens = 546).
func futimens(fd int, times *[2]unix.Timespec) error {
	_, _, errno := unix.Syscall(unix.SYS_FUTIMENS, uintptr(fd), uintptr(unsafe.Pointer(times)), 0)
	if errno != 0 {
		return errno
	}
	return nil
}
