//go:build linux || freebsd

package shim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/containerd/console"
	eventstypes "github.com/containerd/containerd/api/events"
	taskAPI "github.com/containerd/containerd/api/runtime/task/v3"
	"github.com/containerd/containerd/api/types/runc/options"
	"github.com/containerd/containerd/api/types/task"
	"github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2/process"
	"github.com/containerd/containerd/v2/core/mount"
	"github.com/containerd/containerd/v2/core/runtime"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/containerd/v2/pkg/protobuf"
	ptypes "github.com/containerd/containerd/v2/pkg/protobuf/types"
	"github.com/containerd/containerd/v2/pkg/shim"
	"github.com/containerd/containerd/v2/pkg/shutdown"
	"github.com/containerd/containerd/v2/pkg/stdio"
	"github.com/containerd/containerd/v2/pkg/sys/reaper"
	"github.com/containerd/errdefs"
	"github.com/containerd/errdefs/pkg/errgrpc"
	runc "github.com/containerd/go-runc"
	"github.com/containerd/log"
	"github.com/containerd/ttrpc"
	"github.com/containerd/typeurl/v2"
)

// Service is the task service of one container.
type Service struct {
	ctx       context.Context
	publisher shim.Publisher
	shutdown  shutdown.Service
	platform  stdio.Platform
	exits     <-chan runc.Exit
	events    chan event

	mu sync.Mutex
	// id and bundle are the container's, set by Create.
	id     string
	bundle string
	init   *process.Init
	execs  map[string]process.Process

	// lifecycleMu orders the starts of processes with the handling of
	// their exits, as in containerd's runc shim: the init's exit is the
	// container's last exit event, and no exec starts after it.
	lifecycleMu sync.Mutex
	// running maps the pid of every started process to it.
	running map[int]containerProcess
	// runningExecs counts the started execs whose exit is not published.
	runningExecs int
	// execCount, while the init's exit waits for the running execs,
	// receives runningExecs at every change.
	execCount chan<- int
	// initExited is set once the init's exit is reaped, before the init
	// is marked stopped: Start refuses execs from then on.
	initExited bool
	// exitSubscribers collect the exits reaped while processes start.
	exitSubscribers map[*map[int][]runc.Exit]struct{}
}

// containerProcess is a started process of the container id.
type containerProcess struct {
	id      string
	process process.Process
}

var _ taskAPI.TTRPCTaskService = (*Service)(nil)

// New returns the task service; it publishes events through publisher
// until sd shuts down.
func New(ctx context.Context, publisher shim.Publisher, sd shutdown.Service) (*Service, error) {
	platform, err := newPlatform()
	if err != nil {
		return nil, err
	}
	// go-runc waits for runj-go through the reaper, which the shim's
	// SIGCHLD handler drives: the shim is the subreaper of everything.
	runc.Monitor = reaper.Default
	exits := reaper.Default.Subscribe()
	sd.RegisterCallback(func(context.Context) error {
		reaper.Default.Unsubscribe(exits)
		return platform.Close()
	})
	return newService(ctx, publisher, sd, platform, exits), nil
}

// newService returns the task service of the processes whose exits
// arrive on exits.
func newService(ctx context.Context, publisher shim.Publisher, sd shutdown.Service, platform stdio.Platform, exits <-chan runc.Exit) *Service {
	s := &Service{
		ctx:             ctx,
		publisher:       publisher,
		shutdown:        sd,
		platform:        platform,
		exits:           exits,
		events:          make(chan event, 128),
		execs:           map[string]process.Process{},
		running:         map[int]containerProcess{},
		exitSubscribers: map[*map[int][]runc.Exit]struct{}{},
	}
	go s.processExits()
	go s.forward()
	return s
}

// RegisterTTRPC registers the task API v3.
func (s *Service) RegisterTTRPC(server *ttrpc.Server) error {
	taskAPI.RegisterTTRPCTaskService(server, s)
	return nil
}

