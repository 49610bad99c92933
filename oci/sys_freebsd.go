package oci

import (
	"fmt"
	"math"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/runj-go/runj-go/bundle"
)

// sys/sys/procctl.h: PROC_NO_NEW_PRIVS_CTL 19, PROC_NO_NEW_PRIVS_ENABLE 1;
// sys/sys/wait.h: idtype_t P_PID 0.
const (
	procNoNewPrivsCtl    = 19
	procNoNewPrivsEnable = 1
	pPID                 = 0
)

// sys/sys/unistd.h: CLOSE_RANGE_CLOEXEC (1<<2).
const closeRangeCloexec = 1 << 2

func setNoNewPrivileges() error {
	v := int32(procNoNewPrivsEnable)
	_, _, errno := unix.Syscall6(unix.SYS_PROCCTL, pPID, 0, procNoNewPrivsCtl, uintptr(unsafe.Pointer(&v)), 0, 0)
	if errno != 0 {
		return os.NewSyscallError("procctl PROC_NO_NEW_PRIVS_CTL", errno)
	}
	return nil
}

// rlimitResource: the container's rlimits use FreeBSD's numbering.
func rlimitResource(name string) (int, bool) {
	r, ok := bundle.Rlimits[name]
	return r, ok
}

// closeFrom marks every descriptor from first on close-on-exec
// (close_range(2), FreeBSD 13.1 and later).
func closeFrom(first int) error {
	_, _, errno := unix.Syscall(unix.SYS_CLOSE_RANGE, uintptr(first), ^uintptr(0)>>32, closeRangeCloexec)
	if errno != 0 {
		return os.NewSyscallError("close_range", errno)
	}
	return nil
}

// openPty allocates a pseudo-terminal with posix_openpt(2)
// (sys/kern/syscalls.master: 504 posix_openpt(int flags)); FreeBSD's
// grantpt and unlockpt have nothing to do for pts(4) devices. The slave is
// /dev/pts/N, N from TIOCGPTN (sys/sys/ttycom.h).
func openPty() (*os.File, string, error) {
	fd, _, errno := unix.Syscall(unix.SYS_POSIX_OPENPT, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0, 0)
	if errno != 0 {
		return nil, "", os.NewSyscallError("posix_openpt", errno)
	}
	n, err := unix.IoctlGetInt(int(fd), unix.TIOCGPTN)
	if err != nil {
		unix.Close(int(fd))
		return nil, "", fmt.Errorf("TIOCGPTN: %w", err)
	}
	return os.NewFile(fd, "/dev/ptmx"), fmt.Sprintf("/dev/pts/%d", n), nil
}

// rlim converts an OCI limit to FreeBSD's rlim_t, a signed 64-bit value
// whose RLIM_INFINITY is its maximum (sys/sys/resource.h).
func rlim(v uint64) int64 {
	if v > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(v)
}

// supplementaryGroups is the setgroups(2) list for gid and additional.
// Before FreeBSD 15 the first entry of the list is the effective gid
// (sys/kern/kern_prot.c: kern_setgroups sets cr_groups[0] = groups[0]), so
// it must be gid, as initgroups(3) and setusercontext(3) make it; from 15
// on the list holds only supplementary groups, where gid is harmless.
func supplementaryGroups(gid uint32, additional []uint32) []int {
	groups := []int{int(gid)}
	for _, g := range additional {
		groups = append(groups, int(g))
	}
	return groups
}
