//go:build integration && freebsd

package integration

import (
	"slices"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/runj-go/runj-go/jailspec"
)

// run creates and starts c and returns the report of its `ctrhelper print`
// once it has exited.
func (c *container) run() report {
	c.s.t.Helper()
	c.mustCreate()
	c.mustStart()
	c.waitStatus(specs.StateStopped)
	return parseReport(c.s.t, c.output())
}

// TestProcessSettings checks what init sets up before it executes the
// process: exactly the spec's environment, the working directory, an
// rlimit and the umask.
func TestProcessSettings(t *testing.T) {
	s := newSuite(t)
	env := []string{"PATH=/bin", "GREETING=hello jail", "EMPTY=", "TERM=dumb"}
	umask := uint32(0o027)
	c := s.newContainer("proc", func(sp *specs.Spec) {
		sp.Process.Env = env
		sp.Process.Cwd = "/tmp"
		sp.Process.User.Umask = &umask
		// Soft equal to hard: the Go runtime raises its own soft
		// RLIMIT_NOFILE towards the hard limit at start-up
		// (syscall/rlimit.go), so ctrhelper could not report a lower
		// soft limit faithfully.
		sp.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 321, Hard: 321}}
	}, "print")
	r := c.run()
	if !slices.Equal(r.Env, env) {
		t.Errorf("environment %q, want exactly %q", r.Env, env)
	}
	if r.Cwd != "/tmp" {
		t.Errorf("cwd %q, want /tmp", r.Cwd)
	}
	if r.Umask != int(umask) {
		t.Errorf("umask %#o, want %#o", r.Umask, umask)
	}
	if r.NoFile != [2]uint64{321, 321} {
		t.Errorf("RLIMIT_NOFILE soft/hard %v, want [321 321]", r.NoFile)
	}
}

// TestProcessUser runs the process as an unprivileged user with
// supplementary groups.
func TestProcessUser(t *testing.T) {
	s := newSuite(t)
	user := specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{1001, 1002}}
	c := s.newContainer("user", func(sp *specs.Spec) {
		sp.Process.User = user
		sp.Process.Cwd = "/tmp"
	}, "print")
	r := c.run()
	if r.UID != 1000 || r.GID != 1000 {
		t.Errorf("uid %d gid %d, want 1000 1000", r.UID, r.GID)
	}
	// getgroups(2) lists the effective gid first on FreeBSD 14 and
	// earlier (cr_groups[0]), and only the supplementary groups from
	// FreeBSD 15 on: accept the gid, require every additional gid.
	for _, g := range user.AdditionalGids {
		if !slices.Contains(r.Groups, int(g)) {
			t.Errorf("groups %v lack additional gid %d", r.Groups, g)
		}
	}
	for _, g := range r.Groups {
		if g != int(user.GID) && !slices.Contains(user.AdditionalGids, uint32(g)) {
			t.Errorf("groups %v have %d, which is neither the gid nor an additional gid (root's groups leaked?)", r.Groups, g)
		}
	}
}

// TestHostname checks the host jailsys parameter: with a hostname the jail
// has its own (host=new) and the host's is unchanged; without one it
// shares the host's (host=inherit).
func TestHostname(t *testing.T) {
	t.Run("own", func(t *testing.T) {
		s := newSuite(t)
		host := hostname(t)
		c := s.newContainer("host", func(sp *specs.Spec) { sp.Hostname = "ctr-in-jail" }, "print")
		c.mustCreate()
		ps := jailParams(t, c.jail, sysParam("host"), stringParam("host.hostname"))
		if p, _ := ps.Get("host"); p.Value() != jailspec.New.String() {
			t.Errorf("jail %s: host = %v, want new", c.jail, p.Value())
		}
		if p, _ := ps.Get("host.hostname"); p.Str != "ctr-in-jail" {
			t.Errorf("jail %s: host.hostname = %q, want ctr-in-jail", c.jail, p.Str)
		}
		c.mustStart()
		c.waitStatus(specs.StateStopped)
		if r := parseReport(t, c.output()); r.Hostname != "ctr-in-jail" {
			t.Errorf("the process sees hostname %q, want ctr-in-jail", r.Hostname)
		}
		if h := hostname(t); h != host {
			t.Errorf("the host's hostname changed from %q to %q", host, h)
		}
	})
	t.Run("inherited", func(t *testing.T) {
		s := newSuite(t)
		c := s.newContainer("host", nil, "print")
		c.mustCreate()
		if v := jailParamValue(t, c.jail, sysParam("host")); v != jailspec.Inherit.String() {
			t.Errorf("jail %s: host = %v, want inherit", c.jail, v)
		}
		c.mustStart()
		c.waitStatus(specs.StateStopped)
		if r, h := parseReport(t, c.output()), hostname(t); r.Hostname != h {
			t.Errorf("the process sees hostname %q, want the host's %q", r.Hostname, h)
		}
	})
}
