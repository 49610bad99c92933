//go:build linux || freebsd

package shim

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/containerd/containerd/api/types/runc/options"
	"github.com/containerd/containerd/v2/core/events"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	ptypes "github.com/containerd/containerd/v2/pkg/protobuf/types"
	"github.com/containerd/containerd/v2/pkg/shutdown"
	runc "github.com/containerd/go-runc"
	"github.com/containerd/typeurl/v2"
)

// fakeRuntimeEnv names a directory: with it set, the test binary is a
// fake runj-go (fakeRuntime) instead of running the tests.
const fakeRuntimeEnv = "RUNJ_GO_SHIM_TEST_RUNTIME"

// testNamespace is the containerd namespace of the tests.
const testNamespace = "test"

func TestMain(m *testing.M) {
	if dir := os.Getenv(fakeRuntimeEnv); dir != "" {
		if err := fakeRuntime(dir, os.Args[1:]); err != nil {
			fmt.Fprintln(os.Stderr, "fake runj-go:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// fakeRuntime is runj-go as far as the shim needs one for its tests. It
// appends its command line to dir/calls; create and exec write its own
// pid to their --pid-file (each call is a new process, so each pid is
// new); kill also writes its command line to the fifo dir/kill if there
// is one, which lets a test wait for the kill.
func fakeRuntime(dir string, args []string) error {
	line := strings.Join(args, " ")
	f, err := os.OpenFile(filepath.Join(dir, "calls"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(f, line)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	switch {
	case slices.Contains(args, "create"), slices.Contains(args, "exec"):
		i := slices.Index(args, "--pid-file")
		if i < 0 || i+1 == len(args) {
			return fmt.Errorf("%s: no --pid-file", line)
		}
		return os.WriteFile(args[i+1], []byte(strconv.Itoa(os.Getpid())), 0o600)
	case slices.Contains(args, "kill"):
		fifo := filepath.Join(dir, "kill")
		if fi, err := os.Stat(fifo); err == nil && fi.Mode()&fs.ModeNamedPipe != 0 {
			return os.WriteFile(fifo, []byte(line), 0)
		}
	}
	return nil
}

// fakeRuntimeOf is a fake runj-go for the test t: its directory, and the
// runtime options that make the shim run it with its own root.
func fakeRuntimeOf(t *testing.T) (dir string, opts *ptypes.Any) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir = t.TempDir()
	t.Setenv(fakeRuntimeEnv, dir)
	// A test binary built with -race sleeps a second before it exits.
	t.Setenv("GORACE", strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	opts, err = typeurl.MarshalAnyToProto(&options.Options{BinaryName: self, Root: filepath.Join(dir, "root")})
	if err != nil {
		t.Fatal(err)
	}
	return dir, opts
}

// fakeCalls are the command lines the fake runj-go in dir ran.
func fakeCalls(t *testing.T, dir string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "calls"))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

// readFifo is what the fake runj-go writes to the fifo path: it is read
// once; waiting long fails the test.
func readFifo(t *testing.T, path string) string {
	t.Helper()
	// Reader and writer: the open does not wait for the fake.
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 4096)
	n, err := f.Read(b)
	if err != nil {
		t.Fatalf("wait for the fake runj-go: %v", err)
	}
	return string(b[:n])
}

// eventRecorder is a publisher that hands the events to the test.
type eventRecorder struct {
	events chan any
}

func (r *eventRecorder) Publish(_ context.Context, _ string, e events.Event) error {
	r.events <- e
	return nil
}

func (r *eventRecorder) Close() error { return nil }

// next is the next event published; waiting for it long fails the test.
func (r *eventRecorder) next(t *testing.T) any {
	t.Helper()
	select {
	case e := <-r.events:
		return e
	case <-time.After(10 * time.Second):
		t.Fatal("no event published within 10s")
		return nil
	}
}

// testService is a Service whose exits the test sends (there is no reaper),
// with its events recorded, and the context of its calls.
func testService(t *testing.T) (*Service, chan<- runc.Exit, *eventRecorder, context.Context) {
	t.Helper()
	ctx := namespaces.WithNamespace(context.Background(), testNamespace)
	ctx, sd := shutdown.WithShutdown(ctx)
	platform, err := newPlatform()
	if err != nil {
		t.Fatal(err)
	}
	exits := make(chan runc.Exit)
	rec := &eventRecorder{events: make(chan any, 64)}
	s := newService(ctx, rec, sd, platform, exits)
	t.Cleanup(func() {
		sd.Shutdown()
		close(exits)
		platform.Close()
	})
	return s, exits, rec, ctx
}
