package oci

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"github.com/runj-go/runj-go/oci/state"
)

// Start runs the user process of a created container: the startContainer
// hooks in the jail, then the process, then the poststart hooks on the
// host. A failing hook stops the container and fails start (runtime.md).
func (r *Runtime) Start(id string) error {
	c, s, err := r.open(id)
	if err != nil {
		return err
	}
	defer c.Close()
	st := c.State()
	if s != StatusCreated {
		return fmt.Errorf("cannot start container %s: %w (status %s)", id, ErrNotCreated, s)
	}
	spec, err := spec(st)
	if err != nil {
		return err
	}
	if spec.Process == nil {
		return fmt.Errorf("cannot start container %s: config.json has no process", id)
	}
	if err := r.runHooks(spec, hookStartContainer, st, StatusCreated); err != nil {
		r.stop(st)
		return err
	}
	if err := releaseInit(c); err != nil {
		return err
	}
	st.Started = true
	if err := c.Save(); err != nil {
		return err
	}
	if err := r.runHooks(spec, hookPoststart, st, StatusRunning); err != nil {
		r.stop(st)
		return err
	}
	return nil
}

// releaseInit writes to the exec fifo, on which init waits, and removes
// it. Init holds the fifo open, so opening it for writing without
// blocking fails with ENXIO only when init is gone.
func releaseInit(c *state.Container) error {
	f, err := os.OpenFile(c.FifoPath(), os.O_WRONLY|syscall.O_NONBLOCK, 0)
	if errors.Is(err, syscall.ENXIO) || errors.Is(err, os.ErrNotExist) {
		return ErrNotRunning
	}
	if err != nil {
		return fmt.Errorf("exec fifo: %w", err)
	}
	defer f.Close()
	if _, err := f.Write([]byte{0}); err != nil {
		return fmt.Errorf("exec fifo: %w", err)
	}
	return os.Remove(c.FifoPath())
}

// stop kills every process of a container after a failed hook; delete
// undoes the rest.
func (r *Runtime) stop(st *state.State) {
	if err := r.killAll(st); err != nil {
		r.Log.WithField("id", st.ID).WithError(err).Warn("stop container")
	}
}
