package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/runj-go/runj-go/jailspec"
)

// Named network jails (`runj-go netns`) are recorded beside the
// containers, in <root>/.netns:
//
//	lock        flock(2)ed by every netns command that changes a record,
//	            and shared by container creates with a parent jail
//	NAME.json   the record of network jail NAME, replaced atomically
//
// One lock for all of them, not one per name: creating and deleting
// network jails is rare, and a bridge may be shared by several, whose
// records a delete then reads and changes together. The directory's name
// starts with '.', which no container id contains, so it is never taken
// for a container and never collides with one.
const netnsDir = ".netns"

// ErrNetnsNotExist is returned, wrapped with the name, when there is no
// network jail of that name.
var ErrNetnsNotExist = errors.New("network jail does not exist")

// NetnsStore holds the records of the named network jails. What a record
// holds is its owner's business: the store reads and writes JSON.
type NetnsStore struct {
	dir string
}

// Netns returns the store of named network jails under the state root.
func (s *Store) Netns() *NetnsStore {
	return &NetnsStore{dir: filepath.Join(s.root, netnsDir)}
}

// Lock takes the lock of all network jail records, waiting for it, and
// returns the function that releases it. Save and Remove need it; Load
// and List do not, since records are replaced atomically.
func (n *NetnsStore) Lock() (unlock func() error, err error) {
	if err := os.MkdirAll(n.dir, 0o700); err != nil {
		return nil, fmt.Errorf("network jails: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(n.dir, lockName), os.O_RDONLY|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("network jails: %w", err)
	}
	return n.hold(f, unix.LOCK_EX)
}

// RLock takes the lock shared, waiting for it, and returns the function
// that releases it. A container create holds it while it creates a jail
// under a parent, so that a network jail delete, which holds the lock
// exclusively, either finishes before the parent is looked up or sees the
// container among the jail's users. Without a lock file no network jail
// was ever made under the root (Lock makes it before any record, and it
// is never removed): RLock then creates nothing and holds nothing.
func (n *NetnsStore) RLock() (unlock func() error, err error) {
	f, err := os.Open(filepath.Join(n.dir, lockName))
	if isNotExist(err) {
		return func() error { return nil }, nil
	}
	if err != nil {
		return nil, fmt.Errorf("network jails: %w", err)
	}
	return n.hold(f, unix.LOCK_SH)
}

func (n *NetnsStore) hold(f *os.File, how int) (unlock func() error, err error) {
	if err := flock(f, how); err != nil {
		f.Close()
		return nil, fmt.Errorf("network jails: %w", err)
	}
	return func() error { return unlockFile(f) }, nil
}

// file validates name and returns its record's file name.
func (n *NetnsStore) file(name string) (string, error) {
	if err := jailspec.ValidateID(name); err != nil {
		return "", fmt.Errorf("network jail name: %w", err)
	}
	return name + ".json", nil
}

// Save writes the record of network jail name atomically. The caller
// holds the lock.
func (n *NetnsStore) Save(name string, v any) error {
	file, err := n.file(name)
	if err != nil {
		return err
	}
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("save network jail %s: %w", name, err)
	}
	if err := writeFileAtomic(n.dir, file, data); err != nil {
		return fmt.Errorf("save network jail %s: %w", name, err)
	}
	return nil
}

// Load reads the record of network jail name into v. It returns an error
// wrapping ErrNetnsNotExist if there is none.
func (n *NetnsStore) Load(name string, v any) error {
	file, err := n.file(name)
	if err != nil {
		return err
	}
	data, err := os.ReadFile(filepath.Join(n.dir, file))
	if isNotExist(err) {
		return fmt.Errorf("%w: %s", ErrNetnsNotExist, name)
	}
	if err != nil {
		return fmt.Errorf("load network jail %s: %w", name, err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("load network jail %s: %s: %w", name, filepath.Join(n.dir, file), err)
	}
	return nil
}

// Remove deletes the record of network jail name. The caller holds the
// lock.
func (n *NetnsStore) Remove(name string) error {
	file, err := n.file(name)
	if err != nil {
		return err
	}
	if err := os.Remove(filepath.Join(n.dir, file)); err != nil && !isNotExist(err) {
		return fmt.Errorf("remove network jail %s: %w", name, err)
	}
	return syncDir(n.dir)
}

// List returns the names of the network jails, sorted. Temporary files
// and stray entries are skipped.
func (n *NetnsStore) List() ([]string, error) {
	entries, err := os.ReadDir(n.dir)
	if isNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list network jails: %w", err)
	}
	var names []string
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		if ok && e.Type().IsRegular() && jailspec.ValidateID(name) == nil {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names, nil
}
