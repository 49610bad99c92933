// Package procs reads the kernel's process table: one process by pid, every
// process, the processes of a jail, the processes of a set of sessions.
//
// The lifecycle uses it to compute a container's status live (is init
// still the process that create started, or has it exited, become a zombie,
// or had its pid reused) and to find the processes that kill --all,
// delete --force and ps act on. It reads the kernel directly (sysctl
// kern.proc.* on FreeBSD, /proc on Linux) and never runs ps(1).
package procs

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
)

// ErrNotFound is returned (wrapped) when a process does not exist. The text
// is runc's, which callers match on.
var ErrNotFound = errors.New("no such process")

// State is the scheduling state of a process, reduced to what the platforms
// share. Zombie and Stopped are exact on every platform; the others are the
// kernel's approximation at the moment of reading.
type State int

const (
	// Unknown is a state this package does not recognise.
	Unknown State = iota
	// Running is on a CPU or runnable. Linux R; FreeBSD SRUN.
	Running
	// Sleeping is an interruptible wait. Linux S and I; FreeBSD SSLEEP.
	Sleeping
	// Waiting is an uninterruptible wait or a wait for a lock. Linux D;
	// FreeBSD SWAIT and SLOCK.
	Waiting
	// Stopped is stopped by a signal or a debugger. Linux T and t;
	// FreeBSD SSTOP.
	Stopped
	// Zombie has exited and waits to be reaped by its parent. Linux Z;
	// FreeBSD SZOMB.
	Zombie
	// Dead is being torn down after it was reaped. Linux X and x.
	Dead
	// Forking is still being created by fork. FreeBSD SIDL.
	Forking
)

var stateNames = [...]string{
	Unknown:  "unknown",
	Running:  "running",
	Sleeping: "sleeping",
	Waiting:  "waiting",
	Stopped:  "stopped",
	Zombie:   "zombie",
	Dead:     "dead",
	Forking:  "forking",
}

func (s State) String() string {
	if s >= 0 && int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// Info is one process as the kernel reports it.
type Info struct {
	Pid  int
	PPid int
	Pgid int
	Sid  int
	// Jid is the FreeBSD jail the process runs in; 0 is the host, and
	// always 0 on Linux.
	Jid int
	// Start identifies this process among all that ever had its pid: it
	// is equal for the same process and differs after the pid is reused.
	// Its unit is the platform's (Linux: clock ticks since boot, from
	// /proc/PID/stat; FreeBSD: microseconds since boot, from ki_start).
	// Store it and compare it; do not interpret it.
	Start uint64
	State State
	// Comm is the command name the kernel keeps, truncated by the kernel
	// (15 bytes on Linux, 19 on FreeBSD).
	Comm string
}

// Exited reports whether the process has exited and only its entry in the
// process table is left.
func (i Info) Exited() bool {
	return i.State == Zombie || i.State == Dead
}

// Get returns the process pid. The error wraps ErrNotFound if there is no
// such process; a zombie is still found (see Info.Exited).
func Get(pid int) (Info, error) {
	// pid 0 is the kernel's own process on FreeBSD (the swapper); a zero pid
	// read from a state file must never look like a live container.
	if pid <= 0 || pid > math.MaxInt32 {
		return Info{}, fmt.Errorf("pid %d: %w", pid, ErrNotFound)
	}
	return get(pid)
}

// Alive reports whether pid is still the process that had start time start
// and has not exited. It is false, with no error, when the process is gone,
// is a zombie, or is another process that reused the pid.
func Alive(pid int, start uint64) (bool, error) {
	info, err := Get(pid)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return info.Start == start && !info.Exited(), nil
}

// All returns every process, sorted by pid.
func All() ([]Info, error) {
	return sortByPid(all())
}

// InJail returns the processes of the FreeBSD jail jid, sorted by pid. jid
// must be positive: jail 0 is the host, and treating the host as a
// container's jail would let kill --all signal every process on it.
func InJail(jid int) ([]Info, error) {
	if jid <= 0 {
		return nil, fmt.Errorf("jail id %d: not a jail", jid)
	}
	return sortByPid(inJail(jid))
}

// InSessions returns the processes whose session id is one of sids, sorted
// by pid. It stands in for InJail where there are no jails (the simulated
// kernel on Linux): a container whose init called setsid(2) is the session
// with init's pid, and its processes stay in it unless they start their own.
func InSessions(sids ...int) ([]Info, error) {
	if len(sids) == 0 {
		return nil, nil
	}
	infos, err := All()
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(infos, func(i Info) bool { return !slices.Contains(sids, i.Sid) }), nil
}

func sortByPid(infos []Info, err error) ([]Info, error) {
	if err != nil {
		return nil, err
	}
	slices.SortFunc(infos, func(a, b Info) int { return cmp.Compare(a.Pid, b.Pid) })
	return infos, nil
}
