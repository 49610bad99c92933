package oci

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/runj-go/runj-go/bundle"
	"github.com/runj-go/runj-go/jailspec"
	"github.com/runj-go/runj-go/oci/procs"
	"github.com/runj-go/runj-go/oci/state"
)

// CreateOpts are the options of create (and run).
type CreateOpts struct {
	Bundle        string
	PidFile       string
	ConsoleSocket string
	PreserveFds   int
	// Foreground is set when the caller runs the process in the
	// foreground (run without --detach): with a terminal and no console
	// socket, the runtime then takes the pty itself.
	Foreground bool
	// term is the runtime's own terminal in that case.
	term  *Terminal
	stdio procStdio
}

// Undo-log step kinds.
const (
	stepJail = "jail"
	stepInit = "init"
)

type jailStep struct {
	JID  int    `json:"jid"`
	Name string `json:"name"`
}

type initStep struct {
	Pid   int    `json:"pid"`
	Start uint64 `json:"start"`
}

// Process is a container or exec process the runtime started and can wait
// for (run and exec in the foreground).
type Process struct {
	Pid  int
	init *initProcess
	term *Terminal
	// sigs are the signals caught since before the process started, for
	// Foreground to forward (run, exec in the foreground).
	sigs chan os.Signal
}

func (p *Process) closeTerminal() {
	if p.term != nil {
		p.term.Close()
	}
}

// foregroundTerminal makes the runtime's own terminal when a foreground
// process wants a terminal and the caller gave no console socket.
func foregroundTerminal(p *specs.Process, foreground bool, socket string) (*Terminal, error) {
	if !foreground || p == nil || !p.Terminal || socket != "" {
		return nil, nil
	}
	return NewTerminal()
}

// Create creates container id from a bundle: it validates and plans, then
// executes the plan step by step, recording each step so that a failure,
// or a later delete, undoes exactly what was done, in reverse.
func (r *Runtime) Create(id string, o CreateOpts) (*Process, error) {
	b, err := bundle.Load(o.Bundle, r.Log)
	if err != nil {
		return nil, err
	}
	plan, err := NewPlan(b, id, r.Store.Root())
	if err != nil {
		return nil, err
	}
	for _, w := range plan.Warnings() {
		r.Log.WithField("id", id).Warn(w)
	}
	if o.term, err = foregroundTerminal(b.Spec.Process, o.Foreground, o.ConsoleSocket); err != nil {
		return nil, err
	}
	if err := checkConsole(b.Spec.Process, o.ConsoleSocket != "" || o.term != nil); err != nil {
		return nil, err
	}
	config, err := json.Marshal(b.Spec)
	if err != nil {
		return nil, err
	}
	c, err := r.Store.Create(id)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	st := c.State()
	st.OCIVersion = b.Spec.Version
	st.Bundle = b.Path
	st.Rootfs = b.Root
	st.Created = time.Now()
	st.Annotations = b.Spec.Annotations
	st.JailName = plan.Jail.Name
	st.Config = config
	if err := c.Save(); err != nil {
		c.Remove()
		return nil, err
	}
	p, hooksRan, err := r.create(c, b.Spec, plan, o)
	if err != nil {
		if o.term != nil {
			o.term.Close()
		}
		r.abortCreate(c, b.Spec, hooksRan)
		return nil, err
	}
	p.term = o.term
	return p, nil
}

// checkConsole applies runc's rules: a terminal needs a console socket,
// and a console socket needs a terminal.
func checkConsole(p *specs.Process, haveSocket bool) error {
	switch {
	case p == nil:
		return bundle.Fieldf("process", "is required to create a container")
	case p.Terminal && !haveSocket:
		return errors.New("process.terminal is set: --console-socket is required to receive the pty")
	case !p.Terminal && haveSocket:
		return errors.New("--console-socket is given but process.terminal is false")
	}
	return nil
}

func (r *Runtime) create(c *state.Container, spec *specs.Spec, plan *Plan, o CreateOpts) (*Process, bool, error) {
	st := c.State()
	if err := r.mountAll(c, spec, plan); err != nil {
		return nil, false, err
	}
	if err := r.addAddresses(c, plan); err != nil {
		return nil, false, err
	}
	if err := r.createJail(c, plan.Jail); err != nil {
		return nil, false, err
	}
	if err := r.moveInterfaces(c, plan); err != nil {
		return nil, false, err
	}
	if err := r.applyRctl(c, plan.Jail.Name, plan.rules); err != nil {
		return nil, false, err
	}
	init, err := r.startContainerInit(c, spec.Process, o)
	if err != nil {
		return nil, false, err
	}
	// Init is in the jail and waits: the hooks run before it sets up
	// and resolves the process (runtime.md, steps 3 to 5; runc's init
	// does the same), so a hook may still provide the program or its
	// working directory.
	for _, set := range []hookSet{hookPrestart, hookCreateRuntime, hookCreateContainer} {
		if err := r.runHooks(spec, set, st, StatusCreating); err != nil {
			return nil, true, err
		}
	}
	if err := init.proceed(); err != nil {
		return nil, true, err
	}
	if o.PidFile != "" {
		if err := writePidFile(o.PidFile, st.InitPID); err != nil {
			return nil, true, err
		}
	}
	return &Process{Pid: st.InitPID, init: init}, true, nil
}

