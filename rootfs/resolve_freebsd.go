package rootfs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// atResolveBeneath: sys/sys/fcntl.h: AT_RESOLVE_BENEATH = 0x2000, "Do not
// allow name resolution to walk out of dirfd" (FreeBSD 13 and later).
// golang.org/x/sys/unix v0.49.0 defines O_RESOLVE_BENEATH (0x00800000, the
// same header) for FreeBSD but not this one.
const atResolveBeneath = 0x2000

// checkBeneath has the kernel look rel up beneath root with
// AT_RESOLVE_BENEATH, not following a last symbolic link, and checks that it
// finds want, the file the walk found. Unlike an unknown O_ flag, which
// open(2) ignores, an unknown AT_ flag fails with EINVAL
// (sys/kern/vfs_syscalls.c: kern_statat), so a kernel older than FreeBSD 13
// fails the check instead of skipping it.
func checkBeneath(root, rel string, want fs.FileInfo) error {
	if rel == "" {
		return nil
	}
	fd, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return os.NewSyscallError("open", err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstatat(fd, rel, &st, atResolveBeneath|unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return beneathError("fstatat", err)
	}
	if w, ok := want.Sys().(*syscall.Stat_t); !ok || uint64(w.Dev) != st.Dev || uint64(w.Ino) != st.Ino {
		return errChanged
	}
	return nil
}

// openParent opens the directory parent beneath root one component at a
// time, each with O_NOFOLLOW and O_RESOLVE_BENEATH: parent is physical, so
// any symbolic link on the way is a change, and refused.
func openParent(root, parent string) (int, error) {
	fd, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, os.NewSyscallError("open", err)
	}
	if parent == "" {
		return fd, nil
	}
	for _, name := range strings.Split(parent, "/") {
		next, err := unix.Openat(fd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_RESOLVE_BENEATH, 0)
		unix.Close(fd)
		// open(2): EMLINK, O_NOFOLLOW and the target is a symbolic link.
		if errors.Is(err, unix.EMLINK) || errors.Is(err, unix.ELOOP) {
			return -1, fmt.Errorf("openat %q: %w (%w)", name, errChanged, err)
		}
		if err != nil {
			return -1, beneathError("openat", err)
		}
		fd = next
	}
	return fd, nil
}

// mkdirBeneath creates the directory name in parent beneath root with
// mkdirat(2), relative to the parent's descriptor.
func mkdirBeneath(root, parent, name string) error {
	fd, err := openParent(root, parent)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return os.NewSyscallError("mkdirat", unix.Mkdirat(fd, name, 0o755))
}

// createBeneath creates the empty file name in parent beneath root with
// openat(2), relative to the parent's descriptor.
func createBeneath(root, parent, name string) error {
	fd, err := openParent(root, parent)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	f, err := unix.Openat(fd, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return os.NewSyscallError("openat", err)
	}
	return os.NewSyscallError("close", unix.Close(f))
}

// removeBeneath removes name, a directory if dir, from parent beneath root
// with unlinkat(2), relative to the parent's descriptor.
func removeBeneath(root, parent, name string, dir bool) error {
	fd, err := openParent(root, parent)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	flags := 0
	if dir {
		flags = unix.AT_REMOVEDIR
	}
	return os.NewSyscallError("unlinkat", unix.Unlinkat(fd, name, flags))
}

// beneathError wraps ErrEscape around ENOTCAPABLE, the error of a lookup
// that would leave its directory (sys/kern/vfs_lookup.c).
func beneathError(op string, err error) error {
	if errors.Is(err, unix.ENOTCAPABLE) {
		return fmt.Errorf("%s: %w: %w", op, ErrEscape, err)
	}
	return os.NewSyscallError(op, err)
}
