//go:build integration && freebsd

package integration

import (
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/runj-go/runj-go/oci/procs"
)

// TestExec runs processes in a running container's jail without a
// terminal: in the foreground with their output and exit status passed
// on, with runc's exec flags on top of the container's process, and
// detached.
func TestExec(t *testing.T) {
	s := newSuite(t)
	c := s.newContainer("exec", func(sp *specs.Spec) {
		sp.Hostname = "exec-host"
		sp.Process.Env = []string{"PATH=/bin", "FROM=container"}
	}, "sleep")
	st := c.mustCreate()
	c.mustStart()
	jid := stateJID(t, st)

	// Output and exit status are passed on.
	if r := s.mustRunj("exec", c.id, helperInJail, "echo", "hello", "from", "exec"); r.stdout != "hello from exec\n" {
		t.Errorf("exec printed %q, want %q", r.stdout, "hello from exec\n")
	}
	if r := s.runj("exec", c.id, helperInJail, "exit", "7"); r.err != nil || r.code != 7 {
		t.Errorf("want exit 7, got %v", r)
	}

	// runc's flags on top of the container's process.
	out := s.mustRunj("exec", "--env", "EXTRA=1", "--cwd", "/tmp", "--user", "1000:1001",
		c.id, helperInJail, "print").stdout
	rep := parseReport(t, out)
	if want := []string{"PATH=/bin", "FROM=container", "EXTRA=1"}; !slices.Equal(rep.Env, want) {
		t.Errorf("environment %q, want %q (the container's, then --env)", rep.Env, want)
	}
	if rep.Cwd != "/tmp" || rep.UID != 1000 || rep.GID != 1001 {
		t.Errorf("cwd %q uid %d gid %d, want /tmp 1000 1001", rep.Cwd, rep.UID, rep.GID)
	}
	if rep.Hostname != "exec-host" {
		t.Errorf("hostname %q: the exec'd process is not in the container's jail", rep.Hostname)
	}
	if rep.Tty {
		t.Error("exec without --tty gave the process a terminal")
	}
	if !slices.Equal(rep.OpenFds, []int{0, 1, 2}) {
		t.Errorf("open descriptors %v, want only stdio", rep.OpenFds)
	}

	// Detached, with a pid file.
	pidFile := filepath.Join(s.dir, "exec.pid")
	s.mustRunj("exec", "--detach", "--pid-file", pidFile, c.id, helperInJail, "sleep")
	pid, err := strconv.Atoi(strings.TrimSpace(readFile(t, pidFile)))
	if err != nil {
		t.Fatalf("--pid-file: %v", err)
	}
	info, err := procs.Get(pid)
	if err != nil {
		t.Fatalf("the detached process %d: %v", pid, err)
	}
	if info.Jid != jid || info.Exited() {
		t.Errorf("the detached process %d is in jail %d (exited %v), want live in %d", pid, info.Jid, info.Exited(), jid)
	}
	if ps := pids(liveInJail(t, jid)); !slices.Contains(ps, pid) || !slices.Contains(ps, st.Pid) {
		t.Errorf("live processes of jail %d: %v, want the container's %d and the exec'd %d", jid, ps, st.Pid, pid)
	}
	// delete --force kills exec'd processes too: they are in the jail.
	s.mustRunj("delete", "--force", c.id)
	c.checkGone()
	waitDead(t, []procs.Info{info})
}

// TestExecNotRunning checks that exec refuses a stopped container with
// runc's words.
func TestExecNotRunning(t *testing.T) {
	s := newSuite(t)
	c := s.newContainer("exec", nil, "exit", "0")
	c.mustCreate()
	c.mustStart()
	c.waitStatus(specs.StateStopped)
	s.failsWith("container not running", "exec", c.id, helperInJail, "echo", "no")
}
