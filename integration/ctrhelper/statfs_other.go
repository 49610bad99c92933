//go:build !freebsd

package main

import (
	"errors"

	"github.com/runj-go/runj-go/integration/internal/ctrreport"
)

// statfs is used by the FreeBSD suite only: other systems' struct statfs
// has no file system type name or mount point.
func statfs(string) (*ctrreport.Statfs, error) {
	return nil, errors.New("statfs: only on FreeBSD")
}
