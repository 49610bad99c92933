//go:build !freebsd

package rootfs

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// Other systems have no lookup confined to a directory like FreeBSD's
// O_RESOLVE_BENEATH. Here the check repeats the walk and creation goes by
// path, which narrows the window for a concurrent symbolic link swap but
// cannot close it. runj-go mounts only on FreeBSD; other systems run this
// under the simulated kernel and in tests.

// checkBeneath walks rel beneath root again with Lstat: no component may
// have become a symbolic link, and the last must still be want.
func checkBeneath(root, rel string, want fs.FileInfo) error {
	if rel == "" {
		return nil
	}
	p := root
	var fi fs.FileInfo
	for _, name := range strings.Split(rel, "/") {
		p = filepath.Join(p, name)
		var err error
		if fi, err = os.Lstat(p); err != nil {
			return err
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			return errChanged
		}
	}
	if !os.SameFile(fi, want) {
		return errChanged
	}
	return nil
}

// mkdirBeneath creates the directory name in parent beneath root.
func mkdirBeneath(root, parent, name string) error {
	return os.Mkdir(filepath.Join(root, parent, name), 0o755)
}

// createBeneath creates the empty file name in parent beneath root. O_EXCL
// does not follow a symbolic link in name's place.
func createBeneath(root, parent, name string) error {
	f, err := os.OpenFile(filepath.Join(root, parent, name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	return f.Close()
}

// removeBeneath removes name, a directory if dir, from parent beneath root.
func removeBeneath(root, parent, name string, dir bool) error {
	p := filepath.Join(root, parent, name)
	op, remove := "unlink", syscall.Unlink
	if dir {
		op, remove = "rmdir", syscall.Rmdir
	}
	if err := remove(p); err != nil {
		return &fs.PathError{Op: op, Path: p, Err: err}
	}
	return nil
}
