package main

import (
	"golang.org/x/sys/unix"

	"github.com/runj-go/runj-go/integration/internal/ctrreport"
)

func statfs(path string) (*ctrreport.Statfs, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return nil, err
	}
	return &ctrreport.Statfs{
		Type:   unix.ByteSliceToString(st.Fstypename[:]),
		On:     unix.ByteSliceToString(st.Mntonname[:]),
		From:   unix.ByteSliceToString(st.Mntfromname[:]),
		Flags:  st.Flags,
		Bsize:  st.Bsize,
		Blocks: st.Blocks,
	}, nil
}
