//go:build !freebsd

package main

import "errors"

// statfs is used by the FreeBSD suite only: other systems' struct statfs
// has no file system type name or mount point.
func statfs(string) (*Statfs, error) {
	return nil, errors.New("statfs: only on FreeBSD")
}
