//go:build linux || freebsd

package shim

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/containerd/containerd/api/types/runc/options"
	"github.com/containerd/containerd/api/types/task"
	runc "github.com/containerd/go-runc"
	"github.com/containerd/typeurl/v2"
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
	r, err := newRunc("k8s.io", "/bundle", nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Root != "/run/test-root/k8s.io" || r.Log != "/bundle/log.json" || r.LogFormat != runc.JSON {
		t.Errorf("runc = %+v", r)
	}
	opts, err := typeurl.MarshalAnyToProto(&options.Options{BinaryName: "/opt/runj-go", Root: "/var/custom"})
	if err != nil {
		t.Fatal(err)
	}
	r, err = newRunc("default", "/b", opts)
	if err != nil {
		t.Fatal(err)
	}
	if r.Command != "/opt/runj-go" || r.Root != "/var/custom/default" {
		t.Errorf("runc with options = %+v", r)
	}
}
