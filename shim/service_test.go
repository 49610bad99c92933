//go:build linux || freebsd

package shim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	eventstypes "github.com/containerd/containerd/api/events"
	taskAPI "github.com/containerd/containerd/api/runtime/task/v3"
	"github.com/containerd/containerd/api/types/runc/options"
	"github.com/containerd/containerd/api/types/task"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	ptypes "github.com/containerd/containerd/v2/pkg/protobuf/types"
	"github.com/containerd/containerd/v2/pkg/shim"
	"github.com/containerd/errdefs"
	"github.com/containerd/errdefs/pkg/errgrpc"
	runc "github.com/containerd/go-runc"
	"github.com/containerd/typeurl/v2"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestTaskStatus(t *testing.T) {
	for in, want := range map[string]task.Status{
		"created": task.Status_CREATED, "running": task.Status_RUNNING, "stopped": task.Status_STOPPED,
		"paused": task.Status_PAUSED, "pausing": task.Status_PAUSING, "": task.Status_UNKNOWN, "odd": task.Status_UNKNOWN,
	} {
		if got := taskStatus(in); got != want {
			t.Errorf("taskStatus(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestMetrics(t *testing.T) {
	var s runc.Stats
	s.Pids = runc.Pids{Current: 3, Limit: 50}
	s.Cpu.Usage = runc.CpuUsage{Total: 2e9, User: 1e9, Kernel: 1e9}
	s.Memory.Usage = runc.MemoryEntry{Usage: 4096, Limit: 1 << 30}
	s.Memory.Swap = runc.MemoryEntry{Usage: 512}
	m := metrics(&s)
	if m.Pids.Current != 3 || m.Pids.Limit != 50 {
		t.Errorf("pids = %+v", m.Pids)
	}
	if m.CPU.Usage.Total != 2e9 || m.CPU.Usage.User != 1e9 || m.CPU.Usage.Kernel != 1e9 {
		t.Errorf("cpu = %+v", m.CPU.Usage)
	}
	if m.Memory.Usage.Usage != 4096 || m.Memory.Usage.Limit != 1<<30 || m.Memory.Swap.Usage != 512 {
		t.Errorf("memory = %+v", m.Memory)
	}
	a, err := typeurl.MarshalAnyToProto(m)
	if err != nil {
		t.Fatal(err)
	}
	if want := "io.containerd.cgroups.v1.Metrics"; a.GetTypeUrl() != want {
		t.Errorf("type url = %q, want %q", a.GetTypeUrl(), want)
	}
}

func TestLastLogError(t *testing.T) {
	log := filepath.Join(t.TempDir(), "log.json")
	data := `{"level":"info","msg":"ignored","time":"2026-01-01T00:00:00Z"}
{"level":"error","msg":"first","time":"2026-01-01T00:00:00Z"}
not json
{"level":"error","msg":"container does not exist","time":"2026-01-01T00:00:01Z"}
{"level":"warning","msg":"later warning","time":"2026-01-01T00:00:02Z"}
`
	if err := os.WriteFile(log, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := lastLogError(log); got != "container does not exist" {
		t.Errorf("lastLogError = %q", got)
	}
	if got := lastLogError(log + ".missing"); got != "" {
		t.Errorf("lastLogError of a missing file = %q", got)
	}
	r := &runc.Runc{Log: log}
	err := runtimeError(r, &runc.ExitError{Status: 1}, "runj-go ps")
	if want := "runj-go ps: container does not exist: unknown"; err == nil || err.Error() != want {
		t.Errorf("runtimeError = %v, want %q", err, want)
	}
	other := errors.New("exec: not found")
	if err := runtimeError(r, other, "runj-go ps"); !errors.Is(err, other) {
		t.Errorf("runtimeError of a non-exit error = %v, want it wrapped", err)
	}
}

func TestNewRunc(t *testing.T) {
	t.Setenv(RootEnv, "/run/test-root")
	r := newRunc("k8s.io", "/bundle", &options.Options{})
	if r.Root != "/run/test-root/k8s.io" || r.Log != "/bundle/log.json" || r.LogFormat != runc.JSON {
		t.Errorf("runc = %+v", r)
	}
	r = newRunc("default", "/b", &options.Options{BinaryName: "/opt/runj-go", Root: "/var/custom"})
	if r.Command != "/opt/runj-go" || r.Root != "/var/custom/default" {
		t.Errorf("runc with options = %+v", r)
	}
}

func TestRuntimeOptions(t *testing.T) {
	want := &options.Options{BinaryName: "/opt/runj-go", Root: "/var/custom"}
	a, err := typeurl.MarshalAnyToProto(want)
	if err != nil {
		t.Fatal(err)
	}
	other, err := typeurl.MarshalAnyToProto(&task.ProcessInfo{Pid: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		in   *ptypes.Any
		want *options.Options
	}{
		{"runc_options", a, want},
		{"none", nil, &options.Options{}},
		{"another_type_is_none", other, &options.Options{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := runtimeOptions(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if !sameOptions(got, tc.want) {
				t.Errorf("runtimeOptions = %v, want %v", got, tc.want)
			}
		})
	}
}

// sameOptions compares the options runj-go honours.
func sameOptions(a, b *options.Options) bool {
	return a.GetBinaryName() == b.GetBinaryName() && a.GetRoot() == b.GetRoot()
}

func TestOptionsFile(t *testing.T) {
	bundle := t.TempDir()
	if o, err := readOptions(bundle); err != nil || !sameOptions(o, &options.Options{}) {
		t.Errorf("readOptions of a bundle without them = %v, %v; want none", o, err)
	}
	want := &options.Options{BinaryName: "/opt/runj-go", Root: "/var/custom"}
	if err := writeOptions(bundle, want); err != nil {
		t.Fatal(err)
	}
	if got, err := readOptions(bundle); err != nil || !sameOptions(got, want) {
		t.Errorf("readOptions = %v, %v; want %v", got, err, want)
	}
	if err := os.WriteFile(filepath.Join(bundle, optionsFile), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := readOptions(bundle); err == nil || !strings.Contains(err.Error(), optionsFile) {
		t.Errorf("readOptions of a broken file: %v, want an error naming it", err)
	}
}

func TestCreateFromCheckpointIsNotImplemented(t *testing.T) {
	dir, opts := fakeRuntimeOf(t)
	s, _, _, ctx := testService(t)
	bundle := t.TempDir()
	_, err := s.Create(ctx, &taskAPI.CreateTaskRequest{ID: "c", Bundle: bundle, Options: opts, Checkpoint: "/checkpoints/c"})
	if !errdefs.IsNotImplemented(errgrpc.ToNative(err)) || !strings.Contains(err.Error(), "checkpoint") {
		t.Errorf("Create from a checkpoint: %v, want not implemented", err)
	}
	if calls := fakeCalls(t, dir); len(calls) != 0 {
		t.Errorf("Create from a checkpoint ran runj-go: %q", calls)
	}
	if _, err := os.Stat(filepath.Join(bundle, optionsFile)); !os.IsNotExist(err) {
		t.Errorf("Create from a checkpoint wrote %s: %v", optionsFile, err)
	}
}

// createAndStart creates and starts container c in bundle, and takes
// their events.
func createAndStart(t *testing.T, ctx context.Context, s *Service, events *eventRecorder, bundle string, opts *ptypes.Any) *taskAPI.CreateTaskResponse {
	t.Helper()
	created, err := s.Create(ctx, &taskAPI.CreateTaskRequest{ID: "c", Bundle: bundle, Options: opts})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	wantEvent[*eventstypes.TaskCreate](t, events)
	if _, err := s.Start(ctx, &taskAPI.StartRequest{ID: "c"}); err != nil {
		t.Fatalf("Start: %v", err)
	}
	wantEvent[*eventstypes.TaskStart](t, events)
	return created
}

// The init's exit kills what is left of the container, waits for the
// running execs' exits to be published and is the container's last exit;
// no exec starts after it.
func TestInitExitIsTheLastExit(t *testing.T) {
	dir, opts := fakeRuntimeOf(t)
	s, exits, events, ctx := testService(t)
	created := createAndStart(t, ctx, s, events, t.TempDir(), opts)
	exec1 := startExec(t, ctx, s, events, "e1")

	if err := unix.Mkfifo(filepath.Join(dir, "kill"), 0o600); err != nil {
		t.Fatal(err)
	}
	exits <- runc.Exit{Pid: int(created.Pid), Status: 0}
	// The shim handles the init's exit: it kills what is left.
	if kill := readFifo(t, filepath.Join(dir, "kill")); !strings.HasSuffix(kill, "kill --all c 9") {
		t.Errorf("runj-go after the init's exit: %q, want kill --all c 9", kill)
	}

	if _, err := s.Exec(ctx, &taskAPI.ExecProcessRequest{ID: "c", ExecID: "e2", Spec: execSpec(t)}); err != nil {
		t.Fatalf("Exec e2: %v", err)
	}
	_, err := s.Start(ctx, &taskAPI.StartRequest{ID: "c", ExecID: "e2"})
	if !errdefs.IsFailedPrecondition(errgrpc.ToNative(err)) {
		t.Errorf("Start of an exec after the init's exit: %v, want failed precondition", err)
	}
	if e := wantEvent[*eventstypes.TaskExecAdded](t, events); e.ExecID != "e2" {
		t.Errorf("TaskExecAdded = %v, want e2's", e)
	}

	exits <- runc.Exit{Pid: int(exec1), Status: 137}
	if e := wantEvent[*eventstypes.TaskExit](t, events); e.ID != "e1" || e.ExitStatus != 137 {
		t.Errorf("first exit after the init's: %v, want e1's, 137", e)
	}
	if e := wantEvent[*eventstypes.TaskExit](t, events); e.ID != "c" || e.ContainerID != "c" || e.Pid != created.Pid || e.ExitStatus != 0 {
		t.Errorf("last exit: %v, want the init's", e)
	}
	st, err := s.State(ctx, &taskAPI.StateRequest{ID: "c"})
	if err != nil || st.Status != task.Status_STOPPED {
		t.Errorf("State of the init: %v, %v; want stopped", st, err)
	}
}

// startExec adds and starts the exec id and returns its pid.
func startExec(t *testing.T, ctx context.Context, s *Service, events *eventRecorder, id string) uint32 {
	t.Helper()
	if _, err := s.Exec(ctx, &taskAPI.ExecProcessRequest{ID: "c", ExecID: id, Spec: execSpec(t)}); err != nil {
		t.Fatalf("Exec %s: %v", id, err)
	}
	wantEvent[*eventstypes.TaskExecAdded](t, events)
	started, err := s.Start(ctx, &taskAPI.StartRequest{ID: "c", ExecID: id})
	if err != nil {
		t.Fatalf("Start %s: %v", id, err)
	}
	wantEvent[*eventstypes.TaskExecStarted](t, events)
	return started.Pid
}

func execSpec(t *testing.T) *ptypes.Any {
	t.Helper()
	b, err := json.Marshal(&specs.Process{Args: []string{"true"}, Cwd: "/"})
	if err != nil {
		t.Fatal(err)
	}
	return &ptypes.Any{TypeUrl: "types.containerd.io/opencontainers/runtime-spec/1/Process", Value: b}
}

// wantEvent is the next event, which must be an E.
func wantEvent[E any](t *testing.T, events *eventRecorder) E {
	t.Helper()
	e := events.next(t)
	x, ok := e.(E)
	if !ok {
		t.Fatalf("event %T %v, want a %T", e, e, x)
	}
	return x
}

// Stop, the "delete" action in a new shim process, finds the bundle in
// -bundle, not in its working directory, and runs runj-go with the
// runtime options the container was created with.
func TestStopUsesTheBundleAndTheRuntimeOptions(t *testing.T) {
	dir, opts := fakeRuntimeOf(t)
	s, exits, events, ctx := testService(t)
	bundle := t.TempDir()
	created := createAndStart(t, ctx, s, events, bundle, opts)
	exits <- runc.Exit{Pid: int(created.Pid), Status: 7}
	wantEvent[*eventstypes.TaskExit](t, events)

	if wd, err := os.Getwd(); err != nil || wd == bundle {
		t.Fatalf("working directory %q (%v): the test needs another than the bundle", wd, err)
	}
	stopCtx := context.WithValue(namespaces.WithNamespace(context.Background(), testNamespace), shim.OptsKey{}, shim.Opts{BundlePath: bundle})
	st, err := Manager{}.Stop(stopCtx, "c")
	if err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if st.Pid != int(created.Pid) || st.ExitStatus != 7 {
		t.Errorf("Stop = %+v, want the init's exit: pid %d, status 7", st, created.Pid)
	}
	calls := fakeCalls(t, dir)
	want := fmt.Sprintf("--root %s --log %s --log-format json delete --force c",
		filepath.Join(dir, "root", testNamespace), filepath.Join(bundle, "log.json"))
	if len(calls) == 0 || calls[len(calls)-1] != want {
		t.Errorf("runj-go calls %q, want the last %q", calls, want)
	}
}
