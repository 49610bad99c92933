// Package ctrreport is what ctrhelper prints (`ctrhelper print`, `ctrhelper
// fs`), shared by the helper and the end-to-end suites that read it.
package ctrreport

import "os"

// Report is what `ctrhelper print` prints: what the container process sees.
type Report struct {
	Args      []string          `json:"args"`
	Env       []string          `json:"env"`
	UID       int               `json:"uid"`
	GID       int               `json:"gid"`
	Groups    []int             `json:"groups"`
	Cwd       string            `json:"cwd"`
	Umask     int               `json:"umask"`
	NoFile    [2]uint64         `json:"nofile"`
	Tty       bool              `json:"tty"`
	TtyRows   int               `json:"ttyRows"`
	TtyCols   int               `json:"ttyCols"`
	Hostname  string            `json:"hostname"`
	OpenFds   []int             `json:"openFds"`
	Pid       int               `json:"pid"`
	Extra     map[string]string `json:"extra,omitempty"`
	SessionID int               `json:"sid"`
}

// FSResult is one line of `ctrhelper fs`.
type FSResult struct {
	Op   string `json:"op"`
	Path string `json:"path"`
	// Errno is the error's errno name ("EROFS", "ENOENT"), or its text
	// when it carries no errno; empty on success.
	Errno string `json:"errno,omitempty"`
	// Data is what read read.
	Data string `json:"data,omitempty"`
	// Mode is what stat found, as os.FileMode bits.
	Mode os.FileMode `json:"mode"`
	// Names is what ls listed.
	Names []string `json:"names,omitempty"`
	// Statfs is what statfs found.
	Statfs *Statfs `json:"statfs,omitempty"`
}

// Statfs is part of struct statfs (sys/sys/mount.h). Inside a jail with
// enforce_statfs 2, the kernel reports only the jail's root mount by name
// ("/"); every other mount point reads "[restricted]"
// (sys/kern/kern_jail.c: prison_enforce_statfs).
type Statfs struct {
	Type   string `json:"type"`   // f_fstypename
	On     string `json:"on"`     // f_mntonname
	From   string `json:"from"`   // f_mntfromname
	Flags  uint64 `json:"flags"`  // f_flags: MNT_RDONLY, MNT_NOSUID, ...
	Bsize  uint64 `json:"bsize"`  // f_bsize
	Blocks uint64 `json:"blocks"` // f_blocks, in units of f_bsize
}
