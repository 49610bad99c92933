package state

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

type netnsRecord struct {
	Name string `json:"name"`
	JID  int    `json:"jid"`
}

func TestNetnsStore_saves_loads_lists_and_removes_records(t *testing.T) {
	s := newStore(t)
	n := s.Netns()
	if names, err := n.List(); err != nil || len(names) != 0 {
		t.Fatalf("List of a new root = %v, %v; want none", names, err)
	}
	unlock, err := n.Lock()
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	for _, name := range []string{"pod2", "pod1"} {
		if err := n.Save(name, netnsRecord{Name: name, JID: len(name)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := n.Save("pod1", netnsRecord{Name: "pod1", JID: 7}); err != nil {
		t.Fatal(err)
	}
	var got netnsRecord
	if err := n.Load("pod1", &got); err != nil || got != (netnsRecord{"pod1", 7}) {
		t.Errorf("Load pod1 = %+v, %v; want the second save", got, err)
	}
	// A temporary file of an interrupted save and stray entries are no
	// records.
	for _, f := range []string{".pod3.json.tmp-123", "notes.txt", "a.b.json"} {
		if err := os.WriteFile(filepath.Join(s.Root(), netnsDir, f), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if names, err := n.List(); err != nil || !slices.Equal(names, []string{"pod1", "pod2"}) {
		t.Errorf("List = %v, %v; want [pod1 pod2]", names, err)
	}
	if err := n.Remove("pod1"); err != nil {
		t.Fatal(err)
	}
	if err := n.Load("pod1", &got); !errors.Is(err, ErrNetnsNotExist) {
		t.Errorf("Load after Remove: %v, want ErrNetnsNotExist", err)
	}
	if err := n.Remove("pod1"); err != nil {
		t.Errorf("Remove of a removed record: %v, want nil", err)
	}
}

func TestNetnsStore_is_no_container(t *testing.T) {
	s := newStore(t)
	unlock, err := s.Netns().Lock()
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	if err := s.Netns().Save("netns", netnsRecord{Name: "netns"}); err != nil {
		t.Fatal(err)
	}
	if ids, err := s.List(); err != nil || len(ids) != 0 {
		t.Errorf("containers = %v, %v; want none", ids, err)
	}
	// A container may have the name of the records' directory, without
	// its dot.
	c, err := s.Create("netns")
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
}

func TestNetnsStore_rejects_invalid_names(t *testing.T) {
	n := newStore(t).Netns()
	for _, name := range []string{"", "a.b", "../x", "123"} {
		if err := n.Save(name, netnsRecord{}); err == nil {
			t.Errorf("Save(%q) succeeded", name)
		}
		if err := n.Load(name, &netnsRecord{}); err == nil || errors.Is(err, ErrNetnsNotExist) {
			t.Errorf("Load(%q) = %v, want a name error", name, err)
		}
	}
}

func TestNetnsStore_lock_excludes_others(t *testing.T) {
	s := newStore(t)
	unlock, err := s.Netns().Lock()
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(s.Root(), netnsDir, lockName))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); !errors.Is(err, unix.EWOULDBLOCK) {
		t.Fatalf("second lock while held: %v, want EWOULDBLOCK", err)
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
}

func TestNetnsStore_rlock_is_shared_and_excludes_lock(t *testing.T) {
	s := newStore(t)
	unlockEx, err := s.Netns().Lock() // makes the lock file
	if err != nil {
		t.Fatal(err)
	}
	if err := unlockEx(); err != nil {
		t.Fatal(err)
	}
	unlock, err := s.Netns().RLock()
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(s.Root(), netnsDir, lockName))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB); err != nil {
		t.Fatalf("second shared lock while held shared: %v", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_UN); err != nil {
		t.Fatal(err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); !errors.Is(err, unix.EWOULDBLOCK) {
		t.Fatalf("exclusive lock while held shared: %v, want EWOULDBLOCK", err)
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		t.Fatalf("exclusive lock after unlock: %v", err)
	}
}

func TestNetnsStore_rlock_without_network_jails_makes_nothing(t *testing.T) {
	s := newStore(t)
	unlock, err := s.Netns().RLock()
	if err != nil {
		t.Fatal(err)
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(s.Root(), netnsDir)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s after RLock: %v, want it absent", netnsDir, err)
	}
}
