// Package ctrreport is what `ctrhelper print` prints, shared by the helper
// and the end-to-end suites that read it.
package ctrreport

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