// Create mounts the rootfs, sets up stdio and runs `runj-go create`.
func (s *Service) Create(ctx context.Context, r *taskAPI.CreateTaskRequest) (_ *taskAPI.CreateTaskResponse, retErr error) {
	if r.Checkpoint != "" {
		return nil, errgrpc.ToGRPCf(errdefs.ErrNotImplemented, "create %s from checkpoint %s: checkpoint and restore are not supported by runj-go", r.ID, r.Checkpoint)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.init != nil {
		return nil, errgrpc.ToGRPCf(errdefs.ErrAlreadyExists, "container %s: this shim already serves %s", r.ID, s.id)
	}
	ns, err := namespaces.NamespaceRequired(ctx)
	if err != nil {
		return nil, err
	}
	opts, err := runtimeOptions(r.Options)
	if err != nil {
		return nil, errgrpc.ToGRPC(err)
	}
	// Stop runs in a new shim process once this one is gone: it reads
	// the options back to run the same runj-go with the same root.
	if err := writeOptions(r.Bundle, opts); err != nil {
		return nil, err
	}
	rt := newRunc(ns, r.Bundle, opts)

	s.lifecycleMu.Lock()
	handleStarted, cleanup := s.preStart(nil)
	s.lifecycleMu.Unlock()
	defer cleanup()

	rootfs := filepath.Join(r.Bundle, "rootfs")
	var mounts []mount.Mount
	for _, m := range r.Rootfs {
		mounts = append(mounts, mount.Mount{Type: m.Type, Source: m.Source, Target: m.Target, Options: m.Options})
	}
	if len(mounts) > 0 {
		if err := os.MkdirAll(rootfs, 0o711); err != nil {
			return nil, err
		}
		// Before mounting: a mount that fails may follow one that did not.
		defer func() {
			if retErr != nil {
				if err := mount.UnmountMounts(mounts, rootfs, 0); err != nil {
					log.G(ctx).WithError(err).Warn("unmount rootfs after a failed create")
				}
			}
		}()
		if err := mountRootfs(mounts, rootfs); err != nil {
			return nil, fmt.Errorf("mount rootfs of %s: %w", r.ID, err)
		}
	}

	p := process.New(r.ID, rt, stdio.Stdio{Stdin: r.Stdin, Stdout: r.Stdout, Stderr: r.Stderr, Terminal: r.Terminal})
	p.Bundle = r.Bundle
	p.Platform = s.platform
	p.Rootfs = rootfs
	p.WorkDir = r.Bundle
	if err := p.Create(ctx, &process.CreateConfig{
		ID: r.ID, Bundle: r.Bundle, Terminal: r.Terminal,
		Stdin: r.Stdin, Stdout: r.Stdout, Stderr: r.Stderr,
	}); err != nil {
		return nil, errgrpc.ToGRPC(err)
	}
	s.id, s.bundle, s.init = r.ID, r.Bundle, p
	s.send(&eventstypes.TaskCreate{
		ContainerID: r.ID,
		Bundle:      r.Bundle,
		Rootfs:      r.Rootfs,
		IO:          &eventstypes.TaskIO{Stdin: r.Stdin, Stdout: r.Stdout, Stderr: r.Stderr, Terminal: r.Terminal},
		Pid:         uint32(p.Pid()),
	})
	// The init process exists from now on; an exit before Start is the
	// container's.
	handleStarted(r.ID, p)
	return &taskAPI.CreateTaskResponse{Pid: uint32(p.Pid())}, nil
}

// optionsFile holds the runtime options in the bundle, in the JSON of
// containerd's runc shim.
const optionsFile = "options.json"

// runtimeOptions are the runc-style options of a create (BinaryName and
// Root are the ones runj-go honours); options of another type are none.
func runtimeOptions(a *ptypes.Any) (*options.Options, error) {
	var o options.Options
	if a == nil || !typeurl.Is(a, &o) {
		return &o, nil
	}
	if err := typeurl.UnmarshalTo(a, &o); err != nil {
		return nil, fmt.Errorf("runtime options: %w", err)
	}
	return &o, nil
}

func writeOptions(bundle string, o *options.Options) error {
	b, err := json.Marshal(o)
	if err != nil {
		return fmt.Errorf("runtime options: %w", err)
	}
	return os.WriteFile(filepath.Join(bundle, optionsFile), b, 0o600)
}

// readOptions reads the options Create wrote; a bundle without them (of
// an older shim) has none.
func readOptions(bundle string) (*options.Options, error) {
	path := filepath.Join(bundle, optionsFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return &options.Options{}, nil
	}
	if err != nil {
		return nil, err
	}
	var o options.Options
	if err := json.Unmarshal(b, &o); err != nil {
		return nil, fmt.Errorf("runtime options in %s: %w", path, err)
	}
	return &o, nil
}

// newRunc is go-runc for runj-go: the binary next to the shim (or on
// $PATH), state under the root for the namespace, errors as JSON lines in
// the bundle's log.json. The options' BinaryName and Root win.
func newRunc(ns, bundle string, o *options.Options) *runc.Runc {
	binary, root := runtimeBinary(), defaultRoot()
	if o.GetBinaryName() != "" {
		binary = o.GetBinaryName()
	}
	if o.GetRoot() != "" {
		root = o.GetRoot()
	}
	return &runc.Runc{
		Command:      binary,
		Root:         filepath.Join(root, ns),
		Log:          filepath.Join(bundle, "log.json"),
		LogFormat:    runc.JSON,
		PdeathSignal: pdeathSignal,
	}
}

// RuntimeBinaryName is the runtime the shim runs.
const RuntimeBinaryName = "runj-go"

// RootEnv overrides the default state root of runj-go (one directory per
// containerd namespace below it).
const RootEnv = "RUNJ_GO_SHIM_ROOT"

func defaultRoot() string {
	if r := os.Getenv(RootEnv); r != "" {
		return r
	}
	return "/var/run/runj-go"
}

// runtimeBinary is runj-go next to the shim's own binary, else the name
// for go-runc to look up on $PATH.
func runtimeBinary() string {
	if self, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(self), RuntimeBinaryName)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p
		}
	}
	return RuntimeBinaryName
}