// createJail creates the container's jail. The step is recorded by name
// before jail_set, so that a create that dies right after jail_set still
// leaves delete what it needs; a jail of that name that exists already is
// someone else's, and create fails without recording anything.
func (r *Runtime) createJail(c *state.Container, j JailPlan) error {
	if j.Parent != "" {
		// The container's state names its jail already; holding the
		// network jails' lock shared from the parent's lookup to
		// jail_set keeps `netns delete` from removing the parent in
		// between without seeing this container.
		unlock, err := r.Store.Netns().RLock()
		if err != nil {
			return err
		}
		defer unlock()
		if _, err := r.Kernel.LookupJail(j.Parent); errors.Is(err, jailspec.ErrNotFound) {
			return fmt.Errorf("freebsd.jail.parent: jail %q does not exist", j.Parent)
		} else if err != nil {
			return fmt.Errorf("freebsd.jail.parent %q: %w", j.Parent, err)
		}
	}
	if _, err := r.Kernel.LookupJail(j.Name); err == nil {
		return fmt.Errorf("create jail %s: a jail with that name exists already", j.Name)
	} else if !errors.Is(err, jailspec.ErrNotFound) {
		return fmt.Errorf("create jail %s: %w", j.Name, err)
	}
	if err := c.AddStep(stepJail, jailStep{Name: j.Name}); err != nil {
		return err
	}
	jid, err := r.Kernel.CreateJail(j.Params)
	if err != nil {
		return fmt.Errorf("create jail %s: %w", j.Name, err)
	}
	st := c.State()
	st.JID = jid
	st.Steps[len(st.Steps)-1] = mustStep(stepJail, jailStep{JID: jid, Name: j.Name})
	return c.Save()
}

func mustStep(kind string, data any) state.Step {
	raw, err := json.Marshal(data)
	if err != nil {
		panic(err) // the step types are plain structs
	}
	return state.Step{Kind: kind, Data: raw}
}

// startContainerInit starts init for the container process and waits
// until it is in the jail, waiting to proceed (see initProcess.proceed).
func (r *Runtime) startContainerInit(c *state.Container, p *specs.Process, o CreateOpts) (*initProcess, error) {
	st := c.State()
	if err := unix.Mkfifo(c.FifoPath(), 0o600); err != nil {
		return nil, fmt.Errorf("exec fifo: %w", err)
	}
	// Read-write, so neither side blocks on open: init reads from it
	// until start writes a byte (see waitStart).
	fifo, err := os.OpenFile(c.FifoPath(), os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("exec fifo: %w", err)
	}
	defer fifo.Close()
	var files initFiles
	files.preserve(o.PreserveFds)
	cfg := &initConfig{JID: st.JID, Process: p, FifoFd: files.add(fifo), ConsoleFd: -1, PreserveFds: o.PreserveFds, WaitHooks: true}
	if err := addConsole(cfg, &files, o); err != nil {
		return nil, err
	}
	streams := o.stdio
	if streams.in == nil && streams.out == nil {
		streams = ownStdio()
	}
	init, err := r.startInit(cfg, &files, streams)
	if err != nil {
		return nil, err
	}
	info, err := procs.Get(init.cmd.Process.Pid)
	if err != nil {
		init.kill()
		return nil, fmt.Errorf("init process: %w", err)
	}
	st.InitPID, st.InitStart = info.Pid, info.Start
	if err := c.AddStep(stepInit, initStep{Pid: info.Pid, Start: info.Start}); err != nil {
		init.kill()
		return nil, err
	}
	if err := init.waitAttached(); err != nil {
		return nil, err
	}
	return init, nil
}

// addConsole hands init the connection that receives the pty master.
func addConsole(cfg *initConfig, files *initFiles, o CreateOpts) error {
	switch {
	case o.term != nil:
		cfg.ConsoleFd = files.add(o.term.remote)
	case o.ConsoleSocket != "":
		conn, err := net.Dial("unix", o.ConsoleSocket)
		if err != nil {
			return fmt.Errorf("--console-socket: %w", err)
		}
		defer conn.Close()
		f, err := conn.(*net.UnixConn).File()
		if err != nil {
			return fmt.Errorf("--console-socket: %w", err)
		}
		cfg.ConsoleFd = files.add(f)
	}
	return nil
}

// abortCreate undoes a failed create. When the hooks had started to run,
// runtime.md continues the lifecycle at delete: poststop hooks run too.
func (r *Runtime) abortCreate(c *state.Container, spec *specs.Spec, hooksRan bool) {
	log := r.Log.WithField("id", c.ID())
	if err := r.teardown(c); err != nil {
		log.WithError(err).Error("undo failed create")
		return
	}
	if hooksRan {
		r.poststop(c.State(), spec)
	}
	if err := c.Remove(); err != nil {
		log.WithError(err).Error("remove state of failed create")
	}
}

// writePidFile writes pid atomically, as runc does.
func writePidFile(path string, pid int) error {
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	if err := os.WriteFile(tmp, []byte(strconv.Itoa(pid)), 0o644); err != nil {
		return fmt.Errorf("--pid-file: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("--pid-file: %w", err)
	}
	return nil
}
