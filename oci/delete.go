package oci

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/runj-go/runj-go/jailspec"
	"github.com/runj-go/runj-go/oci/procs"
	"github.com/runj-go/runj-go/oci/state"
)

// killTimeout bounds how long delete --force waits for killed processes.
const killTimeout = 10 * time.Second

// Delete removes a stopped container, undoing what create did in reverse,
// then runs the poststop hooks. With force it first kills every process
// of a container that is not stopped; an unknown id is then not an error.
// A delete that was interrupted can be run again and finishes the job.
func (r *Runtime) Delete(id string, force bool) error {
	c, err := r.Store.Open(id)
	if errors.Is(err, state.ErrNotExist) && force {
		return nil
	}
	if err != nil {
		return err
	}
	defer c.Close()
	st := c.State()
	if err := r.deleteChildren(st, force); err != nil {
		return err
	}
	s, err := status(st)
	if err != nil {
		return err
	}
	// Holding the lock, nobody is creating: a container left "creating"
	// is the remains of a create that crashed.
	if s != StatusStopped && s != StatusCreating {
		if !force {
			return fmt.Errorf("cannot delete container %s that is not stopped: %s", id, s)
		}
		if err := r.killAll(st); err != nil {
			return err
		}
	}
	if err := r.teardown(c); err != nil {
		return err
	}
	if spec, err := spec(st); err == nil {
		r.poststop(st, spec)
	}
	return c.Remove()
}

// killAll sends SIGKILL to every process of the container and waits until
// they are gone.
func (r *Runtime) killAll(st *state.State) error {
	deadline := time.Now().Add(killTimeout)
	for {
		left, err := r.containerProcs(st)
		if err != nil {
			return err
		}
		if len(left) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("container %s: %d process(es) still alive after SIGKILL", st.ID, len(left))
		}
		for _, p := range left {
			syscall.Kill(p.Pid, syscall.SIGKILL)
			// A stopped process dies of SIGKILL without SIGCONT.
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// containerProcs lists the live processes of a container: those in its
// jail, and its init process.
func (r *Runtime) containerProcs(st *state.State) ([]procs.Info, error) {
	var out []procs.Info
	if st.JID != 0 {
		ps, err := r.Kernel.JailProcs(st.JID)
		if err != nil && !errors.Is(err, jailspec.ErrNotFound) {
			return nil, err
		}
		for _, p := range ps {
			if !p.Exited() {
				out = append(out, p)
			}
		}
	}
	if alive, err := procs.Alive(st.InitPID, st.InitStart); err == nil && alive && !containsPid(out, st.InitPID) {
		out = append(out, procs.Info{Pid: st.InitPID})
	}
	return out, nil
}

func containsPid(ps []procs.Info, pid int) bool {
	for _, p := range ps {
		if p.Pid == pid {
			return true
		}
	}
	return false
}

// teardown undoes the recorded steps in reverse, saving after each one so
// that an interrupted teardown resumes where it stopped.
func (r *Runtime) teardown(c *state.Container) error {
	st := c.State()
	for len(st.Steps) > 0 {
		step := st.Steps[len(st.Steps)-1]
		if err := r.undo(st, step); err != nil {
			return fmt.Errorf("delete container %s: undo %s: %w", st.ID, step.Kind, err)
		}
		st.Steps = st.Steps[:len(st.Steps)-1]
		if err := c.Save(); err != nil {
			return err
		}
	}
	return nil
}

// undo reverses one step. Each undo succeeds when there is nothing left to
// undo, so a repeated delete finishes the job.
func (r *Runtime) undo(st *state.State, step state.Step) error {
	if ok, err := r.undoFS(st, step); ok {
		return err
	}
	if ok, err := r.undoNet(step); ok {
		return err
	}
	switch step.Kind {
	case stepRctl:
		return r.undoRctl(step)
	case stepInit:
		var s initStep
		if err := json.Unmarshal(step.Data, &s); err != nil {
			return err
		}
		if alive, _ := procs.Alive(s.Pid, s.Start); alive {
			syscall.Kill(s.Pid, syscall.SIGKILL)
		}
		return nil
	case stepJail:
		var s jailStep
		if err := json.Unmarshal(step.Data, &s); err != nil {
			return err
		}
		// The jail is found by name: the jid is zero when create died
		// before jail_set returned, and after a reboot it may belong to
		// another jail.
		jid, err := r.Kernel.LookupJail(s.Name)
		if errors.Is(err, jailspec.ErrNotFound) || (err == nil && s.JID != 0 && jid != s.JID) {
			return nil
		}
		if err != nil {
			return err
		}
		st.JID = jid
		if err := r.killAll(st); err != nil {
			return err
		}
		return r.Kernel.RemoveJail(jid)
	}
	return fmt.Errorf("unknown step %q in the state file", step.Kind)
}

// poststop runs the poststop hooks; a failure is a warning (runtime.md).
func (r *Runtime) poststop(st *state.State, spec *specs.Spec) {
	if err := r.runHooks(spec, hookPoststop, st, StatusStopped); err != nil {
		r.Log.WithField("id", st.ID).Warn(err)
	}
}

// deleteChildren deletes, with force, the containers whose jails are
// children of this container's jail: removing a jail removes its children
// (sys/kern/kern_jail.c: prison_remove), which would leave their
// containers behind. Without force, children are an error.
func (r *Runtime) deleteChildren(st *state.State, force bool) error {
	if st.JailName == "" {
		return nil
	}
	ids, err := r.Store.List()
	if err != nil {
		return err
	}
	var children []string
	for _, id := range ids {
		if id == st.ID {
			continue
		}
		child, err := r.Store.Load(id)
		if err != nil {
			continue // deleted meanwhile, or not saved yet
		}
		if strings.HasPrefix(child.JailName, st.JailName+".") {
			children = append(children, id)
		}
	}
	if len(children) == 0 {
		return nil
	}
	if !force {
		return fmt.Errorf("cannot delete container %s: containers %s run in child jails of its jail; delete them first, or use --force", st.ID, strings.Join(children, ", "))
	}
	for _, id := range children {
		if err := r.Delete(id, true); err != nil {
			return fmt.Errorf("delete child container %s: %w", id, err)
		}
	}
	return nil
}