// process returns the init (execID "") or an exec process.
func (s *Service) process(id, execID string) (process.Process, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.processLocked(id, execID)
}

func (s *Service) processLocked(id, execID string) (process.Process, error) {
	if s.init == nil || id != s.id {
		return nil, errgrpc.ToGRPCf(errdefs.ErrNotFound, "container %s not created", id)
	}
	if execID == "" {
		return s.init, nil
	}
	p, ok := s.execs[execID]
	if !ok {
		return nil, errgrpc.ToGRPCf(errdefs.ErrNotFound, "process %s does not exist", execID)
	}
	return p, nil
}

// Start runs `runj-go start` for the init, or starts an exec: never
// once the init has exited.
func (s *Service) Start(ctx context.Context, r *taskAPI.StartRequest) (*taskAPI.StartResponse, error) {
	p, err := s.process(r.ID, r.ExecID)
	if err != nil {
		return nil, err
	}
	var restarted process.Process
	s.lifecycleMu.Lock()
	if r.ExecID == "" {
		restarted = p
	} else {
		if s.initExited {
			s.lifecycleMu.Unlock()
			return nil, errgrpc.ToGRPCf(errdefs.ErrFailedPrecondition, "container %s: its init process is not running", r.ID)
		}
		s.runningExecs++
	}
	handleStarted, cleanup := s.preStart(restarted)
	s.lifecycleMu.Unlock()
	defer cleanup()

	if err := p.Start(ctx); err != nil {
		// An exec that did not start has no exit to count it.
		if r.ExecID != "" {
			s.lifecycleMu.Lock()
			s.execDoneLocked()
			s.lifecycleMu.Unlock()
		}
		handleStarted(r.ID, p)
		return nil, errgrpc.ToGRPC(err)
	}
	if r.ExecID == "" {
		s.send(&eventstypes.TaskStart{ContainerID: r.ID, Pid: uint32(p.Pid())})
	} else {
		s.send(&eventstypes.TaskExecStarted{ContainerID: r.ID, ExecID: r.ExecID, Pid: uint32(p.Pid())})
	}
	handleStarted(r.ID, p)
	return &taskAPI.StartResponse{Pid: uint32(p.Pid())}, nil
}

