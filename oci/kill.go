package oci

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/runj-go/runj-go/jailspec"
	"github.com/runj-go/runj-go/oci/procs"
	"github.com/runj-go/runj-go/oci/state"
)

// liveProcs lists the processes in the jail of a container in status s.
// A stopped container's jail id is used only while the jail of its name
// still has it: removed behind the runtime's back, or after a reboot, the
// id may be another jail's.
func (r *Runtime) liveProcs(st *state.State, s string) ([]procs.Info, error) {
	if s == StatusStopped && st.JID != 0 {
		jid, err := r.Kernel.LookupJail(st.JailName)
		if errors.Is(err, jailspec.ErrNotFound) || err == nil && jid != st.JID {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
	}
	return r.containerProcs(st)
}

// ParseSignal reads a signal as a number (go-runc) or a name with or
// without "SIG" (runtime-tools), in any case.
func ParseSignal(s string) (syscall.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n <= 0 || unix.SignalName(syscall.Signal(n)) == "" {
			return 0, fmt.Errorf("signal %d is not a valid signal", n)
		}
		return syscall.Signal(n), nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return sig, nil
	}
	return 0, fmt.Errorf("signal %q is not a valid signal", s)
}

// Kill sends sig to the container's init process or, with all, to every
// process in its jail. It works on created, running and paused containers.
//
// A jail is like a container that shares its PID namespace: its other
// processes outlive init. So, as runc does in that case, SIGKILL goes to
// every process in the jail, and with all the processes left in a stopped
// container are signalled too; a stopped container with none left is not
// an error then (runc's kill ignores "not running" with --all). containerd's
// shims rely on that to clear a container whose init has exited.
func (r *Runtime) Kill(id string, sig syscall.Signal, all bool) error {
	st, err := r.Store.Load(id)
	if err != nil {
		return err
	}
	s, err := status(st)
	if err != nil {
		return err
	}
	switch {
	case s == StatusCreating:
		return ErrNotRunning
	case s == StatusStopped && !all:
		return ErrNotRunning
	case !all && sig != syscall.SIGKILL:
		if err := syscall.Kill(st.InitPID, sig); err != nil {
			if errors.Is(err, syscall.ESRCH) {
				return ErrNotRunning
			}
			return fmt.Errorf("kill %d: %w", st.InitPID, err)
		}
		return nil
	}
	ps, err := r.liveProcs(st, s)
	if err != nil {
		return err
	}
	for _, p := range ps {
		if err := syscall.Kill(p.Pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("kill %d: %w", p.Pid, err)
		}
	}
	return nil
}
