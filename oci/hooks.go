package oci

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/runj-go/runj-go/oci/state"
)

// hookSet names one list of hooks of runtime.md and where it runs.
type hookSet struct {
	name   string
	inJail bool
	// pathInJail: the hook's path resolves inside the jail, not on the
	// host (runtime.md: startContainer's path resolves in the container
	// namespace, createContainer's in the runtime namespace).
	pathInJail bool
	// warnOnly: a failure is a warning and the remaining hooks run
	// (runtime.md, poststop).
	warnOnly bool
}

var (
	hookPrestart        = hookSet{name: "prestart"}
	hookCreateRuntime   = hookSet{name: "createRuntime"}
	hookCreateContainer = hookSet{name: "createContainer", inJail: true}
	hookStartContainer  = hookSet{name: "startContainer", inJail: true, pathInJail: true}
	hookPoststart       = hookSet{name: "poststart"}
	hookPoststop        = hookSet{name: "poststop", warnOnly: true}

	// allHookSets are the hooks runj-go runs, in lifecycle order.
	allHookSets = []hookSet{hookPrestart, hookCreateRuntime, hookCreateContainer, hookStartContainer, hookPoststart, hookPoststop}
)

func hooksOf(h *specs.Hooks, set hookSet) []specs.Hook {
	if h == nil {
		return nil
	}
	switch set.name {
	case "prestart":
		//lint:ignore SA1019 prestart is deprecated but runtime.md still runs it.
		return h.Prestart
	case "createRuntime":
		return h.CreateRuntime
	case "createContainer":
		return h.CreateContainer
	case "startContainer":
		return h.StartContainer
	case "poststart":
		return h.Poststart
	}
	return h.Poststop
}

// maxHookOutput bounds how much of a failing hook's output goes into the
// error.
const maxHookOutput = 4096

// runHooks runs the hooks of one set in order with the state JSON on
// stdin, stopping at the first failure, except where a failure is only a
// warning.
func (r *Runtime) runHooks(spec *specs.Spec, set hookSet, st *state.State, status string) error {
	hooks := hooksOf(spec.Hooks, set)
	if len(hooks) == 0 {
		return nil
	}
	input, err := hookState(st, status)
	if err != nil {
		return err
	}
	for i, h := range hooks {
		if err := r.runHook(set, h, input, st.JID); err != nil {
			err = fmt.Errorf("%s hook #%d (%s): %w", set.name, i, h.Path, err)
			if !set.warnOnly {
				return err
			}
			r.Log.WithField("id", st.ID).Warn(err)
		}
	}
	return nil
}

// runHook runs one hook, on the host or inside the jail, and kills its
// process group when its timeout expires.
func (r *Runtime) runHook(set hookSet, h specs.Hook, input []byte, jid int) error {
	args := h.Args
	if len(args) == 0 {
		args = []string{h.Path}
	}
	var out bytes.Buffer
	streams := procStdio{in: bytes.NewReader(input), out: &out, err: &out}
	if set.inJail {
		var files initFiles
		cfg := &initConfig{JID: jid, FifoFd: -1, ConsoleFd: -1}
		cfg.Hook = &initHook{Fd: -1, Args: args, Env: h.Env}
		if set.pathInJail {
			cfg.Hook.Path = h.Path
		} else {
			// Opened on the host, executed inside the jail by descriptor.
			f, err := os.Open(h.Path)
			if err != nil {
				return err
			}
			defer f.Close()
			cfg.Hook.Fd = files.add(f)
		}
		p, err := r.startInit(cfg, &files, streams)
		if err != nil {
			return err
		}
		p.pipe.Close()
		return waitHook(p.cmd, h.Timeout, &out)
	}
	cmd := &exec.Cmd{Path: h.Path, Args: args, Env: h.Env}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = streams.in, streams.out, streams.err
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	return waitHook(cmd, h.Timeout, &out)
}

// waitHook waits for a started hook, killing its process group when the
// timeout expires.
func waitHook(cmd *exec.Cmd, timeout *int, out *bytes.Buffer) error {
	// A hook that leaves a child holding its output must not hang us.
	cmd.WaitDelay = time.Second
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var expired <-chan time.Time
	if timeout != nil {
		t := time.NewTimer(time.Duration(*timeout) * time.Second)
		defer t.Stop()
		expired = t.C
	}
	select {
	case err := <-done:
		if err != nil {
			return withOutput(err, out)
		}
		return nil
	case <-expired:
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		return fmt.Errorf("timed out after %ds", *timeout)
	}
}

func withOutput(err error, out *bytes.Buffer) error {
	text := strings.TrimSpace(out.String())
	if len(text) > maxHookOutput {
		text = text[:maxHookOutput] + "..."
	}
	if text == "" {
		return err
	}
	return fmt.Errorf("%w: %s", err, text)
}
