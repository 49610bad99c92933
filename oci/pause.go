package oci

import (
	"fmt"
	"slices"
	"syscall"
	"time"

	"github.com/runj-go/runj-go/oci/procs"
	"github.com/runj-go/runj-go/oci/state"
)

// pauseTimeout bounds how long pause waits for the processes to stop.
const pauseTimeout = 10 * time.Second

// Pause stops every process of a running container with SIGSTOP,
// repeating until none is left running, so that a process forked while
// the signals went out cannot escape.
func (r *Runtime) Pause(id string) error {
	c, s, err := r.open(id)
	if err != nil {
		return err
	}
	defer c.Close()
	st := c.State()
	if s != StatusRunning && s != StatusCreated {
		return fmt.Errorf("cannot pause container %s: %w (status %s)", id, ErrNotRunning, s)
	}
	// Stopped is reported once a stop is requested, while another thread
	// of the process may still be in fork(2): pause is done only when two
	// listings in a row find the same processes, all stopped.
	deadline := time.Now().Add(pauseTimeout)
	var last []int
	stopSent := map[int]bool{}
	for {
		running, all, err := r.runningProcs(st)
		if err != nil {
			return err
		}
		// A process in an uninterruptible wait runs no code of its own
		// and, once sent SIGSTOP, stops as it leaves the kernel. It may
		// wait on a process that is stopped itself: a vfork(2) parent
		// waits for its child to exec, and Linux (where the simulated
		// kernel runs) cannot stop it meanwhile. FreeBSD lets it stop
		// and reports such a process stopped anyway (P_SHOULDSTOP).
		running = slices.DeleteFunc(running, func(p procs.Info) bool {
			return p.State == procs.Waiting && stopSent[p.Pid]
		})
		if len(running) == 0 {
			if slices.Equal(all, last) {
				break
			}
			last = all
			time.Sleep(5 * time.Millisecond)
			continue
		}
		last = nil
		if time.Now().After(deadline) {
			r.signalAll(st, syscall.SIGCONT)
			return fmt.Errorf("pause container %s: %d process(es) did not stop", id, len(running))
		}
		for _, p := range running {
			syscall.Kill(p.Pid, syscall.SIGSTOP)
			stopSent[p.Pid] = true
		}
		time.Sleep(5 * time.Millisecond)
	}
	st.Paused = true
	return c.Save()
}

// Resume continues the processes of a paused container.
func (r *Runtime) Resume(id string) error {
	c, s, err := r.open(id)
	if err != nil {
		return err
	}
	defer c.Close()
	st := c.State()
	if s != StatusPaused {
		return fmt.Errorf("cannot resume container %s: it is not paused (status %s)", id, s)
	}
	if err := r.signalAll(st, syscall.SIGCONT); err != nil {
		return err
	}
	st.Paused = false
	return c.Save()
}

// runningProcs lists the container's processes that are not stopped, and
// the pids of all its live processes, sorted.
func (r *Runtime) runningProcs(st *state.State) (running []procs.Info, pids []int, err error) {
	all, err := r.containerProcs(st)
	if err != nil {
		return nil, nil, err
	}
	for _, p := range all {
		info, err := procs.Get(p.Pid)
		if err != nil || info.Exited() {
			continue
		}
		pids = append(pids, info.Pid)
		if info.State != procs.Stopped {
			running = append(running, info)
		}
	}
	slices.Sort(pids)
	return running, pids, nil
}

func (r *Runtime) signalAll(st *state.State, sig syscall.Signal) error {
	all, err := r.containerProcs(st)
	if err != nil {
		return err
	}
	for _, p := range all {
		syscall.Kill(p.Pid, sig)
	}
	return nil
}

// Procs lists the processes in the container's jail. A stopped
// container's jail may still hold processes that outlived init (see
// Kill); as runc's ps, Procs lists them, or none.
func (r *Runtime) Procs(id string) ([]procs.Info, error) {
	st, err := r.Store.Load(id)
	if err != nil {
		return nil, err
	}
	s, err := status(st)
	if err != nil {
		return nil, err
	}
	if s == StatusCreating {
		return nil, ErrNotRunning
	}
	all, err := r.liveProcs(st, s)
	if err != nil {
		return nil, err
	}
	out := make([]procs.Info, 0, len(all))
	for _, p := range all {
		if info, err := procs.Get(p.Pid); err == nil {
			out = append(out, info)
		}
	}
	return out, nil
}
