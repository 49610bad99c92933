//go:build integration && freebsd

package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/runj-go/runj-go/jailspec"
)

// TestLifecycle runs one container through create, start, exit and delete
// and checks the kernel at every step: the jail create makes is the one
// the state names, init is in it, the jail persists after the process
// exits, and delete removes the jail and the state.
func TestLifecycle(t *testing.T) {
	s := newSuite(t)
	c := s.newContainer("life", nil, "print", "one", "two")
	pidFile := filepath.Join(s.dir, "pid")

	st := c.mustCreate("--pid-file", pidFile)
	if st.Bundle != c.bundle {
		t.Errorf("state bundle %q, want %q", st.Bundle, c.bundle)
	}
	if st.Pid <= 0 {
		t.Fatalf("state pid %d after create", st.Pid)
	}
	if got := strings.TrimSpace(readFile(t, pidFile)); got != strconv.Itoa(st.Pid) {
		t.Errorf("--pid-file holds %q, state pid is %d", got, st.Pid)
	}
	jid := stateJID(t, st)
	if got := lookupJail(t, c.jail); got != jid {
		t.Fatalf("jail %s has jid %d, state annotation says %d", c.jail, got, jid)
	}
	// Init has attached to the jail and waits for start there.
	if ps := pids(liveInJail(t, jid)); !slices.Equal(ps, []int{st.Pid}) {
		t.Errorf("live processes of jail %d: %v, want init %d only", jid, ps, st.Pid)
	}
	checkDefaultParams(t, c)
	checkListed(t, s, c.id, specs.StateCreated)
	if out := c.output(); out != "" {
		t.Errorf("the process ran before start: %q", out)
	}

	c.mustStart()
	c.waitStatus(specs.StateStopped)
	r := parseReport(t, c.output())
	if want := []string{helperInJail, "print", "one", "two"}; !slices.Equal(r.Args, want) {
		t.Errorf("args %q, want %q", r.Args, want)
	}
	if r.Pid != st.Pid {
		t.Errorf("the process ran as pid %d, the state said %d: init must become the process", r.Pid, st.Pid)
	}
	if r.SessionID != r.Pid {
		t.Errorf("session %d: the process must lead its own session (pid %d)", r.SessionID, r.Pid)
	}
	if !slices.Equal(r.OpenFds, []int{0, 1, 2}) {
		t.Errorf("open descriptors %v, want only stdio: the runtime leaked descriptors into the container", r.OpenFds)
	}
	if r.Cwd != "/" || r.UID != 0 || r.GID != 0 {
		t.Errorf("cwd %q uid %d gid %d, want / 0 0", r.Cwd, r.UID, r.GID)
	}
	if h := hostname(t); r.Hostname != h {
		t.Errorf("hostname %q: without a hostname the jail shares the host's, %q", r.Hostname, h)
	}

	// persist: the jail outlives its last process until delete.
	if got := lookupJail(t, c.jail); got != jid {
		t.Errorf("after the process exited, jail %s has jid %d, want %d", c.jail, got, jid)
	}
	if st := c.state(); st.Pid != 0 {
		t.Errorf("a stopped container reports pid %d", st.Pid)
	}

	s.mustRunj("delete", c.id)
	c.checkGone()
	if ps := liveInJail(t, jid); len(ps) != 0 {
		t.Errorf("processes of jail %d after delete: %v", jid, pids(ps))
	}
}

