package state

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func newStore(t testing.TB) *Store {
	t.Helper()
	s, err := New(filepath.Join(t.TempDir(), "root"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustCreate(t testing.TB, s *Store, id string) *Container {
	t.Helper()
	c, err := s.Create(id)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

type mountStep struct {
	Target string `json:"target"`
}

func fullState() State {
	return State{
		Version:     Version,
		OCIVersion:  "1.3.0",
		ID:          "web",
		Bundle:      "/var/lib/bundles/web",
		Rootfs:      "/var/lib/bundles/web/rootfs",
		Created:     time.Date(2025, 1, 2, 3, 4, 5, 123456789, time.UTC),
		Annotations: map[string]string{"org.freebsd.jail.allow.raw_sockets": "true"},
		JailName:    "web",
		JID:         7,
		InitPID:     4242,
		InitStart:   1735787045123456,
		Started:     true,
		Paused:      true,
		Steps: []Step{
			{Kind: "mount", Data: json.RawMessage(`{"target":"/var/lib/bundles/web/rootfs/dev"}`)},
			{Kind: "jail"},
		},
		Config: json.RawMessage(`{"ociVersion":"1.3.0","root":{"path":"rootfs"}}`),
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	s := newStore(t)
	want := fullState()

	c := mustCreate(t, s, "web")
	st := c.State()
	steps := want.Steps
	*st = want
	st.Steps = nil
	if err := c.AddStep("mount", mountStep{Target: "/var/lib/bundles/web/rootfs/dev"}); err != nil {
		t.Fatal(err)
	}
	if err := c.AddStep("jail", (*mountStep)(nil)); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(st.Steps, steps) {
		t.Fatalf("steps after AddStep = %+v, want %+v", st.Steps, steps)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}

	t.Run("keys_are_lower_camel_case", func(t *testing.T) {
		raw, err := os.ReadFile(filepath.Join(s.Root(), "web", "state.json"))
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]json.RawMessage
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatal(err)
		}
		keys := slices.Sorted(func(yield func(string) bool) {
			for k := range doc {
				if !yield(k) {
					return
				}
			}
		})
		wantKeys := []string{"annotations", "bundle", "config", "created", "id", "initPid", "initStart",
			"jailName", "jid", "ociVersion", "paused", "rootfs", "started", "steps", "version"}
		if !slices.Equal(keys, wantKeys) {
			t.Errorf("state.json keys = %q, want %q", keys, wantKeys)
		}
		if got := string(doc["created"]); got != `"2025-01-02T03:04:05.123456789Z"` {
			t.Errorf("created = %s, want RFC 3339 with nanoseconds", got)
		}
		wantSteps := `[{"kind":"mount","data":{"target":"/var/lib/bundles/web/rootfs/dev"}},{"kind":"jail"}]`
		if got := string(doc["steps"]); got != wantSteps {
			t.Errorf("steps = %s, want %s", got, wantSteps)
		}
	})

	t.Run("Load_returns_what_was_saved", func(t *testing.T) {
		got, err := s.Load("web")
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(*got, want) {
			t.Errorf("Load = %+v\nwant %+v", *got, want)
		}
	})

	t.Run("Open_returns_what_was_saved", func(t *testing.T) {
		c, err := s.Open("web")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if !reflect.DeepEqual(*c.State(), want) {
			t.Errorf("Open state = %+v\nwant %+v", *c.State(), want)
		}
	})
}

func TestZeroStateOmitsUnsetFields(t *testing.T) {
	s := newStore(t)
	c := mustCreate(t, s, "bare")
	defer c.Close()
	if err := c.Save(); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(c.Dir(), "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"version":1,"ociVersion":"","id":"bare","bundle":"","rootfs":"","started":false,"paused":false}`
	if string(raw) != want {
		t.Errorf("state.json = %s, want %s", raw, want)
	}
}

func TestSaveLeavesNoTempFiles(t *testing.T) {
	s := newStore(t)
	c := mustCreate(t, s, "c1")
	defer c.Close()
	for i := range 20 {
		c.State().JID = i + 1
		if err := c.Save(); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := dirNames(t, c.Dir()), []string{"lock", "state.json"}; !slices.Equal(got, want) {
		t.Errorf("container directory holds %q, want %q", got, want)
	}
	if got, want := dirNames(t, s.Root()), []string{"c1"}; !slices.Equal(got, want) {
		t.Errorf("root holds %q, want %q", got, want)
	}
	st, err := s.Load("c1")
	if err != nil {
		t.Fatal(err)
	}
	if st.JID != 20 {
		t.Errorf("jid = %d, want the last saved, 20", st.JID)
	}
}

func TestFailedSaveRemovesTempFile(t *testing.T) {
	s := newStore(t)
	c := mustCreate(t, s, "c1")
	defer c.Close()
	// A non-empty directory named state.json makes the rename fail.
	target := filepath.Join(c.Dir(), "state.json")
	if err := os.MkdirAll(filepath.Join(target, "x"), 0o700); err != nil {
		t.Fatal(err)
	}
	err := c.Save()
	if err == nil {
		t.Fatal("Save over a non-empty directory succeeded")
	}
	if !strings.Contains(err.Error(), "save state of container c1") {
		t.Errorf("error %q does not name the operation and container", err)
	}
	if got, want := dirNames(t, c.Dir()), []string{"lock", "state.json"}; !slices.Equal(got, want) {
		t.Errorf("container directory holds %q after a failed save, want %q", got, want)
	}
}

func TestAddStepKeepsStepWhenSaveFails(t *testing.T) {
	s := newStore(t)
	c := mustCreate(t, s, "c1")
	defer c.Close()
	if err := os.MkdirAll(filepath.Join(c.Dir(), "state.json", "x"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := c.AddStep("jail", map[string]int{"jid": 3}); err == nil {
		t.Fatal("AddStep succeeded although saving fails")
	}
	want := []Step{{Kind: "jail", Data: json.RawMessage(`{"jid":3}`)}}
	if !reflect.DeepEqual(c.State().Steps, want) {
		t.Errorf("steps = %+v, want %+v", c.State().Steps, want)
	}
}

func TestAddStepRejects(t *testing.T) {
	s := newStore(t)
	c := mustCreate(t, s, "c1")
	defer c.Close()
	if err := c.AddStep("", nil); err == nil {
		t.Error("AddStep with an empty kind succeeded")
	}
	if err := c.AddStep("bad", func() {}); err == nil {
		t.Error("AddStep with data JSON cannot encode succeeded")
	}
	if len(c.State().Steps) != 0 {
		t.Errorf("rejected steps were recorded: %+v", c.State().Steps)
	}
}

func TestCreateReturnsErrExists(t *testing.T) {
	s := newStore(t)
	c := mustCreate(t, s, "c1")
	defer c.Close()
	_, err := s.Create("c1")
	if !errors.Is(err, ErrExists) {
		t.Fatalf("second Create = %v, want ErrExists", err)
	}
	if got, want := err.Error(), "container with id exists: c1"; got != want {
		t.Errorf("error = %q, want runc's %q", got, want)
	}
	if got, want := dirNames(t, s.Root()), []string{"c1"}; !slices.Equal(got, want) {
		t.Errorf("root holds %q after a failed Create, want %q", got, want)
	}
}

func TestCreateOverStrayEntries(t *testing.T) {
	tests := []struct {
		name    string
		make    func(path string) error
		wantErr error
	}{
		{"empty_directory_is_replaced", func(p string) error { return os.Mkdir(p, 0o700) }, nil},
		{"non-empty_directory_exists", func(p string) error { return os.MkdirAll(filepath.Join(p, "x"), 0o700) }, ErrExists},
		{"regular_file_exists", func(p string) error { return os.WriteFile(p, nil, 0o600) }, ErrExists},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			if err := tt.make(filepath.Join(s.Root(), "c1")); err != nil {
				t.Fatal(err)
			}
			c, err := s.Create("c1")
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Create = %v, want %v", err, tt.wantErr)
			}
			if err == nil {
				c.Close()
				if got := dirNames(t, c.Dir()); !slices.Equal(got, []string{"lock"}) {
					t.Errorf("container directory holds %q, want only the lock", got)
				}
			}
		})
	}
}

func TestNotSavedYet(t *testing.T) {
	s := newStore(t)
	c := mustCreate(t, s, "c1")
	want := &State{Version: Version, ID: "c1"}
	if !reflect.DeepEqual(c.State(), want) {
		t.Errorf("Create state = %+v, want %+v", c.State(), want)
	}
	st, err := s.Load("c1")
	if err != nil {
		t.Fatalf("Load of a container not saved yet: %v", err)
	}
	if !reflect.DeepEqual(st, want) {
		t.Errorf("Load = %+v, want %+v", st, want)
	}
	if ids, _ := s.List(); !slices.Equal(ids, []string{"c1"}) {
		t.Errorf("List = %q, want the container being created", ids)
	}
	c.Close() // as if create died before its first save

	c, err = s.Open("c1")
	if err != nil {
		t.Fatalf("Open of a container never saved: %v", err)
	}
	if !reflect.DeepEqual(c.State(), want) {
		t.Errorf("Open state = %+v, want %+v", c.State(), want)
	}
	if err := c.Remove(); err != nil {
		t.Fatalf("Remove of a container never saved: %v", err)
	}
	if got := dirNames(t, s.Root()); len(got) != 0 {
		t.Errorf("root holds %q after Remove", got)
	}
}

func TestRemove(t *testing.T) {
	s := newStore(t)
	c := mustCreate(t, s, "c1")
	if err := c.Save(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(c.FifoPath(), nil, 0o600); err != nil { // stands in for the fifo
		t.Fatal(err)
	}
	if err := c.Remove(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("Close after Remove = %v, want nil", err)
	}
	if got := dirNames(t, s.Root()); len(got) != 0 {
		t.Errorf("root holds %q after Remove", got)
	}

	_, err := s.Open("c1")
	if !errors.Is(err, ErrNotExist) {
		t.Errorf("Open after Remove = %v, want ErrNotExist", err)
	} else if got, want := err.Error(), "container does not exist: c1"; got != want {
		t.Errorf("error = %q, want %q", got, want)
	}
	if _, err := s.Load("c1"); !errors.Is(err, ErrNotExist) {
		t.Errorf("Load after Remove = %v, want ErrNotExist", err)
	}
	if ids, err := s.List(); err != nil || len(ids) != 0 {
		t.Errorf("List after Remove = %q, %v; want none", ids, err)
	}
	c = mustCreate(t, s, "c1") // the id is free again
	c.Close()
}

func TestClosedContainer(t *testing.T) {
	s := newStore(t)
	c := mustCreate(t, s, "c1")
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
	if err := c.Save(); !errors.Is(err, errClosed) {
		t.Errorf("Save after Close = %v, want errClosed", err)
	}
	if err := c.Remove(); !errors.Is(err, errClosed) {
		t.Errorf("Remove after Close = %v, want errClosed", err)
	}
	if _, err := os.Stat(c.Dir()); err != nil {
		t.Errorf("Remove after Close touched the directory: %v", err)
	}
}

func TestLoadRejectsBadState(t *testing.T) {
	tests := []struct {
		name, data, want string
	}{
		{"not_json", `{"version":`, "unexpected end of JSON input"},
		{"newer_version", `{"version":2,"id":"c1"}`, "state version 2 is not supported"},
		{"no_version", `{"id":"c1"}`, "state version 0 is not supported"},
		{"other_id", `{"version":1,"id":"c2"}`, `state is for container "c2", not "c1"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			c := mustCreate(t, s, "c1")
			c.Close()
			path := filepath.Join(c.Dir(), "state.json")
			if err := os.WriteFile(path, []byte(tt.data), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := s.Load("c1")
			if err == nil || errors.Is(err, ErrNotExist) || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), path) {
				t.Errorf("Load = %v, want an error naming %s and saying %q", err, path, tt.want)
			}
			if _, err := s.Open("c1"); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Open = %v, want an error saying %q", err, tt.want)
			}
			// Open must have released the lock it took.
			f, err := os.Open(filepath.Join(c.Dir(), "lock"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
				t.Errorf("lock still held after a failed Open: %v", err)
			}
		})
	}
}

func TestInvalidIDsTouchNothing(t *testing.T) {
	parent := t.TempDir()
	s, err := New(filepath.Join(parent, "root"))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"", "a/b", "..", ".", "1234", "a.b", "../escape", "/abs", "a b", "a\x00b"} {
		if _, err := s.Create(id); err == nil || errors.Is(err, ErrExists) {
			t.Errorf("Create(%q) = %v, want a validation error", id, err)
		}
		if _, err := s.Open(id); err == nil || errors.Is(err, ErrNotExist) {
			t.Errorf("Open(%q) = %v, want a validation error", id, err)
		}
		if _, err := s.Load(id); err == nil || errors.Is(err, ErrNotExist) {
			t.Errorf("Load(%q) = %v, want a validation error", id, err)
		}
	}
	if got := dirNames(t, parent); !slices.Equal(got, []string{"root"}) {
		t.Errorf("parent of root holds %q, want only root", got)
	}
	if got := dirNames(t, s.Root()); len(got) != 0 {
		t.Errorf("root holds %q, want nothing", got)
	}
}

func TestListIsSortedAndSkipsStrays(t *testing.T) {
	s := newStore(t)
	for _, id := range []string{"b", "c", "a"} {
		mustCreate(t, s, id).Close()
	}
	held := mustCreate(t, s, "d") // create in progress
	defer held.Close()
	root := s.Root()
	for _, dir := range []string{".create-123", ".remove-ABC", "x.y", "1234"} {
		if err := os.Mkdir(filepath.Join(root, dir), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "zzz"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(root, "a"), filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}
	ids, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"a", "b", "c", "d"}; !slices.Equal(ids, want) {
		t.Errorf("List = %q, want %q", ids, want)
	}
}

func TestListEmpty(t *testing.T) {
	ids, err := newStore(t).List()
	if err != nil || len(ids) != 0 {
		t.Errorf("List of an empty root = %q, %v; want none", ids, err)
	}
}

func TestNewMakesRootAbsolute(t *testing.T) {
	t.Chdir(t.TempDir())
	s, err := New("run")
	if err != nil {
		t.Fatal(err)
	}
	if !filepath.IsAbs(s.Root()) {
		t.Errorf("Root = %q, want an absolute path", s.Root())
	}
	fi, err := os.Stat(s.Root())
	if err != nil {
		t.Fatal(err)
	}
	if !fi.IsDir() {
		t.Errorf("%s is not a directory", s.Root())
	}
	c := mustCreate(t, s, "c1")
	defer c.Close()
	if want := filepath.Join(s.Root(), "c1", "exec.fifo"); c.FifoPath() != want {
		t.Errorf("FifoPath = %q, want %q", c.FifoPath(), want)
	}
	fi, err = os.Stat(c.Dir())
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o711 {
		t.Errorf("container directory mode = %v, want 0711", fi.Mode().Perm())
	}
}

func TestLockLive(t *testing.T) {
	// A command that opened the lock file, then waited while the
	// container was removed, must not go on with the old lock.
	s := newStore(t)
	c := mustCreate(t, s, "c1")
	path := filepath.Join(c.Dir(), "lock")
	waiter, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Remove(); err != nil {
		t.Fatal(err)
	}
	if err := lockLive(waiter, path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("lockLive after Remove = %v, want ErrNotExist", err)
	}

	// Same, but the id was created again in between.
	c = mustCreate(t, s, "c1")
	waiter, err = os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Remove(); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, s, "c1").Close()
	if err := lockLive(waiter, path); !errors.Is(err, errStale) {
		t.Errorf("lockLive after Remove and Create = %v, want errStale", err)
	}

	// The live lock file.
	live, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := lockLive(live, path); err != nil {
		t.Fatalf("lockLive on the live lock file = %v", err)
	}
	if err := unlockFile(live); err != nil {
		t.Fatal(err)
	}
}