// Delete deletes an exec, or the container: `runj-go delete`, the rootfs
// unmounted (by the process package), the exit status and time reported.
func (s *Service) Delete(ctx context.Context, r *taskAPI.DeleteRequest) (*taskAPI.DeleteResponse, error) {
	p, err := s.process(r.ID, r.ExecID)
	if err != nil {
		return nil, err
	}
	if err := p.Delete(ctx); err != nil {
		return nil, errgrpc.ToGRPC(err)
	}
	var published chan struct{}
	s.mu.Lock()
	if r.ExecID != "" {
		delete(s.execs, r.ExecID)
	} else {
		s.init = nil
		// The container's last event: containerd shuts the shim down as
		// soon as Delete answers, so Delete answers once it is published.
		published = s.sendPublished(&eventstypes.TaskDelete{
			ContainerID: r.ID,
			Pid:         uint32(p.Pid()),
			ExitStatus:  uint32(p.ExitStatus()),
			ExitedAt:    protobuf.ToTimestamp(p.ExitedAt()),
		})
	}
	s.mu.Unlock()
	if r.ExecID == "" {
		// The init's exit belongs to the deleted container.
		s.lifecycleMu.Lock()
		s.initExited = false
		s.lifecycleMu.Unlock()
	}
	s.waitPublished(published)
	return &taskAPI.DeleteResponse{
		Pid:        uint32(p.Pid()),
		ExitStatus: uint32(p.ExitStatus()),
		ExitedAt:   protobuf.ToTimestamp(p.ExitedAt()),
	}, nil
}

// Exec adds an exec process; Start runs it.
func (s *Service) Exec(ctx context.Context, r *taskAPI.ExecProcessRequest) (*ptypes.Empty, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.processLocked(r.ID, ""); err != nil {
		return nil, err
	}
	if _, ok := s.execs[r.ExecID]; ok {
		return nil, errgrpc.ToGRPCf(errdefs.ErrAlreadyExists, "exec %s already exists", r.ExecID)
	}
	p, err := s.init.Exec(ctx, s.bundle, &process.ExecConfig{
		ID: r.ExecID, Terminal: r.Terminal,
		Stdin: r.Stdin, Stdout: r.Stdout, Stderr: r.Stderr,
		Spec: r.Spec,
	})
	if err != nil {
		return nil, errgrpc.ToGRPC(err)
	}
	s.execs[r.ExecID] = p
	s.send(&eventstypes.TaskExecAdded{ContainerID: r.ID, ExecID: r.ExecID})
	return &ptypes.Empty{}, nil
}

// ResizePty resizes a process's terminal.
func (s *Service) ResizePty(ctx context.Context, r *taskAPI.ResizePtyRequest) (*ptypes.Empty, error) {
	p, err := s.process(r.ID, r.ExecID)
	if err != nil {
		return nil, err
	}
	if err := p.Resize(console.WinSize{Width: uint16(r.Width), Height: uint16(r.Height)}); err != nil {
		return nil, errgrpc.ToGRPC(err)
	}
	return &ptypes.Empty{}, nil
}

// CloseIO closes a process's stdin.
func (s *Service) CloseIO(ctx context.Context, r *taskAPI.CloseIORequest) (*ptypes.Empty, error) {
	p, err := s.process(r.ID, r.ExecID)
	if err != nil {
		return nil, err
	}
	if stdin := p.Stdin(); stdin != nil && r.Stdin {
		if err := stdin.Close(); err != nil {
			return nil, fmt.Errorf("close stdin: %w", err)
		}
	}
	return &ptypes.Empty{}, nil
}

// Kill signals a process; with All every process of the container.
func (s *Service) Kill(ctx context.Context, r *taskAPI.KillRequest) (*ptypes.Empty, error) {
	p, err := s.process(r.ID, r.ExecID)
	if err != nil {
		return nil, err
	}
	if err := p.Kill(ctx, r.Signal, r.All); err != nil {
		return nil, errgrpc.ToGRPC(err)
	}
	return &ptypes.Empty{}, nil
}

// Pids lists the container's processes (`runj-go ps`), naming the exec
// each exec'd process belongs to.
func (s *Service) Pids(ctx context.Context, r *taskAPI.PidsRequest) (*taskAPI.PidsResponse, error) {
	s.mu.Lock()
	p, err := s.processLocked(r.ID, "")
	execs := make(map[int]string, len(s.execs))
	for id, e := range s.execs {
		execs[e.Pid()] = id
	}
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	pids, err := p.(*process.Init).Runtime().Ps(ctx, r.ID)
	if err != nil {
		return nil, errgrpc.ToGRPC(runtimeError(p.(*process.Init).Runtime(), err, "runj-go ps"))
	}
	var out []*task.ProcessInfo
	for _, pid := range pids {
		info := &task.ProcessInfo{Pid: uint32(pid)}
		if id, ok := execs[pid]; ok {
			a, err := typeurl.MarshalAnyToProto(&options.ProcessDetails{ExecID: id})
			if err != nil {
				return nil, err
			}
			info.Info = a
		}
		out = append(out, info)
	}
	return &taskAPI.PidsResponse{Processes: out}, nil
}

