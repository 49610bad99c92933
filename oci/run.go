package oci

import (
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

// Foreground runs a started process in the foreground: it forwards the
// signals the runtime gets to it, keeps the terminal size in step, and
// returns its exit status.
func (p *Process) Foreground() (int, error) {
	defer p.closeTerminal()
	sigs := p.sigs
	if sigs == nil {
		sigs = catchSignals()
	}
	defer signal.Stop(sigs)
	if p.term != nil {
		if err := p.term.receive(); err != nil {
			syscall.Kill(p.Pid, syscall.SIGKILL)
			p.Wait()
			return -1, err
		}
	}
	done := make(chan struct{})
	var status int
	var err error
	go func() {
		status, err = p.Wait()
		close(done)
	}()
	for {
		select {
		case <-done:
			if p.term != nil {
				p.term.drain()
			}
			return status, err
		case s := <-sigs:
			sig := s.(syscall.Signal)
			switch sig {
			case unix.SIGCHLD, unix.SIGURG:
				// SIGURG is the Go runtime's own preemption signal.
			case unix.SIGWINCH:
				if p.term != nil {
					p.term.Resize()
				}
			default:
				syscall.Kill(p.Pid, sig)
			}
		}
	}
}

// catchSignals starts catching every signal, for Foreground to forward.
// Run and exec in the foreground catch them before the process starts: a
// signal that came before the wait would kill the runtime and leave the
// process running without it.
func catchSignals() chan os.Signal {
	sigs := make(chan os.Signal, 32)
	signal.Notify(sigs)
	return sigs
}

// Run creates and starts a container. With detach it returns once the
// process runs; otherwise it runs it in the foreground, returns its exit
// status and, unless keep, deletes the container.
func (r *Runtime) Run(id string, o CreateOpts, detach, keep bool) (int, error) {
	o.Foreground = !detach
	var sigs chan os.Signal
	if !detach {
		sigs = catchSignals()
		defer signal.Stop(sigs)
	}
	p, err := r.Create(id, o)
	if err != nil {
		return -1, err
	}
	p.sigs = sigs
	if err := r.Start(id); err != nil {
		p.closeTerminal()
		r.Delete(id, true)
		return -1, err
	}
	if detach {
		return 0, p.Release()
	}
	status, err := p.Foreground()
	if err != nil {
		return -1, err
	}
	if !keep {
		if err := r.Delete(id, true); err != nil {
			return status, err
		}
	}
	return status, nil
}
