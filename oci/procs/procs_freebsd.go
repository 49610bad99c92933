package procs

import (
	"errors"
	"fmt"
	"slices"

	"golang.org/x/sys/unix"
)

// get reads kern.proc.pid.<pid> (sys/sys/sysctl.h: KERN_PROC_PID), one
// struct kinfo_proc for the process, threads folded in. The kernel looks
// the pid up with pget(PGET_CANSEE) (sys/kern/kern_proc.c), which finds
// zombies too and answers ESRCH for a pid that does not exist or that this
// process may not see.
func get(pid int) (Info, error) {
	infos, err := readProcs(func() ([]byte, error) { return unix.SysctlRaw("kern.proc.pid", pid) })
	if errors.Is(err, unix.ESRCH) {
		return Info{}, fmt.Errorf("pid %d: %w", pid, ErrNotFound)
	}
	if err != nil {
		return Info{}, fmt.Errorf("sysctl kern.proc.pid.%d: %w", pid, err)
	}
	// pget takes a number above PID_MAX for a thread id and answers with
	// the thread's process: then no process has this pid.
	if len(infos) != 1 || infos[0].Pid != pid {
		return Info{}, fmt.Errorf("pid %d: %w", pid, ErrNotFound)
	}
	return infos[0], nil
}

// all reads kern.proc.proc (sys/sys/sysctl.h: KERN_PROC_PROC), every
// process once, without a record per thread; zombies included.
func all() ([]Info, error) {
	infos, err := readProcs(func() ([]byte, error) { return sysctlGrowing("kern.proc.proc") })
	if err != nil {
		return nil, fmt.Errorf("sysctl kern.proc.proc: %w", err)
	}
	return infos, nil
}

// inJail filters the full list rather than asking kern.proc for the jail:
// KERN_PROC has no "by jail" selector.
func inJail(jid int) ([]Info, error) {
	infos, err := all()
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(infos, func(i Info) bool { return i.Jid != jid }), nil
}

// sysctlGrowing retries a sysctl whose result can grow between measuring
// it and reading it: unix.SysctlRaw sizes its buffer with a first call, and
// the kernel answers ENOMEM (sys/kern/kern_sysctl.c) when processes forked
// in between no longer fit.
func sysctlGrowing(name string) ([]byte, error) {
	const attempts = 10
	var err error
	for range attempts {
		var b []byte
		if b, err = unix.SysctlRaw(name); !errors.Is(err, unix.ENOMEM) {
			return b, err
		}
	}
	return nil, err
}

// readProcs runs a kern.proc sysctl between two reads of kern.boottime, and
// retries if the boot time moved (the clock was set) in between, so that
// every ki_start is converted with the boot time the kernel used.
func readProcs(sysctl func() ([]byte, error)) ([]Info, error) {
	const attempts = 3
	for range attempts {
		before, err := bootTime()
		if err != nil {
			return nil, err
		}
		b, err := sysctl()
		if err != nil {
			return nil, err
		}
		after, err := bootTime()
		if err != nil {
			return nil, err
		}
		if before == after {
			return parseKinfoProcs(b, before)
		}
	}
	return nil, errors.New("kern.boottime kept changing while reading the process table")
}

// bootTime returns kern.boottime (sys/sys/sysctl.h: KERN_BOOTTIME, a
// struct timeval) in microseconds since the Epoch.
func bootTime() (int64, error) {
	tv, err := unix.SysctlTimeval("kern.boottime")
	if err != nil {
		return 0, fmt.Errorf("sysctl kern.boottime: %w", err)
	}
	return tv.Nano() / 1e3, nil
}
