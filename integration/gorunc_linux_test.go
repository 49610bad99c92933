//go:build linux

package integration

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	runc "github.com/containerd/go-runc"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestGoRunc drives runj-go through go-runc's client exactly as
// containerd's runc shim does: JSON logging to a file, pipes for the
// container's stdio, a console socket for a terminal.
func TestGoRunc(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := &runc.Runc{
		Command:   runjBin,
		Root:      e.root,
		Log:       filepath.Join(e.dir, "runc.log"),
		LogFormat: runc.JSON,
	}
	ctx := runc.WithExtraEnv(withTimeout(t), "RUNJ_GO_SIMKERNEL_DIR="+e.simDir)
	b := e.bundle(nil, "sleep")

	pio := newPipeIO(t)
	pidFile := filepath.Join(e.dir, "c1.pid")
	if err := r.Create(ctx, "c1", b, &runc.CreateOpts{IO: pio, PidFile: pidFile}); err != nil {
		t.Fatalf("Create: %v", err)
	}
	c, err := r.State(ctx, "c1")
	if err != nil {
		t.Fatalf("State: %v", err)
	}
	if c.ID != "c1" || c.Status != "created" || c.Pid != readPid(t, pidFile) || c.Bundle != b || c.Rootfs != filepath.Join(b, "rootfs") || c.Created.IsZero() {
		t.Errorf("State = %+v", c)
	}
	if err := r.Start(ctx, "c1"); err != nil {
		t.Fatalf("Start: %v", err)
	}
	list, err := r.List(ctx)
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if len(list) != 1 || list[0].ID != "c1" || list[0].Status != "running" || list[0].Pid != c.Pid || !list[0].Created.Equal(c.Created) {
		t.Errorf("List = %+v, want c1 running", list)
	}

	// Exec as the shim does: a process spec in a file, the output on
	// pipes.
	eio := newPipeIO(t)
	proc := specs.Process{Args: []string{"ctrhelper", "print", "go-runc"}, Env: []string{"PATH=/bin"}, Cwd: "/work"}
	if err := r.Exec(ctx, "c1", proc, &runc.ExecOpts{IO: eio}); err != nil {
		t.Fatalf("Exec: %v", err)
	}
	out, err := io.ReadAll(eio.Stdout())
	if err != nil {
		t.Fatal(err)
	}
	if rep := parseReport(t, string(out)); !slices.Equal(rep.Args, proc.Args) || rep.Cwd != "/work" {
		t.Errorf("exec'd process: %+v", rep)
	}
	err = r.Exec(ctx, "c1", specs.Process{Args: []string{"ctrhelper", "exit", "3"}, Env: []string{"PATH=/bin"}, Cwd: "/"}, &runc.ExecOpts{IO: newPipeIO(t)})
	var exitErr *runc.ExitError
	if !errors.As(err, &exitErr) || exitErr.Status != 3 {
		t.Errorf("Exec of exit 3 = %v, want exit status 3", err)
	}

	if err := r.Kill(ctx, "c1", int(syscall.SIGKILL), &runc.KillOpts{All: true}); err != nil {
		t.Fatalf("Kill: %v", err)
	}
	waitFor(t, "c1 stopped", func() bool {
		c, err := r.State(ctx, "c1")
		return err == nil && c.Status == "stopped"
	})
	err = r.Kill(ctx, "c1", int(syscall.SIGTERM), nil)
	if err == nil || !strings.Contains(err.Error(), "container not running") {
		t.Errorf("Kill of a stopped container = %v, want container not running", err)
	}
	if err := r.Delete(ctx, "c1", nil); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := r.State(ctx, "c1"); err == nil || !strings.Contains(err.Error(), "container does not exist") {
		t.Errorf("State after Delete = %v, want container does not exist", err)
	}
	if err := r.Delete(ctx, "c1", &runc.DeleteOpts{Force: true}); err != nil {
		t.Errorf("Delete --force of a deleted container: %v", err)
	}
	e.checkNoJails()

	// A failed create: with the container's stdio on pipes, go-runc's
	// error says only "exit status 1"; the shim reports the last error
	// of the JSON log.
	bad := e.bundle(func(s *specs.Spec) { s.Process.Args = []string{"nothere"} })
	err = r.Create(ctx, "c2", bad, &runc.CreateOpts{IO: newPipeIO(t)})
	if err == nil {
		t.Fatal("Create of a bundle without its program succeeded")
	}
	want := `exec: "nothere": executable file not found in $PATH`
	if msg := lastLogError(t, r.Log); !strings.Contains(msg, want) {
		t.Errorf("last error in the log = %q, want %q", msg, want)
	}
	// Without pipes, go-runc's error carries the command's output.
	if err := r.Create(ctx, "c2", bad, nil); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Create = %v, want %q in the error", err, want)
	}
	if list, err := r.List(ctx); err != nil || len(list) != 0 {
		t.Errorf("List after failed creates = %v, %v; want none", list, err)
	}
}

// TestGoRuncConsole: a terminal container through go-runc's console
// socket.
func TestGoRuncConsole(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := &runc.Runc{Command: runjBin, Root: e.root, Log: filepath.Join(e.dir, "runc.log"), LogFormat: runc.JSON}
	ctx := runc.WithExtraEnv(withTimeout(t), "RUNJ_GO_SIMKERNEL_DIR="+e.simDir)
	b := e.bundle(func(s *specs.Spec) {
		s.Process.Terminal = true
		s.Process.ConsoleSize = &specs.Box{Height: 24, Width: 80}
	}, "print")
	sock, err := runc.NewTempConsoleSocket()
	if err != nil {
		t.Fatal(err)
	}
	defer sock.Close()
	if err := r.Create(ctx, "c1", b, &runc.CreateOpts{ConsoleSocket: sock, IO: newPipeIO(t)}); err != nil {
		t.Fatalf("Create: %v", err)
	}
	master, err := sock.ReceiveMaster()
	if err != nil {
		t.Fatalf("ReceiveMaster: %v", err)
	}
	defer master.Close()
	if err := r.Start(ctx, "c1"); err != nil {
		t.Fatalf("Start: %v", err)
	}
	if err := r.Kill(ctx, "c1", 0, nil); err == nil {
		t.Error("Kill with signal 0 succeeded")
	}
	rep := parseReport(t, readAllConsole(t, master))
	if !rep.Tty || rep.TtyRows != 24 || rep.TtyCols != 80 {
		t.Errorf("process terminal %t %dx%d, want 24x80", rep.Tty, rep.TtyRows, rep.TtyCols)
	}
	if err := r.Delete(ctx, "c1", &runc.DeleteOpts{Force: true}); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	e.checkGone("c1")
}

// readAllConsole reads a console until its last slave is closed.
func readAllConsole(t *testing.T, c io.Reader) string {
	t.Helper()
	done := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(c)
		done <- b
	}()
	select {
	case b := <-done:
		return string(b)
	case <-withTimeout(t).Done():
		t.Fatal("console: no end of output")
	}
	return ""
}

// newPipeIO is go-runc's pipe IO, closed when the test ends.
func newPipeIO(t *testing.T) runc.IO {
	t.Helper()
	pio, err := runc.NewPipeIO(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pio.Close() })
	return pio
}

// withTimeout is a context bounded by commandTimeout.
func withTimeout(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	t.Cleanup(cancel)
	return ctx
}