// Pause stops every process of the container (`runj-go pause`).
func (s *Service) Pause(ctx context.Context, r *taskAPI.PauseRequest) (*ptypes.Empty, error) {
	p, err := s.initProcess(r.ID)
	if err != nil {
		return nil, err
	}
	if err := p.Pause(ctx); err != nil {
		return nil, errgrpc.ToGRPC(err)
	}
	s.send(&eventstypes.TaskPaused{ContainerID: r.ID})
	return &ptypes.Empty{}, nil
}

// Resume continues them (`runj-go resume`).
func (s *Service) Resume(ctx context.Context, r *taskAPI.ResumeRequest) (*ptypes.Empty, error) {
	p, err := s.initProcess(r.ID)
	if err != nil {
		return nil, err
	}
	if err := p.Resume(ctx); err != nil {
		return nil, errgrpc.ToGRPC(err)
	}
	s.send(&eventstypes.TaskResumed{ContainerID: r.ID})
	return &ptypes.Empty{}, nil
}

// Checkpoint is not implemented: jails cannot be checkpointed.
func (s *Service) Checkpoint(ctx context.Context, r *taskAPI.CheckpointTaskRequest) (*ptypes.Empty, error) {
	return nil, errgrpc.ToGRPCf(errdefs.ErrNotImplemented, "checkpoint is not supported by runj-go")
}

// Update applies new resources (`runj-go update`, LinuxResources JSON).
func (s *Service) Update(ctx context.Context, r *taskAPI.UpdateTaskRequest) (*ptypes.Empty, error) {
	p, err := s.initProcess(r.ID)
	if err != nil {
		return nil, err
	}
	if err := p.Update(ctx, r.Resources); err != nil {
		return nil, errgrpc.ToGRPC(runtimeError(p.Runtime(), err, "runj-go update"))
	}
	return &ptypes.Empty{}, nil
}

// Wait waits for a process to exit.
func (s *Service) Wait(ctx context.Context, r *taskAPI.WaitRequest) (*taskAPI.WaitResponse, error) {
	p, err := s.process(r.ID, r.ExecID)
	if err != nil {
		return nil, err
	}
	if err := p.Wait(ctx); err != nil {
		return nil, errgrpc.ToGRPC(err)
	}
	return &taskAPI.WaitResponse{
		ExitStatus: uint32(p.ExitStatus()),
		ExitedAt:   protobuf.ToTimestamp(p.ExitedAt()),
	}, nil
}

// State reports a process's status and stdio.
func (s *Service) State(ctx context.Context, r *taskAPI.StateRequest) (*taskAPI.StateResponse, error) {
	p, err := s.process(r.ID, r.ExecID)
	if err != nil {
		return nil, err
	}
	st, err := p.Status(ctx)
	if err != nil {
		return nil, errgrpc.ToGRPC(err)
	}
	sio := p.Stdio()
	s.mu.Lock()
	bundle := s.bundle
	s.mu.Unlock()
	return &taskAPI.StateResponse{
		ID:         p.ID(),
		Bundle:     bundle,
		Pid:        uint32(p.Pid()),
		Status:     taskStatus(st),
		Stdin:      sio.Stdin,
		Stdout:     sio.Stdout,
		Stderr:     sio.Stderr,
		Terminal:   sio.Terminal,
		ExitStatus: uint32(p.ExitStatus()),
		ExitedAt:   protobuf.ToTimestamp(p.ExitedAt()),
		ExecID:     r.ExecID,
	}, nil
}

func taskStatus(s string) task.Status {
	switch s {
	case "created":
		return task.Status_CREATED
	case "running":
		return task.Status_RUNNING
	case "stopped":
		return task.Status_STOPPED
	case "paused":
		return task.Status_PAUSED
	case "pausing":
		return task.Status_PAUSING
	}
	return task.Status_UNKNOWN
}

