package oci

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/runj-go/runj-go/bundle"
)

// ExecOpts are the options of exec.
type ExecOpts struct {
	Process *specs.Process
	// ProcessSource names where Process came from, for errors: the
	// --process file, or the command line.
	ProcessSource string
	PidFile       string
	ConsoleSocket string
	PreserveFds   int
	// Foreground: see CreateOpts.
	Foreground bool
}

// Exec starts a new process in a created or running container's jail,
// with the same credential, limit and console set-up as the container
// process.
func (r *Runtime) Exec(id string, o ExecOpts) (*Process, error) {
	st, err := r.Store.Load(id)
	if err != nil {
		return nil, err
	}
	s, err := status(st)
	if err != nil {
		return nil, err
	}
	switch s {
	case StatusStopped, StatusCreating:
		return nil, fmt.Errorf("cannot exec in a stopped container: %w", ErrNotRunning)
	case StatusPaused:
		return nil, errors.New("cannot exec in a paused container")
	}
	if err := bundle.ValidateProcess(o.Process, o.ProcessSource); err != nil {
		return nil, err
	}
	term, err := foregroundTerminal(o.Process, o.Foreground, o.ConsoleSocket)
	if err != nil {
		return nil, err
	}
	if err := checkConsole(o.Process, o.ConsoleSocket != "" || term != nil); err != nil {
		return nil, err
	}
	var files initFiles
	files.preserve(o.PreserveFds)
	cfg := &initConfig{JID: st.JID, Process: o.Process, FifoFd: -1, ConsoleFd: -1, PreserveFds: o.PreserveFds}
	if err := addConsole(cfg, &files, CreateOpts{ConsoleSocket: o.ConsoleSocket, term: term}); err != nil {
		return nil, err
	}
	var sigs chan os.Signal
	if o.Foreground {
		sigs = catchSignals() // see Run
	}
	init, err := r.startInit(cfg, &files, ownStdio())
	if err == nil {
		err = init.waitExec()
	}
	if err != nil {
		if term != nil {
			term.Close()
		}
		stopCatching(sigs)
		return nil, fmt.Errorf("exec in container %s: %w", id, err)
	}
	pid := init.cmd.Process.Pid
	// The container's init may have exited while the process joined the
	// jail, where a jail, unlike a PID namespace whose init is gone,
	// still takes it; clearing the jail on init's exit (the shim's kill
	// --all) may have missed it. It must not outlive the container.
	if s, err := status(st); err != nil || s == StatusStopped {
		init.kill()
		stopCatching(sigs)
		if term != nil {
			term.Close()
		}
		return nil, fmt.Errorf("cannot exec in a stopped container: %w", ErrNotRunning)
	}
	if o.PidFile != "" {
		if err := writePidFile(o.PidFile, pid); err != nil {
			init.kill()
			stopCatching(sigs)
			return nil, err
		}
	}
	return &Process{Pid: pid, init: init, term: term, sigs: sigs}, nil
}

func stopCatching(sigs chan os.Signal) {
	if sigs != nil {
		signal.Stop(sigs)
	}
}

// Wait waits for a process the runtime started and returns its exit
// status, 128+n when signal n killed it, as a shell reports it.
func (p *Process) Wait() (int, error) {
	err := p.init.cmd.Wait()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return -1, err
	}
	ws := p.init.cmd.ProcessState.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		return 128 + int(ws.Signal()), nil
	}
	return ws.ExitStatus(), nil
}

// Release lets the process run on without the runtime waiting for it.
func (p *Process) Release() error { return p.init.cmd.Process.Release() }
