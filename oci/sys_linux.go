package oci

import (
	"os"

	"github.com/containerd/console"
	"golang.org/x/sys/unix"
)

// The Linux side serves the simulated kernel's end-to-end tests.

func setNoNewPrivileges() error {
	return unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
}

// linuxRlimits maps the FreeBSD rlimit names that Linux also has.
var linuxRlimits = map[string]int{
	"RLIMIT_CPU": unix.RLIMIT_CPU, "RLIMIT_FSIZE": unix.RLIMIT_FSIZE,
	"RLIMIT_DATA": unix.RLIMIT_DATA, "RLIMIT_STACK": unix.RLIMIT_STACK,
	"RLIMIT_CORE": unix.RLIMIT_CORE, "RLIMIT_RSS": unix.RLIMIT_RSS,
	"RLIMIT_MEMLOCK": unix.RLIMIT_MEMLOCK, "RLIMIT_NPROC": unix.RLIMIT_NPROC,
	"RLIMIT_NOFILE": unix.RLIMIT_NOFILE, "RLIMIT_AS": unix.RLIMIT_AS,
	"RLIMIT_VMEM": unix.RLIMIT_AS,
}

func rlimitResource(name string) (int, bool) {
	r, ok := linuxRlimits[name]
	return r, ok
}

// closeFrom marks every descriptor from first on close-on-exec
// (include/uapi/linux/close_range.h: CLOSE_RANGE_CLOEXEC (1U << 2)).
func closeFrom(first int) error {
	return unix.CloseRange(uint(first), ^uint(0)>>32, 1<<2)
}

func openPty() (*os.File, string, error) {
	c, name, err := console.NewPty()
	if err != nil {
		return nil, "", err
	}
	return os.NewFile(c.Fd(), "/dev/ptmx"), name, nil
}

func rlim(v uint64) uint64 { return v }

// supplementaryGroups is the setgroups(2) list: on Linux only the
// additional groups, as runc sets them.
func supplementaryGroups(_ uint32, additional []uint32) []int {
	groups := make([]int, len(additional))
	for i, g := range additional {
		groups[i] = int(g)
	}
	return groups
}
