//go:build freebsd

package kld

import (
	"errors"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Load loads kernel module file with kldload(2) (sys/kern/syscalls.master:
// 304 int kldload(const char *file); sys/kern/kern_linker.c: kern_kldload
// looks a bare name up in kern.module_path). A module that is loaded
// already (EEXIST) is not an error.
func Load(file string) error {
	p, err := unix.BytePtrFromString(file)
	if err != nil {
		return err
	}
	_, _, errno := unix.Syscall(unix.SYS_KLDLOAD, uintptr(unsafe.Pointer(p)), 0, 0)
	if errno != 0 && !errors.Is(errno, unix.EEXIST) {
		return os.NewSyscallError("kldload "+file, errno)
	}
	return nil
}

// ParamKnown tells whether the kernel has jail parameter name: each one
// has the sysctl security.jail.param.<name> (sys/kern/kern_jail.c:
// SYSCTL_JAIL_PARAM, prison_add_allow).
func ParamKnown(name string) bool {
	_, err := unix.SysctlRaw("security.jail.param." + name)
	return err == nil
}
