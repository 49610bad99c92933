//go:build freebsd

package jailspec

import (
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/runj-go/runj-go/internal/kld"
)

// Set creates or updates a jail with jail_set(2), flags being JailCreate,
// JailUpdate, JailAttach and JailDying, and returns the jail's id.
//
// An ENOENT from jail_set is not ErrNotFound: the kernel also returns it
// when "path" does not exist (sys/kern/kern_jail.c: namei).
//
// A parameter that a kernel module registers (allow.mount.<fs>, sysvmsg,
// sysvsem, sysvshm, linux.*) and the kernel does not have yet has its
// module loaded first, as jail(8) does through libjail
// (lib/libjail/jail.c: kldload_param); the kernel refuses a parameter it
// does not know ("unknown parameter").
func Set(ps Params, flags int) (jid int, err error) {
	for _, p := range ps {
		if mod := kld.ParamModule(p.Name); mod != "" && !kld.ParamKnown(p.Name) {
			if err := kld.Load(mod); err != nil {
				return 0, fmt.Errorf("jail parameter %s: %w", p.Name, err)
			}
		}
	}
	req, err := Encode(ps)
	if err != nil {
		return 0, err
	}
	r, errno := callIOV(unix.SYS_JAIL_SET, req, flags)
	if errno != 0 {
		return 0, req.syscallError("jail_set", errno)
	}
	return r, nil
}

// Lookup returns the id of the live jail named name with jail_get(2). The
// error wraps ErrNotFound when no such jail exists or it is dying:
// kern_jail_get returns ENOENT for both without JAIL_DYING
// (sys/kern/kern_jail.c: "jail \"%s\" not found", "jail \"%s\" is dying").
func Lookup(name string) (jid int, err error) {
	req, err := LookupRequest(name)
	if err != nil {
		return 0, err
	}
	if _, errno := callIOV(unix.SYS_JAIL_GET, req, 0); errno != 0 {
		e := req.syscallError("jail_get", errno)
		e.notFound = errno == unix.ENOENT
		return 0, e
	}
	return req.JID()
}

// Attach moves the calling process into jail jid with jail_attach(2). It
// changes the whole process, not the thread: do_jail_attach gives the
// process new credentials and chroots and chdirs it to the jail's root
// (sys/kern/kern_jail.c).
func Attach(jid int) error {
	if _, _, errno := unix.Syscall(unix.SYS_JAIL_ATTACH, uintptr(jid), 0, 0); errno != 0 {
		return &SyscallError{Syscall: "jail_attach", Err: errno}
	}
	return nil
}

// Remove removes jail jid and kills its processes with jail_remove(2). The
// error wraps ErrNotFound when no such jail exists: sys_jail_remove returns
// EINVAL only when prison_find_child finds no jail, and succeeds silently
// for a jail that is already dying (sys/kern/kern_jail.c).
func Remove(jid int) error {
	if _, _, errno := unix.Syscall(unix.SYS_JAIL_REMOVE, uintptr(jid), 0, 0); errno != 0 {
		return &SyscallError{Syscall: "jail_remove", Err: errno, notFound: errno == unix.EINVAL}
	}
	return nil
}

// callIOV makes jail_set or jail_get, both int (struct iovec *iovp,
// unsigned int iovcnt, int flags), with req as the iovec array. The kernel
// writes into req's buffers (errmsg, and jail_get's values).
func callIOV(trap uintptr, req Request, flags int) (int, unix.Errno) {
	iov := make([]unix.Iovec, len(req))
	for i, b := range req {
		// A boolean's value is NULL with length 0, as libjail sends it.
		if len(b) > 0 {
			iov[i].Base = &b[0]
			iov[i].SetLen(len(b))
		}
	}
	r, _, errno := unix.Syscall(trap, uintptr(unsafe.Pointer(&iov[0])), uintptr(len(iov)), uintptr(flags))
	// The kernel reads and writes req's buffers through iov until the call
	// returns: keep iov and the buffers it points to reachable until then.
	runtime.KeepAlive(iov)
	runtime.KeepAlive(req)
	return int(r), errno
}
