package state

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// errStale reports that a lock was taken on a lock file that is no longer
// the one at its path: the container was removed, and maybe created again,
// while we waited.
var errStale = errors.New("lock file was replaced while waiting for it")

// lockFile takes an exclusive flock(2) on f, waiting for it. flock locks
// belong to the open file description, so two opens of the same file
// exclude each other even within one process.
func lockFile(f *os.File) error { return flock(f, unix.LOCK_EX) }

// flock takes a flock(2) lock of kind how (LOCK_EX or LOCK_SH) on f,
// waiting for it.
func flock(f *os.File, how int) error {
	for {
		err := unix.Flock(int(f.Fd()), how)
		if err != unix.EINTR {
			if err != nil {
				return &os.PathError{Op: "flock", Path: f.Name(), Err: err}
			}
			return nil
		}
	}
}

// unlockFile releases the lock on f and closes it. Unlocking explicitly,
// not only by closing, releases the lock even if the descriptor was
// duplicated.
func unlockFile(f *os.File) error {
	err := unix.Flock(int(f.Fd()), unix.LOCK_UN)
	if err != nil {
		err = &os.PathError{Op: "flock", Path: f.Name(), Err: err}
	}
	return errors.Join(err, f.Close())
}

// lockLive locks f, which was opened from path, and checks that f is
// still the file at path. A Remove may have renamed the container away
// while we waited; the inode cannot be reused while f holds it open, so
// comparing device and inode is exact. It returns an error wrapping
// os.ErrNotExist if path is gone and errStale if path is another file; in
// both cases f is unlocked and closed.
func lockLive(f *os.File, path string) error {
	if err := lockFile(f); err != nil {
		f.Close()
		return err
	}
	err := sameFile(f, path)
	if err != nil {
		unlockFile(f)
	}
	return err
}

func sameFile(f *os.File, path string) error {
	held, err := f.Stat()
	if err != nil {
		return err
	}
	cur, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !os.SameFile(held, cur) {
		return fmt.Errorf("%s: %w", path, errStale)
	}
	return nil
}
