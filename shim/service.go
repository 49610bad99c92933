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
	"time"

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

// earlyExitTTL bounds how long an exit nobody claimed yet is kept: the
// exits of runj-go's own commands are never claimed.
const earlyExitTTL = time.Minute

// Service is the task service of one container.
type Service struct {
	ctx       context.Context
	publisher shim.Publisher
	shutdown  shutdown.Service
	platform  stdio.Platform
	exits     chan runc.Exit
	events    chan event

	mu sync.Mutex
	// id and bundle are the container's, set by Create.
	id     string
	bundle string
	init   *process.Init
	execs  map[string]process.Process
	// running maps the pid of every started process to it.
	running map[int]process.Process
	// early holds exits that arrived before their process was known.
	early map[int]earlyExit
}

type earlyExit struct {
	exit runc.Exit
	at   time.Time
}

var _ taskAPI.TTRPCTaskService = (*Service)(nil)

// New returns the task service; it publishes events through publisher
// until sd shuts down.
func New(ctx context.Context, publisher shim.Publisher, sd shutdown.Service) (*Service, error) {
	platform, err := newPlatform()
	if err != nil {
		return nil, err
	}
	s := &Service{
		ctx:       ctx,
		publisher: publisher,
		shutdown:  sd,
		platform:  platform,
		exits:     reaper.Default.Subscribe(),
		events:    make(chan event, 128),
		execs:     map[string]process.Process{},
		running:   map[int]process.Process{},
		early:     map[int]earlyExit{},
	}
	// go-runc waits for runj-go through the reaper, which the shim's
	// SIGCHLD handler drives: the shim is the subreaper of everything.
	runc.Monitor = reaper.Default
	go s.processExits()
	go s.forward()
	sd.RegisterCallback(func(context.Context) error {
		reaper.Default.Unsubscribe(s.exits)
		return platform.Close()
	})
	return s, nil
}

// RegisterTTRPC registers the task API v3.
func (s *Service) RegisterTTRPC(server *ttrpc.Server) error {
	taskAPI.RegisterTTRPCTaskService(server, s)
	return nil
}

// Create mounts the rootfs, sets up stdio and runs `runj-go create`.
func (s *Service) Create(ctx context.Context, r *taskAPI.CreateTaskRequest) (_ *taskAPI.CreateTaskResponse, retErr error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.init != nil {
		return nil, errgrpc.ToGRPCf(errdefs.ErrAlreadyExists, "container %s: this shim already serves %s", r.ID, s.id)
	}
	ns, err := namespaces.NamespaceRequired(ctx)
	if err != nil {
		return nil, err
	}
	rt, err := newRunc(ns, r.Bundle, r.Options)
	if err != nil {
		return nil, errgrpc.ToGRPC(err)
	}
	rootfs := filepath.Join(r.Bundle, "rootfs")
	var mounts []mount.Mount
	for _, m := range r.Rootfs {
		mounts = append(mounts, mount.Mount{Type: m.Type, Source: m.Source, Target: m.Target, Options: m.Options})
	}
	if len(mounts) > 0 {
		if err := os.MkdirAll(rootfs, 0o711); err != nil {
			return nil, err
		}
		if err := mountRootfs(mounts, rootfs); err != nil {
			return nil, fmt.Errorf("mount rootfs of %s: %w", r.ID, err)
		}
		defer func() {
			if retErr != nil {
				if err := mount.UnmountAll(rootfs, 0); err != nil {
					log.G(ctx).WithError(err).Warn("unmount rootfs after a failed create")
				}
			}
		}()
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
		Checkpoint:  r.Checkpoint,
		Pid:         uint32(p.Pid()),
	})
	// The init process exists from now on; an exit before Start is the
	// container's.
	s.started(p)
	return &taskAPI.CreateTaskResponse{Pid: uint32(p.Pid())}, nil
}

