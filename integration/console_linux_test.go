//go:build linux

package integration

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// consoleSocket is the receiving side of --console-socket, as a containerd
// shim runs it: it accepts one connection and takes the pty master from
// one message carrying exactly one descriptor (SCM_RIGHTS) and the pty's
// name as data.
type consoleSocket struct {
	path string
	got  chan consoleResult
}

type consoleResult struct {
	master *os.File
	name   string
	err    error
}

func newConsoleSocket(t *testing.T, dir string) *consoleSocket {
	t.Helper()
	// A short path: sun_path holds 108 bytes.
	sockDir, err := os.MkdirTemp("", "console-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sockDir) })
	c := &consoleSocket{path: filepath.Join(sockDir, "sock"), got: make(chan consoleResult, 1)}
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: c.path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() { c.got <- receiveMaster(l) }()
	return c
}

func receiveMaster(l *net.UnixListener) consoleResult {
	conn, err := l.AcceptUnix()
	if err != nil {
		return consoleResult{err: err}
	}
	defer conn.Close()
	name := make([]byte, 4096)
	// Room for more than one descriptor, to catch a sender sending two.
	oob := make([]byte, unix.CmsgSpace(4*4))
	n, oobn, _, _, err := conn.ReadMsgUnix(name, oob)
	if err != nil {
		return consoleResult{err: err}
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil {
		return consoleResult{err: err}
	}
	if len(msgs) != 1 {
		return consoleResult{err: fmt.Errorf("%d control messages, want 1", len(msgs))}
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil {
		return consoleResult{err: err}
	}
	if len(fds) != 1 {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return consoleResult{err: fmt.Errorf("%d descriptors, want 1", len(fds))}
	}
	return consoleResult{master: os.NewFile(uintptr(fds[0]), string(name[:n])), name: string(name[:n])}
}

// master waits for the pty master.
func (c *consoleSocket) master(t *testing.T) (*os.File, string) {
	t.Helper()
	select {
	case r := <-c.got:
		if r.err != nil {
			t.Fatalf("console socket: %v", r.err)
		}
		t.Cleanup(func() { r.master.Close() })
		return r.master, r.name
	case <-time.After(pollTimeout):
		t.Fatalf("console socket: no pty master after %v", pollTimeout)
	}
	return nil, ""
}

// readAll reads the pty master until the last slave is closed (EIO).
func readAll(t *testing.T, master *os.File) string {
	t.Helper()
	type res struct {
		b   []byte
		err error
	}
	done := make(chan res, 1)
	go func() {
		b, err := io.ReadAll(master)
		done <- res{b, err}
	}()
	select {
	case r := <-done:
		if r.err != nil && !errors.Is(r.err, syscall.EIO) {
			t.Fatalf("read pty master: %v", r.err)
		}
		return string(r.b)
	case <-time.After(pollTimeout):
		t.Fatalf("pty master: no end of output after %v", pollTimeout)
	}
	return ""
}

func checkPtyName(t *testing.T, name string) {
	t.Helper()
	if !strings.HasPrefix(name, "/dev/pts/") {
		t.Errorf("pty name sent with the master = %q, want /dev/pts/N", name)
	}
}

// TestConsole: with process.terminal, the container process runs on a
// pty of process.consoleSize whose master goes to the console socket.
func TestConsole(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.bundle(func(s *specs.Spec) {
		s.Process.Terminal = true
		s.Process.ConsoleSize = &specs.Box{Height: 33, Width: 111}
	}, "print")
	sock := newConsoleSocket(t, e.dir)
	r := e.create("c1", b, "--console-socket", sock.path)
	master, name := sock.master(t)
	checkPtyName(t, name)
	st := e.state("c1")
	e.mustRunj("start", "c1")
	out := readAll(t, master)
	rep := parseReport(t, out)
	if !rep.Tty || rep.TtyRows != 33 || rep.TtyCols != 111 {
		t.Errorf("process terminal = %t %dx%d, want a 33x111 terminal", rep.Tty, rep.TtyRows, rep.TtyCols)
	}
	if rep.Pid != st.Pid || rep.SessionID != st.Pid {
		t.Errorf("process pid/sid = %d/%d, want %d, a session leader", rep.Pid, rep.SessionID, st.Pid)
	}
	if rs := readFile(t, r.outPath); rs != "" {
		t.Errorf("output went to create's stdout too: %q", rs)
	}
	e.waitStatus("c1", "stopped")
	e.mustRunj("delete", "c1")
	e.checkNoJails()
}

// TestExecTTY: exec --tty sends the master of a new pty to the console
// socket and waits for the process.
func TestExecTTY(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.create("c1", e.bundle(nil, "sleep"))
	e.mustRunj("start", "c1")
	sock := newConsoleSocket(t, e.dir)
	_, wait := e.background(cmdOpts{}, "exec", "--tty", "--console-socket", sock.path, "c1", "ctrhelper", "print", "exec")
	master, name := sock.master(t)
	checkPtyName(t, name)
	out := readAll(t, master)
	r := wait()
	if r.code != 0 {
		t.Fatalf("%s", r)
	}
	rep := parseReport(t, out)
	if !rep.Tty || rep.Args[len(rep.Args)-1] != "exec" {
		t.Errorf("exec'd process: tty %t args %q, want a terminal and its args", rep.Tty, rep.Args)
	}
	if rep.SessionID != rep.Pid {
		t.Errorf("exec'd process sid %d, want its own session", rep.SessionID)
	}
	if strings.Contains(r.stdout, "ctrhelper") {
		t.Errorf("exec --tty printed the output on its stdout: %q", r.stdout)
	}
	e.fails("process.terminal is set: --console-socket is required", "exec", "--tty", "--detach", "c1", "ctrhelper", "print")
}