// Stats reports the container's resource use as cgroups v1 Metrics.
func (s *Service) Stats(ctx context.Context, r *taskAPI.StatsRequest) (*taskAPI.StatsResponse, error) {
	p, err := s.initProcess(r.ID)
	if err != nil {
		return nil, err
	}
	st, err := p.Runtime().Stats(ctx, r.ID)
	if err != nil {
		return nil, errgrpc.ToGRPC(runtimeError(p.Runtime(), err, "runj-go events --stats"))
	}
	a, err := typeurl.MarshalAnyToProto(metrics(st))
	if err != nil {
		return nil, err
	}
	return &taskAPI.StatsResponse{Stats: a}, nil
}

// Connect returns the shim's and the container's pids.
func (s *Service) Connect(ctx context.Context, r *taskAPI.ConnectRequest) (*taskAPI.ConnectResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var pid int
	if s.init != nil {
		pid = s.init.Pid()
	}
	return &taskAPI.ConnectResponse{ShimPid: uint32(os.Getpid()), TaskPid: uint32(pid)}, nil
}

// Shutdown ends the shim once its container is deleted.
func (s *Service) Shutdown(ctx context.Context, r *taskAPI.ShutdownRequest) (*ptypes.Empty, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.init != nil {
		return &ptypes.Empty{}, nil
	}
	s.shutdown.Shutdown()
	return &ptypes.Empty{}, nil
}

func (s *Service) initProcess(id string) (*process.Init, error) {
	p, err := s.process(id, "")
	if err != nil {
		return nil, err
	}
	return p.(*process.Init), nil
}

// preStart prepares the start of a process whose exit may be reaped
// before the start returns: from now on the exits are collected for it.
// restarted is the init when Start starts it: it leaves running, so that
// an exit during `runj-go start` is handled after TaskStart is sent.
// lifecycleMu is held.
//
// handleStarted records the started process p as running, or handles its
// exit if it came already; call it without lifecycleMu, once the event of
// the start is sent. cleanup ends the collection: call it before
// returning.
func (s *Service) preStart(restarted process.Process) (handleStarted func(id string, p process.Process), cleanup func()) {
	exits := map[int][]runc.Exit{}
	s.exitSubscribers[&exits] = struct{}{}
	if restarted != nil {
		if cp, ok := s.running[restarted.Pid()]; ok && cp.process == restarted {
			delete(s.running, restarted.Pid())
		}
	}
	handleStarted = func(id string, p process.Process) {
		pid := p.Pid()
		s.lifecycleMu.Lock()
		ees, exited := exits[pid]
		delete(s.exitSubscribers, &exits)
		exits = nil
		if pid == 0 || exited {
			if _, ok := p.(*process.Init); ok && exited {
				s.initExited = true
			}
			s.lifecycleMu.Unlock()
			for _, e := range ees {
				s.handleExit(e, containerProcess{id: id, process: p})
			}
			return
		}
		s.running[pid] = containerProcess{id: id, process: p}
		s.lifecycleMu.Unlock()
	}
	cleanup = func() {
		if exits != nil {
			s.lifecycleMu.Lock()
			delete(s.exitSubscribers, &exits)
			s.lifecycleMu.Unlock()
		}
	}
	return handleStarted, cleanup
}

// processExits handles the exits the reaper reports.
func (s *Service) processExits() {
	for e := range s.exits {
		s.lifecycleMu.Lock()
		// Starts in progress handle the exits of their own processes.
		for exits := range s.exitSubscribers {
			(*exits)[e.Pid] = append((*exits)[e.Pid], e)
		}
		cp, ok := s.running[e.Pid]
		if ok {
			delete(s.running, e.Pid)
			if _, isInit := cp.process.(*process.Init); isInit {
				s.initExited = true
			}
		}
		s.lifecycleMu.Unlock()
		if ok {
			s.handleExit(e, cp)
		}
	}
}

// handleExit handles the exit e of cp's process.
func (s *Service) handleExit(e runc.Exit, cp containerProcess) {
	if p, ok := cp.process.(*process.Init); ok {
		s.handleInitExit(e, cp.id, p)
		return
	}
	s.handleProcessExit(e, cp)
}