// newRunc is go-runc for runj-go: the binary next to the shim (or on
// $PATH), state under the root for the namespace, errors as JSON lines in
// the bundle's log.json. runc options (BinaryName, Root) are honoured.
func newRunc(ns, bundle string, opts *ptypes.Any) (*runc.Runc, error) {
	binary, root := runtimeBinary(), defaultRoot()
	if opts != nil && typeurl.Is(opts, &options.Options{}) {
		var o options.Options
		if err := typeurl.UnmarshalTo(opts, &o); err != nil {
			return nil, fmt.Errorf("runtime options: %w", err)
		}
		if o.BinaryName != "" {
			binary = o.BinaryName
		}
		if o.Root != "" {
			root = o.Root
		}
	}
	return &runc.Runc{
		Command:      binary,
		Root:         filepath.Join(root, ns),
		Log:          filepath.Join(bundle, "log.json"),
		LogFormat:    runc.JSON,
		PdeathSignal: pdeathSignal,
	}, nil
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

// Start runs `runj-go start` for the init, or starts an exec.
func (s *Service) Start(ctx context.Context, r *taskAPI.StartRequest) (*taskAPI.StartResponse, error) {
	p, err := s.process(r.ID, r.ExecID)
	if err != nil {
		return nil, err
	}
	if err := p.Start(ctx); err != nil {
		return nil, errgrpc.ToGRPC(err)
	}
	if r.ExecID == "" {
		s.send(&eventstypes.TaskStart{ContainerID: r.ID, Pid: uint32(p.Pid())})
	} else {
		s.send(&eventstypes.TaskExecStarted{ContainerID: r.ID, ExecID: r.ExecID, Pid: uint32(p.Pid())})
		s.mu.Lock()
		s.started(p)
		s.mu.Unlock()
	}
	return &taskAPI.StartResponse{Pid: uint32(p.Pid())}, nil
}

// Delete deletes an exec, or the container: `runj-go delete`, the rootfs
// unmounted, the exit status and time reported.
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
		if err := mount.UnmountAll(filepath.Join(s.bundle, "rootfs"), 0); err != nil {
			log.G(ctx).WithError(err).Warn("unmount rootfs")
		}
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

// started records that p runs under its pid, and handles its exit if it
// came first. s.mu is held.
func (s *Service) started(p process.Process) {
	pid := p.Pid()
	if e, ok := s.early[pid]; ok {
		delete(s.early, pid)
		s.exited(p, e.exit)
		return
	}
	s.running[pid] = p
}

// processExits handles the exits the reaper reports.
func (s *Service) processExits() {
	for e := range s.exits {
		s.mu.Lock()
		if p, ok := s.running[e.Pid]; ok {
			delete(s.running, e.Pid)
			s.exited(p, e)
		} else {
			now := time.Now()
			for pid, old := range s.early {
				if now.Sub(old.at) > earlyExitTTL {
					delete(s.early, pid)
				}
			}
			s.early[e.Pid] = earlyExit{exit: e, at: now}
		}
		s.mu.Unlock()
	}
}

// exited marks p exited with e's status and publishes TaskExit. The init's
// exit ends every other process of the jail, as runc's shim does for a
// container without its own pid namespace. s.mu is held.
func (s *Service) exited(p process.Process, e runc.Exit) {
	if ip, ok := p.(*process.Init); ok {
		if err := ip.KillAll(s.ctx); err != nil {
			log.G(s.ctx).WithError(err).Debug("kill the jail's processes after init's exit")
		}
	}
	p.SetExited(e.Status)
	if _, ok := p.(*process.Init); ok {
		if err := writeExit(s.bundle, exitRecord{Pid: e.Pid, Status: e.Status, At: p.ExitedAt()}); err != nil {
			log.G(s.ctx).WithError(err).Warn("record the exit status")
		}
	}
	s.send(&eventstypes.TaskExit{
		ContainerID: s.id,
		ID:          p.ID(),
		Pid:         uint32(e.Pid),
		ExitStatus:  uint32(e.Status),
		ExitedAt:    protobuf.ToTimestamp(p.ExitedAt()),
	})
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
