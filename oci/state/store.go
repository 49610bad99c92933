package state

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/runj-go/runj-go/jailspec"
)

const (
	stateFile = "state.json"
	lockName  = "lock"
	fifoName  = "exec.fifo"

	// Temporary names in the root: '.' is not allowed in container ids,
	// so List never mistakes them for containers.
	createPrefix = ".create-"
	removePrefix = ".remove-"
)

// Store is the state root, one directory per container.
type Store struct {
	root string
}

// New returns the store at root, creating root (mode 0711, like runc's)
// if it does not exist. root is made absolute so that the paths the store
// hands out stay valid across a change of working directory.
func New(root string) (*Store, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("state root %s: %w", root, err)
	}
	if err := os.MkdirAll(abs, 0o711); err != nil {
		return nil, fmt.Errorf("state root: %w", err)
	}
	return &Store{root: abs}, nil
}

// Root is the absolute path of the state root.
func (s *Store) Root() string { return s.root }

// dir validates id and returns the container's directory.
func (s *Store) dir(id string) (string, error) {
	if err := jailspec.ValidateID(id); err != nil {
		return "", err
	}
	return filepath.Join(s.root, id), nil
}

// Create makes the directory of a new container and returns it locked,
// with a State holding only Version and ID; nothing is saved until the
// caller calls Save. Of concurrent Creates of one id exactly one succeeds;
// the others return an error wrapping ErrExists.
//
// The directory is built under a temporary name with its lock file
// locked, then renamed to the id. rename(2) of a directory fails when the
// target is a non-empty directory, and a container directory always holds
// its lock file, so the rename is the atomic test for existence. A stray
// empty directory at the id is replaced.
func (s *Store) Create(id string) (*Container, error) {
	dir, err := s.dir(id)
	if err != nil {
		return nil, err
	}
	tmp, lock, err := s.prepare()
	if err != nil {
		return nil, fmt.Errorf("create container %s: %w", id, err)
	}
	// Not os.Rename, which refuses any existing directory at the target
	// before calling rename(2).
	if err := unix.Rename(tmp, dir); err != nil {
		err = &os.LinkError{Op: "rename", Old: tmp, New: dir, Err: err}
		unlockFile(lock)
		os.RemoveAll(tmp)
		if errors.Is(err, syscall.EEXIST) || errors.Is(err, syscall.ENOTEMPTY) || errors.Is(err, syscall.ENOTDIR) {
			return nil, fmt.Errorf("%w: %s", ErrExists, id)
		}
		return nil, fmt.Errorf("create container %s: %w", id, err)
	}
	c := &Container{id: id, dir: dir, root: s.root, lock: lock, state: &State{Version: Version, ID: id}}
	if err := syncDir(s.root); err != nil {
		c.Remove()
		return nil, fmt.Errorf("create container %s: %w", id, err)
	}
	return c, nil
}

// prepare makes a temporary container directory in the root with its
// lock file, locked. A crash here leaves a dot directory behind, which
// List ignores.
func (s *Store) prepare() (dir string, lock *os.File, err error) {
	dir, err = os.MkdirTemp(s.root, createPrefix+"*")
	if err != nil {
		return "", nil, err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
		}
	}()
	if err := os.Chmod(dir, 0o711); err != nil {
		return "", nil, err
	}
	lock, err = os.OpenFile(filepath.Join(dir, lockName), os.O_RDONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", nil, err
	}
	if err := lockFile(lock); err != nil {
		lock.Close()
		return "", nil, err
	}
	return dir, lock, nil
}

// Open locks the container id and loads its state, waiting while another
// command holds the lock. It returns an error wrapping ErrNotExist if
// there is no such container, including when the container was removed
// while Open waited. A container whose creator has not saved yet has a
// State with only Version and ID set; delete --force removes it like any
// other.
func (s *Store) Open(id string) (*Container, error) {
	dir, err := s.dir(id)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, lockName)
	for {
		lock, err := os.Open(path)
		if err == nil {
			err = lockLive(lock, path)
		}
		switch {
		case errors.Is(err, errStale):
			continue // removed and created again while we waited
		case isNotExist(err):
			return nil, fmt.Errorf("%w: %s", ErrNotExist, id)
		case err != nil:
			return nil, fmt.Errorf("open container %s: %w", id, err)
		}
		st, err := readState(dir, id)
		if err != nil {
			unlockFile(lock)
			return nil, err
		}
		return &Container{id: id, dir: dir, root: s.root, lock: lock, state: st}, nil
	}
}

// Load reads the state of container id without taking its lock, for
// commands that only report (state, list, ps). Saves replace state.json
// atomically, so the state read is one that was saved, but it may be
// stale by the time it is used. It returns an error wrapping ErrNotExist
// if there is no such container.
func (s *Store) Load(id string) (*State, error) {
	dir, err := s.dir(id)
	if err != nil {
		return nil, err
	}
	return readState(dir, id)
}

