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
	p := &initProcess{cmd: cmd, pipe: parent}
	if err := json.NewEncoder(parent).Encode(cfg); err != nil {
		p.kill()
		return nil, fmt.Errorf("send init its configuration: %w", err)
	}
	return p, nil
}

// waitReady waits for init to report that the process is ready to run.
func (p *initProcess) waitReady() error {
	defer p.pipe.Close()
	var rep initReply
	err := json.NewDecoder(p.pipe).Decode(&rep)
	switch {
	case rep.Error != "":
		p.cmd.Wait()
		return errors.New(rep.Error)
	case errors.Is(err, io.EOF):
		werr := p.cmd.Wait()
		return fmt.Errorf("init exited before the process was ready: %v", werr)
	case err != nil:
		p.kill()
		return fmt.Errorf("read init's reply: %w", err)
	}
	return nil
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
