package procs

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"strconv"

	"golang.org/x/sys/unix"
)

// get reads /proc/PID/stat. A reaped process has no directory (ENOENT);
// one reaped while its file is read answers ESRCH.
func get(pid int) (Info, error) {
	path := "/proc/" + strconv.Itoa(pid) + "/stat"
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, unix.ESRCH) {
		return Info{}, fmt.Errorf("pid %d: %w", pid, ErrNotFound)
	}
	if err != nil {
		return Info{}, err
	}
	info, err := parseStat(b)
	if err != nil {
		return Info{}, fmt.Errorf("%s: %w", path, err)
	}
	if info.Pid != pid {
		return Info{}, fmt.Errorf("%s: names pid %d", path, info.Pid)
	}
	return info, nil
}

// all reads the numeric entries of /proc: one per process (thread group),
// threads are not listed there. A process that exits between listing and
// reading is left out.
func all() ([]Info, error) {
	d, err := os.Open("/proc")
	if err != nil {
		return nil, err
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return nil, fmt.Errorf("/proc: %w", err)
	}
	infos := make([]Info, 0, len(names))
	for _, name := range names {
		pid, err := strconv.Atoi(name)
		if err != nil || pid <= 0 {
			continue // not a process: /proc/self, /proc/sys, ...
		}
		info, err := get(pid)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		infos = append(infos, info)
	}
	return infos, nil
}

func inJail(int) ([]Info, error) {
	return nil, fmt.Errorf("jails exist only on FreeBSD; this host is %s: %w", runtime.GOOS, errors.ErrUnsupported)
}

// Fields of /proc/PID/stat after the command name: proc(5) numbers them
// from 1 with "(3) state" first after the name, so field N is at N-3.
const (
	statState     = 0  // (3) state
	statPPid      = 1  // (4) ppid
	statPgrp      = 2  // (5) pgrp
	statSession   = 3  // (6) session
	statStartTime = 19 // (22) starttime, clock ticks after boot
)

// Linux states, proc(5) "(3) state". W (paging, waking), K (wakekill) and
// P (parked) are left Unknown: they belong to kernels or kernel threads a
// container is not.
var statStates = map[byte]State{
	'R': Running,
	'S': Sleeping,
	'I': Sleeping, // idle kernel thread
	'D': Waiting,
	'T': Stopped,
	't': Stopped, // tracing stop
	'Z': Zombie,
	'X': Dead,
	'x': Dead,
}

// parseStat parses the content of /proc/PID/stat: "PID (COMM) STATE PPID
// PGRP SESSION ...". COMM is the process's own name and may contain
// anything but NUL, including spaces, parentheses and newlines, so it ends
// at the last ')' of the line, not at the first.
func parseStat(b []byte) (Info, error) {
	open := bytes.IndexByte(b, '(')
	end := bytes.LastIndexByte(b, ')')
	if open < 0 || end < open {
		return Info{}, errors.New("stat: no (comm)")
	}
	pid, err := strconv.Atoi(string(bytes.TrimSuffix(b[:open], []byte(" "))))
	if err != nil || pid <= 0 {
		return Info{}, fmt.Errorf("stat: bad pid %q", b[:open])
	}
	fields := bytes.Fields(b[end+1:])
	if len(fields) <= statStartTime {
		return Info{}, fmt.Errorf("stat: %d fields after (comm), want at least %d", len(fields), statStartTime+1)
	}
	if len(fields[statState]) != 1 {
		return Info{}, fmt.Errorf("stat: bad state %q", fields[statState])
	}
	info := Info{
		Pid:   pid,
		Comm:  string(b[open+1 : end]),
		State: statStates[fields[statState][0]],
	}
	for _, f := range []struct {
		dst  *int
		name string
		i    int
		min  int
	}{
		{&info.PPid, "ppid", statPPid, 0},
		// -1 for a task that is exiting and has released its signal
		// handlers (fs/proc/array.c: do_task_stat: "pid_t ppid = 0,
		// pgid = -1, sid = -1;", set only under lock_task_sighand).
		{&info.Pgid, "pgrp", statPgrp, -1},
		{&info.Sid, "session", statSession, -1},
	} {
		// The kernel prints these as %d; 0 means none (the parent of
		// pid 1, the session of a kernel thread).
		if *f.dst, err = strconv.Atoi(string(fields[f.i])); err != nil || *f.dst < f.min {
			return Info{}, fmt.Errorf("stat: bad %s %q", f.name, fields[f.i])
		}
	}
	if info.Start, err = strconv.ParseUint(string(fields[statStartTime]), 10, 64); err != nil {
		return Info{}, fmt.Errorf("stat: bad starttime %q", fields[statStartTime])
	}
	return info, nil
}