// readState reads dir/state.json. A container directory with a lock file
// but no state.json is a container whose creator has not saved yet (or
// died before it did): its state is Version and ID only. Without a lock
// file it is not a container directory.
func readState(dir, id string) (*State, error) {
	path := filepath.Join(dir, stateFile)
	data, err := os.ReadFile(path)
	if isNotExist(err) {
		if _, err := os.Stat(filepath.Join(dir, lockName)); err == nil {
			return &State{Version: Version, ID: id}, nil
		}
		return nil, fmt.Errorf("%w: %s", ErrNotExist, id)
	}
	if err != nil {
		return nil, fmt.Errorf("load container %s: %w", id, err)
	}
	st, err := decodeState(data, id)
	if err != nil {
		return nil, fmt.Errorf("load container %s: %s: %w", id, path, err)
	}
	return st, nil
}

// List returns the ids of all containers, sorted. Entries of the root
// that are not directories named by a valid id (temporary directories,
// stray files) are skipped. It reads only the root directory.
func (s *Store) List() ([]string, error) {
	entries, err := os.ReadDir(s.root)
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	var ids []string
	for _, e := range entries { // sorted by name
		if e.IsDir() && jailspec.ValidateID(e.Name()) == nil {
			ids = append(ids, e.Name())
		}
	}
	return ids, nil
}

// Container is a container's state held under its lock. It is not safe
// for concurrent use. Close releases the lock; every Open or Create must
// be paired with a Close (or a Remove).
type Container struct {
	id    string
	dir   string
	root  string
	lock  *os.File // nil once closed
	state *State
}

var errClosed = errors.New("container lock already released")

// ID is the container id.
func (c *Container) ID() string { return c.id }

// Dir is the container's directory in the state root.
func (c *Container) Dir() string { return c.dir }

// FifoPath is where create makes exec.fifo, which init opens for writing
// and start opens for reading.
func (c *Container) FifoPath() string { return filepath.Join(c.dir, fifoName) }

// State is the container's state, for the caller to change and Save.
func (c *Container) State() *State { return c.state }

// Save writes the state to state.json atomically. It sets Version and ID.
func (c *Container) Save() error {
	if c.lock == nil {
		return fmt.Errorf("save state of container %s: %w", c.id, errClosed)
	}
	c.state.Version = Version
	c.state.ID = c.id
	data, err := json.Marshal(c.state)
	if err != nil {
		return fmt.Errorf("save state of container %s: %w", c.id, err)
	}
	if err := writeFileAtomic(c.dir, stateFile, data); err != nil {
		return fmt.Errorf("save state of container %s: %w", c.id, err)
	}
	return nil
}

// AddStep appends a completed action to the undo log and saves. data is
// encoded as JSON; nil (or anything encoding as null) records no data. If the save fails the step stays
// in the in-memory log, because the action was done: a caller undoing
// create from the in-memory state still sees it.
func (c *Container) AddStep(kind string, data any) error {
	if kind == "" {
		return fmt.Errorf("add step to container %s: empty kind", c.id)
	}
	step := Step{Kind: kind}
	if data != nil {
		raw, err := json.Marshal(data)
		if err != nil {
			return fmt.Errorf("add step %s to container %s: %w", kind, c.id, err)
		}
		if string(raw) != "null" {
			step.Data = raw
		}
	}
	c.state.Steps = append(c.state.Steps, step)
	return c.Save()
}

// Remove deletes the container's directory and releases the lock. The
// directory is first renamed to a temporary name, which frees the id at
// once and atomically: commands waiting for the lock then find the
// container gone. If that rename fails the lock is still held and the
// container unchanged. If deleting the renamed directory fails, Remove
// returns an error, but the container no longer exists.
func (c *Container) Remove() error {
	if c.lock == nil {
		return fmt.Errorf("remove container %s: %w", c.id, errClosed)
	}
	trash := filepath.Join(c.root, removePrefix+rand.Text())
	if err := os.Rename(c.dir, trash); err != nil {
		return fmt.Errorf("remove container %s: %w", c.id, err)
	}
	err := errors.Join(syncDir(c.root), os.RemoveAll(trash), c.Close())
	if err != nil {
		return fmt.Errorf("remove container %s: %w", c.id, err)
	}
	return nil
}

// Close releases the lock. Closing a closed or removed container does
// nothing, so `defer c.Close()` is safe after Remove.
func (c *Container) Close() error {
	if c.lock == nil {
		return nil
	}
	lock := c.lock
	c.lock = nil
	if err := unlockFile(lock); err != nil {
		return fmt.Errorf("unlock container %s: %w", c.id, err)
	}
	return nil
}

// isNotExist reports whether err means a path is missing, including
// because a component of it is not a directory.
func isNotExist(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}