// checkDefaultParams reads back the parameters every container's jail
// gets (DESIGN.md, "Defaults").
func checkDefaultParams(t *testing.T, c *container) {
	t.Helper()
	root, err := filepath.EvalSymlinks(c.rootfs)
	if err != nil {
		t.Fatal(err)
	}
	ps := jailParams(t, c.jail, stringParam("path"), boolParam("persist"),
		intParam("enforce_statfs"), sysParam("host"), intParam("parent"))
	for _, want := range []jailspec.Param{
		// The kernel keeps the path with symbolic links resolved
		// (kern_jail_set: vn_path_to_global_path).
		jailspec.StringParam("path", root),
		jailspec.BoolParam("persist", true),
		jailspec.IntParam("enforce_statfs", 2),
		jailspec.SysParam("host", jailspec.Inherit),
		jailspec.IntParam("parent", 0),
	} {
		got, ok := ps.Get(want.Name)
		if !ok {
			t.Errorf("jail %s: no %s", c.jail, want.Name)
			continue
		}
		if g, w := jsonValue(got), jsonValue(want); g != w {
			t.Errorf("jail %s: %s = %s, want %s", c.jail, want.Name, g, w)
		}
	}
}

func jsonValue(p jailspec.Param) string {
	b, _ := json.Marshal(p.Value())
	return string(b)
}

// checkListed checks that `list --format json` shows id with status want.
func checkListed(t *testing.T, s *suite, id string, want specs.ContainerState) {
	t.Helper()
	r := s.mustRunj("list", "--format", "json")
	var all []specs.State
	if err := json.Unmarshal([]byte(r.stdout), &all); err != nil {
		t.Fatalf("list --format json: %v\n%s", err, r.stdout)
	}
	for _, st := range all {
		if st.ID == id {
			if st.Status != want {
				t.Errorf("list: %s is %s, want %s", id, st.Status, want)
			}
			return
		}
	}
	t.Errorf("list: %s is missing from %s", id, r.stdout)
}

// TestRunForeground runs containers with `runj-go run`, which creates,
// starts, waits and deletes: the runtime exits with the process's status
// and leaves no jail behind.
func TestRunForeground(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		code int
	}{
		{"exit 0", []string{"echo", "hello", "jail"}, 0},
		{"exit 3", []string{"exit", "3"}, 3},
	} {
		t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
			s := newSuite(t)
			c := s.newContainer("run", nil, tc.args...)
			out, errf := openAppend(t, c.stdout), openAppend(t, c.stderr)
			r := s.runjTo(out, errf, "run", "--bundle", c.bundle, c.id)
			out.Close()
			errf.Close()
			if r.err != nil || r.code != tc.code {
				t.Fatalf("want exit %d, got %v", tc.code, r)
			}
			if tc.code == 0 && r.stdout != "hello jail\n" {
				t.Errorf("run printed %q, want %q", r.stdout, "hello jail\n")
			}
			c.checkGone()
		})
	}
}

// TestCreateFailureLeavesNothing checks that a create that fails undoes
// what it did: no jail, no state, nothing under the state root.
func TestCreateFailureLeavesNothing(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*specs.Spec)
		want string
	}{
		{
			// Init finds out inside the jail, after jail_set: the
			// jail must be removed again.
			name: "missing program",
			edit: func(sp *specs.Spec) { sp.Process.Args = []string{"/bin/no-such-program"} },
			want: "no-such-program",
		},
		{
			name: "program not in PATH",
			edit: func(sp *specs.Spec) { sp.Process.Args = []string{"no-such-program"} },
			want: "executable file not found in $PATH",
		},
		{
			name: "missing cwd",
			edit: func(sp *specs.Spec) { sp.Process.Cwd = "/no/such/dir" },
			want: "/no/such/dir",
		},
	} {
		t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
			s := newSuite(t)
			c := s.newContainer("fail", tc.edit, "print")
			r := c.create()
			stderr := readFile(t, c.stderr)
			if r.err != nil || r.code != 1 || !strings.Contains(stderr, tc.want) {
				t.Fatalf("want exit 1 and %q on stderr, got %v\nstderr: %s", tc.want, r, stderr)
			}
			c.checkGone()
			entries, err := os.ReadDir(s.root)
			if err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			for _, e := range entries {
				t.Errorf("left under the state root: %s", e.Name())
			}
		})
	}
}
