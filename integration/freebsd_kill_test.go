//go:build integration && freebsd

package integration

import (
	"encoding/json"
	"fmt"
	"slices"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/runj-go/runj-go/oci/procs"
)

// TestKill signals a running container's process: the default signal is
// TERM, the container stops, its jail stays until delete, and a second
// kill is refused with runc's words.
func TestKill(t *testing.T) {
	s := newSuite(t)
	c := s.newContainer("kill", nil, "sleep")
	st := c.mustCreate()
	c.mustStart()
	c.waitStatus(specs.StateRunning)
	jid := stateJID(t, st)

	s.mustRunj("kill", c.id)
	c.waitStatus(specs.StateStopped)
	waitJailEmpty(t, jid)
	if got := lookupJail(t, c.jail); got != jid {
		t.Errorf("after kill, jail %s has jid %d, want %d: it must persist until delete", c.jail, got, jid)
	}
	s.failsWith("container not running", "kill", c.id, "KILL")

	s.mustRunj("delete", c.id)
	c.checkGone()
}

// TestKillCreated signals a container that was created but never
// started: its init, waiting in the jail for start, dies, and the process
// never runs.
func TestKillCreated(t *testing.T) {
	s := newSuite(t)
	c := s.newContainer("kcre", nil, "echo", "must not run")
	st := c.mustCreate()
	s.mustRunj("kill", c.id, "SIGKILL")
	c.waitStatus(specs.StateStopped)
	waitJailEmpty(t, stateJID(t, st))
	s.failsWith("not in created state", "start", c.id)
	s.mustRunj("delete", c.id)
	c.checkGone()
	if out := c.output(); out != "" {
		t.Errorf("the process of a killed created container ran: %q", out)
	}
}

// spawned starts a container whose process starts n sleeping children,
// and returns its jail id and its n+1 processes once they all run in the
// jail.
func spawned(t *testing.T, c *container, n int) (int, []procs.Info) {
	t.Helper()
	st := c.mustCreate()
	c.mustStart()
	jid := stateJID(t, st)
	var ps []procs.Info
	eventually(t, fmt.Sprintf("%d processes in jail %d", n+1, jid), func() (bool, string) {
		ps = liveInJail(t, jid)
		return len(ps) == n+1, fmt.Sprint(pids(ps))
	})
	if !slices.Contains(pids(ps), st.Pid) {
		t.Fatalf("processes of jail %d: %v, without the container's %d", jid, pids(ps), st.Pid)
	}
	return jid, ps
}

// TestKillAll sends KILL to every process in the jail, as containerd does
// for a container without its own pid namespace; the signal is given as a
// number, as go-runc gives it.
func TestKillAll(t *testing.T) {
	s := newSuite(t)
	c := s.newContainer("kall", nil, "spawn", "3")
	jid, ps := spawned(t, c, 3)

	s.mustRunj("kill", "--all", c.id, "9")
	waitDead(t, ps)
	waitJailEmpty(t, jid)
	c.waitStatus(specs.StateStopped)
	if got := lookupJail(t, c.jail); got != jid {
		t.Errorf("after kill --all, jail %s has jid %d, want %d", c.jail, got, jid)
	}
	s.mustRunj("delete", c.id)
	c.checkGone()
}

// TestKillLeftovers: a jail's processes outlive its init. Once init is
// gone the container is stopped, ps lists what is left, a plain kill is
// refused, and kill --all (what containerd's shim sends when init exits)
// clears the jail and then succeeds with nothing left. SIGKILL without
// --all takes the whole jail.
func TestKillLeftovers(t *testing.T) {
	s := newSuite(t)
	c := s.newContainer("kleft", nil, "spawn", "2")
	jid, ps := spawned(t, c, 2)
	init := c.state().Pid
	if err := syscall.Kill(init, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	c.waitStatus(specs.StateStopped)
	left := slices.DeleteFunc(slices.Clone(ps), func(p procs.Info) bool { return p.Pid == init })
	if got := s.psJSON(c.id); !slices.Equal(got, sortedPids(left)) {
		t.Errorf("ps of the stopped container: %v, want its leftovers %v", got, sortedPids(left))
	}
	s.failsWith("container not running", "kill", c.id, "TERM")
	s.mustRunj("kill", "--all", c.id, "9")
	waitDead(t, left)
	waitJailEmpty(t, jid)
	s.mustRunj("kill", "--all", c.id, "9")
	s.mustRunj("delete", c.id)
	c.checkGone()

	c = s.newContainer("kwhole", nil, "spawn", "2")
	jid, ps = spawned(t, c, 2)
	s.mustRunj("kill", c.id, "KILL")
	waitDead(t, ps)
	waitJailEmpty(t, jid)
	c.waitStatus(specs.StateStopped)
	s.mustRunj("delete", c.id)
	c.checkGone()
}

// psJSON runs `ps --format json` and returns the pids, sorted.
func (s *suite) psJSON(id string) []int {
	s.t.Helper()
	r := s.mustRunj("ps", "--format", "json", id)
	var got []int
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		s.t.Fatalf("ps --format json: %v\n%s", err, r.stdout)
	}
	slices.Sort(got)
	return got
}

// TestDeleteForce deletes containers that are not stopped: plain delete
// refuses and leaves everything as it was; --force kills every process in
// the jail and removes it.
func TestDeleteForce(t *testing.T) {
	t.Run("running", func(t *testing.T) {
		s := newSuite(t)
		c := s.newContainer("dfrun", nil, "spawn", "2")
		jid, ps := spawned(t, c, 2)

		s.failsWith("not stopped", "delete", c.id)
		if got := lookupJail(t, c.jail); got != jid {
			t.Fatalf("after a refused delete, jail %s has jid %d, want %d", c.jail, got, jid)
		}
		if live := liveInJail(t, jid); len(live) != len(ps) {
			t.Fatalf("a refused delete changed the jail's processes: %v, was %v", pids(live), pids(ps))
		}
		if st := c.state(); st.Status != specs.StateRunning {
			t.Fatalf("after a refused delete: status %s", st.Status)
		}

		s.mustRunj("delete", "--force", c.id)
		c.checkGone()
		waitDead(t, ps)
	})
	t.Run("created", func(t *testing.T) {
		s := newSuite(t)
		c := s.newContainer("dfcre", nil, "echo", "must not run")
		st := c.mustCreate()
		init, err := procs.Get(st.Pid)
		if err != nil {
			t.Fatal(err)
		}
		s.mustRunj("delete", "--force", c.id)
		c.checkGone()
		waitDead(t, []procs.Info{init})
		if out := c.output(); out != "" {
			t.Errorf("the process of a deleted created container ran: %q", out)
		}
	})
	t.Run("unknown id", func(t *testing.T) {
		s := newSuite(t)
		s.mustRunj("delete", "--force", newID("none"))
	})
}
