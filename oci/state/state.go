// Package state is the on-disk store of container state under the
// runtime's --root directory.
//
// Each container has a directory <root>/<id> holding:
//
//	lock        flock(2)ed by every command that changes the container
//	state.json  the State, replaced atomically on every save
//	exec.fifo   made by create, opened by start (see Container.FifoPath)
//
// A container directory only ever appears under its id with its lock
// file already inside and locked by its creator: Create builds it under a
// temporary name and renames it into place. Remove renames it away before
// deleting it, so the id is free again as soon as the rename is done.
// Temporary names start with '.', which no valid container id contains.
package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Version is the schema version of state.json written by this package.
// Load refuses files with a different version rather than guessing.
const Version = 1

var (
	// ErrNotExist is returned, wrapped with the id, when a container does
	// not exist. The text is runc's; callers match on it.
	ErrNotExist = errors.New("container does not exist")
	// ErrExists is returned by Create, wrapped with the id, when a
	// container with that id exists. Printed, it reads like runc's
	// "container with id exists: ID".
	ErrExists = errors.New("container with id exists")
)

// State is the content of state.json: the OCI state of the container plus
// what delete needs to undo create.
type State struct {
	// Version is the schema version; Save sets it to [Version].
	Version int `json:"version"`

	OCIVersion string `json:"ociVersion"`
	ID         string `json:"id"`
	// Bundle is the absolute path of the bundle directory.
	Bundle string `json:"bundle"`
	// Rootfs is the absolute path of the container's root filesystem.
	Rootfs string `json:"rootfs"`
	// Created is when create began. It is zero until the creator first
	// saves the state.
	Created     time.Time         `json:"created,omitzero"`
	Annotations map[string]string `json:"annotations,omitempty"`

	JailName string `json:"jailName,omitempty"`
	JID      int    `json:"jid,omitempty"`
	// InitPID and InitStart identify the init process: a process with
	// InitPID but another start time is a different process that reused
	// the pid.
	InitPID   int    `json:"initPid,omitempty"`
	InitStart uint64 `json:"initStart,omitempty"`

	// Started is set once start has run; status is computed from it and
	// the init process.
	Started bool `json:"started"`
	Paused  bool `json:"paused"`

	// Steps is the undo log: the actions create has completed, in the
	// order it completed them. Delete undoes them in reverse.
	Steps []Step `json:"steps,omitempty"`

	// Config is the config.json the container was created from. The
	// runtime uses this copy, never the bundle's file, which may have been
	// edited since (runtime-spec runtime.md, "create").
	Config json.RawMessage `json:"config,omitempty"`
}

// Step is one completed action of create, recorded so that delete can
// undo it. Kind names the action; Data is what undoing it needs.
type Step struct {
	Kind string          `json:"kind"`
	Data json.RawMessage `json:"data,omitempty"`
}

// decodeState parses the state.json of container id.
func decodeState(data []byte, id string) (*State, error) {
	var st State
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, err
	}
	if st.Version != Version {
		return nil, fmt.Errorf("state version %d is not supported (this runtime writes version %d)", st.Version, Version)
	}
	if st.ID != id {
		return nil, fmt.Errorf("state is for container %q, not %q", st.ID, id)
	}
	return &st, nil
}
