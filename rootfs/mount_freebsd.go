//go:build freebsd

package rootfs

import (
	"os"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The MNT_* flags and name limits of options.go and nmount.go come from
// sys/sys/mount.h; golang.org/x/sys/unix generates its own from the same
// header. A difference fails the FreeBSD build here: an array length must
// not be negative, and [0]struct{} only takes a [0]struct{}.
var (
	_ [0]struct{} = [MntRdonly ^ unix.MNT_RDONLY]struct{}{}
	_ [0]struct{} = [MntSynchronous ^ unix.MNT_SYNCHRONOUS]struct{}{}
	_ [0]struct{} = [MntNoexec ^ unix.MNT_NOEXEC]struct{}{}
	_ [0]struct{} = [MntNosuid ^ unix.MNT_NOSUID]struct{}{}
	_ [0]struct{} = [MntUnion ^ unix.MNT_UNION]struct{}{}
	_ [0]struct{} = [MntAsync ^ unix.MNT_ASYNC]struct{}{}
	_ [0]struct{} = [MntNosymfollow ^ unix.MNT_NOSYMFOLLOW]struct{}{}
	_ [0]struct{} = [MntNoatime ^ unix.MNT_NOATIME]struct{}{}
	_ [0]struct{} = [MntForce ^ unix.MNT_FORCE]struct{}{}

	// struct statfs: char f_fstypename[MFSNAMELEN], f_mntonname[MNAMELEN].
	_ [mfsNameLen]byte = unix.Statfs_t{}.Fstypename
	_ [mNameLen]byte   = unix.Statfs_t{}.Mntonname
)

// Nmount makes the mount r describes with nmount(2). A failure is a
// *MountError carrying the kernel's errmsg text; it wraps
// ErrUnknownFSType when the kernel has no file system of r's type.
func Nmount(r Request) error {
	iov, err := r.Encode()
	if err != nil {
		return err
	}
	if errno := nmount(iov, r.Flags); errno != 0 {
		return NewMountError(r, errno, Errmsg(iov), pathExists)
	}
	return nil
}

// nmount calls int nmount(struct iovec *iov, u_int niov, int flags) with
// iov as the iovec array. The kernel writes its message into the errmsg
// buffer of iov.
func nmount(req [][]byte, flags int) unix.Errno {
	iov := make([]unix.Iovec, len(req))
	for i, b := range req {
		// A flag option's value is NULL with length 0, as build_iovec
		// sends it (sbin/mount/getmntopts.c).
		if len(b) > 0 {
			iov[i].Base = &b[0]
			iov[i].SetLen(len(b))
		}
	}
	_, _, errno := unix.Syscall(unix.SYS_NMOUNT, uintptr(unsafe.Pointer(&iov[0])), uintptr(len(iov)), uintptr(flags))
	// The kernel reads req's buffers and writes errmsg through iov until
	// the call returns: keep both reachable until then.
	runtime.KeepAlive(iov)
	runtime.KeepAlive(req)
	return errno
}

func pathExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// Unmount unmounts the file system mounted on target with unmount(2);
// flags is 0 or MntForce. The error is an *os.PathError wrapping the
// errno. EINVAL means that target is not a mount point or does not exist:
// kern_unmount can no longer tell the two apart (sys/kern/vfs_mount.c).
func Unmount(target string, flags int) error {
	if err := unix.Unmount(target, flags); err != nil {
		return &os.PathError{Op: "unmount", Path: target, Err: err}
	}
	return nil
}
