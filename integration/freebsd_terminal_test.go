//go:build integration && freebsd

package integration

import (
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestTerminal creates a container with process.terminal and a console
// socket, as containerd's shim does through go-runc: the pty master
// arrives on the socket during create, the process runs on the slave as
// its controlling terminal with consoleSize applied, and its output
// comes out of the master.
func TestTerminal(t *testing.T) {
	s := newSuite(t)
	c := s.newContainer("tty", func(sp *specs.Spec) {
		sp.Process.Terminal = true
		sp.Process.ConsoleSize = &specs.Box{Height: 40, Width: 120}
	}, "print")
	cs := newConsoleSocket(t)
	got := cs.receive()
	st := c.mustCreate("--console-socket", cs.path)
	master := waitMaster(t, got)
	out := readMaster(master)
	c.mustStart()
	r := parseReport(t, waitOutput(t, out))
	c.waitStatus(specs.StateStopped)
	if !r.Tty || r.TtyRows != 40 || r.TtyCols != 120 {
		t.Errorf("terminal %v, %dx%d; want a terminal of 40 rows and 120 columns", r.Tty, r.TtyRows, r.TtyCols)
	}
	if r.Pid != st.Pid || r.SessionID != r.Pid {
		t.Errorf("pid %d session %d, state pid %d: the process must lead the session its terminal controls", r.Pid, r.SessionID, st.Pid)
	}
	if out := c.output(); out != "" {
		t.Errorf("with a terminal, output went to create's stdout instead: %q", out)
	}
}

// TestExecTerminal runs `exec --tty --console-socket` in a running
// container, as go-runc's Exec with a terminal does.
func TestExecTerminal(t *testing.T) {
	s := newSuite(t)
	c := s.newContainer("etty", func(sp *specs.Spec) { sp.Hostname = "exec-tty" }, "sleep")
	st := c.mustCreate()
	c.mustStart()
	cs := newConsoleSocket(t)
	got := cs.receive()
	out, errf := s.newFile("stdout"), s.newFile("stderr")
	defer out.Close()
	defer errf.Close()
	done := make(chan result, 1)
	go func() {
		// exec in the foreground returns when the process exits.
		done <- s.runjTo(out, errf, "exec", "--tty", "--console-socket", cs.path, c.id, helperInJail, "print")
	}()
	master := waitMaster(t, got)
	r := parseReport(t, waitOutput(t, readMaster(master)))
	if res := <-done; res.code != 0 || res.err != nil {
		t.Fatalf("%v", res)
	}
	if !r.Tty {
		t.Error("the exec'd process has no terminal")
	}
	if r.Hostname != "exec-tty" {
		t.Errorf("the exec'd process sees hostname %q, want the jail's exec-tty", r.Hostname)
	}
	if r.Pid == st.Pid || r.SessionID != r.Pid {
		t.Errorf("exec'd pid %d session %d (container pid %d): want a new session leader", r.Pid, r.SessionID, st.Pid)
	}
	if c.state().Status != specs.StateRunning {
		t.Error("the container stopped when the exec'd process exited")
	}
}

// TestExecTerminalForeground runs `exec --tty` without a console socket,
// as a person at a shell does: runj-go takes the pty master itself and
// copies the process's output to its own stdout (here a file, not a
// terminal, so nothing is put in raw mode).
func TestExecTerminalForeground(t *testing.T) {
	s := newSuite(t)
	c := s.newContainer("fgtty", nil, "sleep")
	c.mustCreate()
	c.mustStart()
	r := s.runj("exec", "--tty", c.id, helperInJail, "echo", "through", "the", "pty")
	if r.code != 0 || r.err != nil {
		t.Fatalf("%v", r)
	}
	// The pty's output processing turns "\n" into "\r\n".
	if got := strings.ReplaceAll(r.stdout, "\r\n", "\n"); got != "through the pty\n" {
		t.Errorf("exec --tty printed %q, want %q: output lost between the pty and runj-go's stdout", r.stdout, "through the pty\r\n")
	}
}