// handleInitExit handles the exit of the init, which must be the
// container's last exit event. A jail's processes outlive its init: they
// are killed (`runj-go kill --all`), and the init's exit is published once
// the exits of the running execs are; initExited keeps new ones from
// starting.
func (s *Service) handleInitExit(e runc.Exit, id string, p *process.Init) {
	if err := p.KillAll(s.ctx); err != nil {
		log.G(s.ctx).WithError(err).WithField("id", id).Error("kill the container's processes after its init exited")
	}
	cp := containerProcess{id: id, process: p}
	s.lifecycleMu.Lock()
	if s.runningExecs == 0 {
		s.lifecycleMu.Unlock()
		s.handleProcessExit(e, cp)
		return
	}
	// Every change from now on is an exec's end: the count only falls.
	counts := make(chan int, s.runningExecs)
	s.execCount = counts
	s.lifecycleMu.Unlock()
	go func() {
		for n := range counts {
			if n == 0 {
				break
			}
		}
		s.lifecycleMu.Lock()
		s.execCount = nil
		s.lifecycleMu.Unlock()
		s.handleProcessExit(e, cp)
	}()
}

// handleProcessExit marks cp's process exited and publishes its TaskExit;
// the init's exit is also recorded in the bundle for Stop.
func (s *Service) handleProcessExit(e runc.Exit, cp containerProcess) {
	p := cp.process
	p.SetExited(e.Status)
	ip, isInit := p.(*process.Init)
	if isInit {
		if err := writeExit(ip.Bundle, exitRecord{Pid: e.Pid, Status: e.Status, At: p.ExitedAt()}); err != nil {
			log.G(s.ctx).WithError(err).WithField("id", cp.id).Error("record the exit status in the bundle")
		}
	}
	s.send(&eventstypes.TaskExit{
		ContainerID: cp.id,
		ID:          p.ID(),
		Pid:         uint32(e.Pid),
		ExitStatus:  uint32(e.Status),
		ExitedAt:    protobuf.ToTimestamp(p.ExitedAt()),
	})
	if !isInit {
		s.lifecycleMu.Lock()
		s.execDoneLocked()
		s.lifecycleMu.Unlock()
	}
}

// execDoneLocked counts one running exec less, and tells the init's exit
// if it waits. lifecycleMu is held.
func (s *Service) execDoneLocked() {
	s.runningExecs--
	if s.execCount != nil {
		s.execCount <- s.runningExecs
	}
}

// event is one event to publish; done, if set, is closed once it is.
type event struct {
	evt  any
	done chan struct{}
}

func (s *Service) send(evt any) {
	select {
	case s.events <- event{evt: evt}:
	case <-s.shutdown.Done():
	}
}

// sendPublished queues evt and returns a channel closed once it, and so
// every event before it, has been published.
func (s *Service) sendPublished(evt any) chan struct{} {
	done := make(chan struct{})
	select {
	case s.events <- event{evt: evt, done: done}:
	case <-s.shutdown.Done():
		close(done)
	}
	return done
}

// waitPublished waits for sendPublished's channel, if there is one.
func (s *Service) waitPublished(done chan struct{}) {
	if done == nil {
		return
	}
	select {
	case <-done:
	case <-s.shutdown.Done():
	}
}

// forward publishes events in order until shutdown, then what is left.
func (s *Service) forward() {
	ctx := context.WithoutCancel(s.ctx)
	defer s.publisher.Close()
	publish := func(e event) {
		if err := s.publisher.Publish(ctx, runtime.GetTopic(e.evt), e.evt); err != nil {
			log.G(ctx).WithError(err).Error("post event")
		}
		if e.done != nil {
			close(e.done)
		}
	}
	for {
		select {
		case e := <-s.events:
			publish(e)
		case <-s.shutdown.Done():
			for {
				select {
				case e := <-s.events:
					publish(e)
				default:
					return
				}
			}
		}
	}
}

// runtimeError puts runj-go's last logged error into err, as the process
// package does for create, start, kill and delete.
func runtimeError(r *runc.Runc, err error, what string) error {
	var exitErr *runc.ExitError
	if !errors.As(err, &exitErr) {
		return fmt.Errorf("%s: %w", what, err)
	}
	if msg := lastLogError(r.Log); msg != "" {
		return fmt.Errorf("%s: %s: %w", what, msg, errdefs.ErrUnknown)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// lastLogError is the msg of the last error line of runj-go's JSON log.
func lastLogError(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	var msg string
	for _, line := range bytes.Split(b, []byte("\n")) {
		var l struct {
			Level string `json:"level"`
			Msg   string `json:"msg"`
		}
		if json.Unmarshal(line, &l) == nil && l.Level == "error" {
			msg = l.Msg
		}
	}
	return msg
}
