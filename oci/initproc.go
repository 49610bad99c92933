package oci

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// initFiles collects the descriptors handed to `runj-go init`: the
// preserved ones first, so they keep their numbers (3, 4, ...), then the
// runtime's own.
type initFiles struct{ files []*os.File }

// add hands f to init and returns its descriptor number there.
func (f *initFiles) add(file *os.File) int {
	f.files = append(f.files, file)
	return 2 + len(f.files)
}

func (f *initFiles) preserve(n int) {
	for i := 0; i < n; i++ {
		f.add(os.NewFile(uintptr(3+i), "preserved-fd-"+strconv.Itoa(3+i)))
	}
}

// initProcess is a started `runj-go init` and its configuration pipe.
type initProcess struct {
	cmd  *exec.Cmd
	pipe *os.File
	dec  *json.Decoder
}

// startInit re-executes the runtime as `runj-go init` with cfg. The
// process is a session leader, so a terminal can become its controlling
// terminal and the whole session can be signalled.
func (r *Runtime) startInit(cfg *initConfig, files *initFiles, stdio procStdio) (*initProcess, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("init pipe: %w", err)
	}
	parent := os.NewFile(uintptr(fds[0]), "init-pipe")
	child := os.NewFile(uintptr(fds[1]), "init-pipe-child")
	defer child.Close()
	pipeFd := files.add(child)
	cmd := exec.Command(r.Self, append(append([]string{}, r.InitArgs...), "init")...)
	cmd.Env = append(os.Environ(), InitPipeEnv+"="+strconv.Itoa(pipeFd))
	cmd.ExtraFiles = files.files
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdio.in, stdio.out, stdio.err
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		parent.Close()
		return nil, fmt.Errorf("start init: %w", err)
	}
	p := &initProcess{cmd: cmd, pipe: parent, dec: json.NewDecoder(parent)}
	if err := json.NewEncoder(parent).Encode(cfg); err != nil {
		p.kill()
		return nil, fmt.Errorf("send init its configuration: %w", err)
	}
	return p, nil
}

// read reads init's next reply. An error init reports is returned once
// init has exited; end of file means init exited without a word, and
// what is returned then names the step it did not reach.
func (p *initProcess) read(step string) (initReply, error) {
	var rep initReply
	err := p.dec.Decode(&rep)
	switch {
	case err == nil && rep.Error != "":
		p.cmd.Wait()
		return rep, errors.New(rep.Error)
	case errors.Is(err, io.EOF):
		werr := p.cmd.Wait()
		return rep, fmt.Errorf("init exited before %s: %v", step, werr)
	case err != nil:
		p.kill()
		return rep, fmt.Errorf("read init's reply: %w", err)
	}
	return rep, nil
}

// waitAttached waits for init (started with WaitHooks) to report that it
// is in the jail, waiting for proceed.
func (p *initProcess) waitAttached() error {
	rep, err := p.read("it joined the jail")
	if err == nil && !rep.Attached {
		p.kill()
		err = fmt.Errorf("init replied %+v, want attached", rep)
	}
	if err != nil {
		p.pipe.Close()
	}
	return err
}

// proceed lets init, which waits after waitAttached, set up the process,
// and waits until it is ready.
func (p *initProcess) proceed() error {
	if err := json.NewEncoder(p.pipe).Encode(initProceed{Proceed: true}); err != nil {
		p.pipe.Close()
		p.kill()
		return fmt.Errorf("tell init to proceed: %w", err)
	}
	return p.waitReady()
}

// waitReady waits for init to report that the process is ready to run,
// and closes the pipe.
func (p *initProcess) waitReady() error {
	defer p.pipe.Close()
	return p.ready()
}

func (p *initProcess) ready() error {
	rep, err := p.read("the process was ready")
	if err == nil && !rep.Ready {
		p.kill()
		err = fmt.Errorf("init replied %+v, want ready", rep)
	}
	return err
}

// waitExec waits until init, which executes the process right away
// (exec), has executed it: its pipe is closed on exec, so end of file
// after ready means the exec succeeded, and an error reply that it failed.
func (p *initProcess) waitExec() error {
	defer p.pipe.Close()
	if err := p.ready(); err != nil {
		return err
	}
	var rep initReply
	err := p.dec.Decode(&rep)
	switch {
	case errors.Is(err, io.EOF):
		return nil
	case err == nil && rep.Error != "":
		p.cmd.Wait()
		return errors.New(rep.Error)
	case err == nil:
		p.kill()
		return fmt.Errorf("init replied %+v after ready", rep)
	default:
		p.kill()
		return fmt.Errorf("read init's reply: %w", err)
	}
}

func (p *initProcess) kill() {
	p.cmd.Process.Kill()
	p.cmd.Wait()
}

// procStdio is the standard streams of a process the runtime starts.
type procStdio struct {
	in       io.Reader
	out, err io.Writer
}

// ownStdio is the runtime's own standard streams, which become the
// container process's, as with runc.
func ownStdio() procStdio { return procStdio{os.Stdin, os.Stdout, os.Stderr} }
