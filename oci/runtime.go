package oci

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"

	"github.com/runj-go/runj-go/oci/kernel"
	"github.com/runj-go/runj-go/oci/procs"
	"github.com/runj-go/runj-go/oci/state"
)

// AnnotationJID is the state annotation that carries the jail id.
const AnnotationJID = "org.freebsd.jail.jid"

// Errors callers match on, with runc's wording.
var (
	ErrNotRunning = errors.New("container not running")
	ErrNotCreated = errors.New("container is not in created state")
	ErrNotStopped = errors.New("cannot delete container that is not stopped")
)

// Status values of runtime.md.
const (
	StatusCreating = "creating"
	StatusCreated  = "created"
	StatusRunning  = "running"
	StatusStopped  = "stopped"
	StatusPaused   = "paused"
)

// Runtime runs the lifecycle of the containers under one state root.
type Runtime struct {
	Store  *state.Store
	Kernel kernel.Kernel
	Log    logrus.FieldLogger
	// Self is the runtime's own executable, re-executed as `init`.
	Self string
	// InitArgs are the global flags passed to the re-executed runtime
	// (--root, --log, --log-format, --debug).
	InitArgs []string
}

// New opens the state root and the kernel.
func New(root string, log logrus.FieldLogger, self string, initArgs []string) (*Runtime, error) {
	st, err := state.New(root)
	if err != nil {
		return nil, err
	}
	k, err := kernel.Open(root)
	if err != nil {
		return nil, err
	}
	return &Runtime{Store: st, Kernel: k, Log: log, Self: self, InitArgs: initArgs}, nil
}

// status computes a container's status from its saved state and the live
// process table: stopped when init is gone, a zombie, or another process
// that reused its pid.
func status(st *state.State) (string, error) {
	// No init yet: create is under way, or died before it started init
	// (delete, holding the lock, tells the two apart).
	if st.InitPID == 0 {
		return StatusCreating, nil
	}
	alive, err := procs.Alive(st.InitPID, st.InitStart)
	if err != nil {
		return "", err
	}
	switch {
	case !alive:
		return StatusStopped, nil
	case st.Paused:
		return StatusPaused, nil
	case st.Started:
		return StatusRunning, nil
	}
	return StatusCreated, nil
}

// OCIState is the state of a container as runtime.md defines it, with
// runc's extra fields that go-runc's List decodes.
type OCIState struct {
	specs.State
	Rootfs string `json:"rootfs"`
	// Created is omitted until create has saved the state: go-runc
	// decodes it as a time, and "" would fail the whole list.
	Created string `json:"created,omitempty"`
}

// State returns the OCI state of container id.
func (r *Runtime) State(id string) (*OCIState, error) {
	st, err := r.Store.Load(id)
	if err != nil {
		return nil, err
	}
	return ociState(st)
}

func ociState(st *state.State) (*OCIState, error) {
	s, err := status(st)
	if err != nil {
		return nil, err
	}
	out := &OCIState{
		State: specs.State{
			Version:     specs.Version,
			ID:          st.ID,
			Status:      specs.ContainerState(s),
			Bundle:      st.Bundle,
			Annotations: map[string]string{},
		},
		Rootfs: st.Rootfs,
	}
	if !st.Created.IsZero() {
		out.Created = st.Created.UTC().Format("2006-01-02T15:04:05.999999999Z07:00")
	}
	for k, v := range st.Annotations {
		out.Annotations[k] = v
	}
	if st.JID != 0 {
		out.Annotations[AnnotationJID] = strconv.Itoa(st.JID)
	}
	if s != StatusStopped {
		out.Pid = st.InitPID
	}
	return out, nil
}

// hookState is the state hooks get on stdin.
func hookState(st *state.State, status string) ([]byte, error) {
	s, err := ociState(st)
	if err != nil {
		return nil, err
	}
	s.Status = specs.ContainerState(status)
	s.Pid = st.InitPID
	return json.Marshal(s.State)
}

// List returns the state of every container.
func (r *Runtime) List() ([]*OCIState, error) {
	ids, err := r.Store.List()
	if err != nil {
		return nil, err
	}
	out := make([]*OCIState, 0, len(ids))
	for _, id := range ids {
		s, err := r.State(id)
		if errors.Is(err, state.ErrNotExist) {
			continue // deleted while we listed
		}
		if err != nil {
			return nil, fmt.Errorf("container %s: %w", id, err)
		}
		out = append(out, s)
	}
	return out, nil
}

// spec decodes the config a container was created from.
func spec(st *state.State) (*specs.Spec, error) {
	var s specs.Spec
	if err := json.Unmarshal(st.Config, &s); err != nil {
		return nil, fmt.Errorf("container %s: saved config: %w", st.ID, err)
	}
	return &s, nil
}

// ContainerProcess returns the process of the config a container was
// created from, the base of exec's process.
func (r *Runtime) ContainerProcess(id string) (*specs.Process, error) {
	st, err := r.Store.Load(id)
	if err != nil {
		return nil, err
	}
	s, err := spec(st)
	if err != nil {
		return nil, err
	}
	if s.Process == nil {
		return nil, fmt.Errorf("container %s has no process to base exec on: use --process", id)
	}
	return s.Process, nil
}

// open locks container id and computes its status; the caller closes the
// container.
func (r *Runtime) open(id string) (*state.Container, string, error) {
	c, err := r.Store.Open(id)
	if err != nil {
		return nil, "", err
	}
	s, err := status(c.State())
	if err != nil {
		c.Close()
		return nil, "", err
	}
	return c, s, nil
}
