//go:build linux

package integration

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/console"
	eventstypes "github.com/containerd/containerd/api/events"
	"github.com/containerd/containerd/api/types/runc/options"
	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/containerd/typeurl/v2"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// The containerd end-to-end test: a real containerd and ctr (installed by
// `make containerd-tools`, named by RUNJ_GO_CONTAINERD and RUNJ_GO_CTR),
// the shim containerd-shim-runj-go-v1 on containerd's PATH, and next to it
// runj-go with the simulated kernel.
const (
	containerdEnv = "RUNJ_GO_CONTAINERD"
	ctrEnv        = "RUNJ_GO_CTR"
	runtimeName   = "io.containerd.runj-go.v1"
	ctrNamespace  = "runjgo"
	imageName     = "docker.io/runj-go/ctrhelper:test"
)

// ctrd is one containerd of a test.
type ctrd struct {
	t       *testing.T
	dir     string
	address string
	ctrBin  string
	simDir  string
	client  *containerd.Client
}

func TestContainerd(t *testing.T) {
	containerdBin, ctrBin := os.Getenv(containerdEnv), os.Getenv(ctrEnv)
	if containerdBin == "" || ctrBin == "" {
		t.Skipf("containerd end-to-end test: set %s and %s to containerd and ctr binaries (`make test` installs them into build/tools)", containerdEnv, ctrEnv)
	}
	for _, b := range []string{containerdBin, ctrBin} {
		if _, err := os.Stat(b); err != nil {
			t.Skipf("containerd end-to-end test: %v", err)
		}
	}
	c := startContainerd(t, containerdBin, ctrBin)
	c.ctrOK("images", "import", "--local", "--snapshotter", "native", "--platform", "linux/"+runtime.GOARCH, c.imageTar())
	ctx := c.ctx()
	image, err := c.client.GetImage(ctx, imageName)
	if err != nil {
		t.Fatalf("the imported image: %v", err)
	}
	if err := image.Unpack(ctx, "native"); err != nil {
		t.Fatalf("unpack for the native snapshotter: %v", err)
	}
	events := c.subscribe()

	t.Run("run_to_completion_with_stdout", func(t *testing.T) {
		c := c.with(t)
		c.newContainer(t, image, "hello", false, "ctrhelper", "echo", "hello", "containerd")
		out, code := c.ctr("task", "start", "hello")
		if code != 0 || strings.TrimSpace(out) != "hello containerd" {
			t.Errorf("ctr task start hello: exit %d, output %q; want 0, %q", code, out, "hello containerd")
		}
		// ctr task start deletes the task once it has exited.
		events.want(t, "/tasks/delete", func(e any) bool {
			x, ok := e.(*eventstypes.TaskDelete)
			return ok && x.ContainerID == "hello" && x.ExitStatus == 0
		})
	})
	t.Run("exit_status", func(t *testing.T) {
		c := c.with(t)
		c.newContainer(t, image, "exit7", false, "ctrhelper", "exit", "7")
		if out, code := c.ctr("task", "start", "exit7"); code != 7 {
			t.Errorf("ctr task start exit7: exit %d (%s), want 7", code, out)
		}
		events.want(t, "/tasks/delete", func(e any) bool {
			x, ok := e.(*eventstypes.TaskDelete)
			return ok && x.ContainerID == "exit7" && x.ExitStatus == 7
		})
		events.want(t, "/tasks/exit", func(e any) bool {
			x, ok := e.(*eventstypes.TaskExit)
			return ok && x.ContainerID == "exit7" && x.ID == "exit7" && x.ExitStatus == 7
		})
	})
	t.Run("tty", func(t *testing.T) {
		c := c.with(t)
		c.newContainer(t, image, "tty", true, "ctrhelper", "print")
		out, code := c.ctrTTY(t, "task", "start", "tty")
		if code != 0 {
			t.Fatalf("ctr task start (tty): exit %d: %s", code, out)
		}
		i := strings.Index(out, "{")
		if i < 0 {
			t.Fatalf("tty output %q has no report", out)
		}
		if rep := parseReport(t, strings.TrimSpace(out[i:])); !rep.Tty {
			t.Errorf("process in a tty container: %+v, want a terminal", rep)
		}
	})
	t.Run("tty_resize", func(t *testing.T) {
		c := c.with(t)
		c.newContainer(t, image, "resize", true, "ctrhelper", "sleep")
		ctx := c.ctx()
		ctr, err := c.client.LoadContainer(ctx, "resize")
		if err != nil {
			t.Fatal(err)
		}
		task, err := ctr.NewTask(ctx, cio.NewCreator(cio.WithStreams(nil, io.Discard, nil), cio.WithTerminal))
		if err != nil {
			t.Fatalf("new task: %v", err)
		}
		exitC, err := task.Wait(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := task.Start(ctx); err != nil {
			t.Fatalf("start: %v", err)
		}
		if err := task.Resize(ctx, 77, 33); err != nil {
			t.Fatalf("resize: %v", err)
		}
		// The process's stdin is the pty's slave: the host sees its size.
		tty, err := os.Open(fmt.Sprintf("/proc/%d/fd/0", task.Pid()))
		if err != nil {
			t.Fatal(err)
		}
		ws, err := unix.IoctlGetWinsize(int(tty.Fd()), unix.TIOCGWINSZ)
		tty.Close()
		if err != nil || ws.Col != 77 || ws.Row != 33 {
			t.Errorf("terminal size after ResizePty = %+v (%v), want 77x33", ws, err)
		}
		if err := task.Kill(ctx, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		if st := <-exitC; st.ExitCode() != 128+uint32(syscall.SIGKILL) {
			t.Errorf("exit status %d, want %d", st.ExitCode(), 128+syscall.SIGKILL)
		}
		if _, err := task.Delete(ctx); err != nil {
			t.Errorf("delete: %v", err)
		}
	})
	t.Run("lifecycle", func(t *testing.T) {
		c := c.with(t)
		c.newContainer(t, image, "svc", false, "ctrhelper", "sleep")
		c.ctrOK("task", "start", "-d", "svc")
		c.waitTaskStatus("svc", "RUNNING")

		if out := c.ctrOK("task", "exec", "--exec-id", "e1", "svc", "ctrhelper", "echo", "exec", "ok"); strings.TrimSpace(out) != "exec ok" {
			t.Errorf("ctr task exec: %q, want %q", out, "exec ok")
		}
		if out, code := c.ctr("task", "exec", "--exec-id", "e2", "svc", "ctrhelper", "exit", "5"); code != 5 {
			t.Errorf("ctr task exec of exit 5: exit %d (%s)", code, out)
		}

		pid := c.taskPid("svc")
		ps := c.ctrOK("task", "ps", "svc")
		if !slices.Contains(strings.Fields(ps), strconv.Itoa(pid)) {
			t.Errorf("ctr task ps svc = %q, want the init pid %d", ps, pid)
		}

		metrics := c.ctrOK("task", "metrics", "svc")
		if !strings.Contains(metrics, "pids.current") {
			t.Errorf("ctr task metrics svc = %q, want cgroups v1 metrics with pids.current", metrics)
		}

		// ctr has no task update: the Go client sends what it would.
		task, err := c.taskOf("svc")
		if err != nil {
			t.Fatal(err)
		}
		limit := int64(64 << 20)
		if err := task.Update(c.ctx(), containerd.WithResources(&specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: &limit}})); err != nil {
			t.Errorf("task update: %v", err)
		}
		if rules := c.rctlRules(); !slices.Contains(rules, "jail:svc:memoryuse:deny=67108864") {
			t.Errorf("rctl rules of the jail after update: %q, want jail:svc:memoryuse:deny=67108864", rules)
		}

		c.checkCloseIO(task)

		c.ctrOK("task", "pause", "svc")
		c.waitTaskStatus("svc", "PAUSED")
		c.ctrOK("task", "resume", "svc")
		c.waitTaskStatus("svc", "RUNNING")

		if out, code := c.ctr("task", "checkpoint", "svc"); code == 0 || !strings.Contains(out, "not implemented") {
			t.Errorf("ctr task checkpoint: exit %d, %q; want not implemented", code, out)
		}

		c.ctrOK("task", "kill", "--all", "--signal", "SIGKILL", "svc")
		c.waitTaskStatus("svc", "STOPPED")
		c.ctrOK("task", "delete", "svc")
		if out := c.ctrOK("task", "ls", "-q"); strings.Contains(out, "svc") {
			t.Errorf("ctr task ls after delete: %q", out)
		}
		for _, topic := range []string{"/tasks/create", "/tasks/start", "/tasks/exec-added", "/tasks/exec-started", "/tasks/paused", "/tasks/resumed", "/tasks/delete"} {
			events.want(t, topic, func(e any) bool { return containerOf(e) == "svc" })
		}
		events.want(t, "/tasks/exit", func(e any) bool {
			x, ok := e.(*eventstypes.TaskExit)
			return ok && x.ContainerID == "svc" && x.ID == "svc" && x.ExitStatus == 128+uint32(syscall.SIGKILL)
		})
		events.want(t, "/tasks/exit", func(e any) bool {
			x, ok := e.(*eventstypes.TaskExit)
			return ok && x.ContainerID == "svc" && x.ID == "e2" && x.ExitStatus == 5
		})
	})
	t.Run("init_exit_ends_the_execs_first", func(t *testing.T) {
		c := c.with(t)
		c.newContainer(t, image, "initexit", false, "ctrhelper", "sleep")
		ctx := c.ctx()
		ctr, err := c.client.LoadContainer(ctx, "initexit")
		if err != nil {
			t.Fatal(err)
		}
		spec, err := ctr.Spec(ctx)
		if err != nil {
			t.Fatal(err)
		}
		task, err := ctr.NewTask(ctx, cio.NullIO)
		if err != nil {
			t.Fatalf("new task: %v", err)
		}
		initExit, err := task.Wait(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := task.Start(ctx); err != nil {
			t.Fatalf("start: %v", err)
		}
		ps := *spec.Process
		ps.Args = []string{"ctrhelper", "sleep"}
		sleeper, err := task.Exec(ctx, "sleeper", &ps, cio.NullIO)
		if err != nil {
			t.Fatalf("exec: %v", err)
		}
		execExit, err := sleeper.Wait(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := sleeper.Start(ctx); err != nil {
			t.Fatalf("start exec: %v", err)
		}
		// SIGTERM goes to the init alone; the shim kills the exec.
		if err := task.Kill(ctx, syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if st := <-execExit; st.ExitCode() != 128+uint32(syscall.SIGKILL) {
			t.Errorf("exec's exit status %d, want %d: killed once the init exited", st.ExitCode(), 128+syscall.SIGKILL)
		}
		if st := <-initExit; st.ExitCode() != 128+uint32(syscall.SIGTERM) {
			t.Errorf("init's exit status %d, want %d", st.ExitCode(), 128+syscall.SIGTERM)
		}
		if _, err := task.Delete(ctx); err != nil {
			t.Errorf("delete: %v", err)
		}
		events.want(t, "/tasks/delete", func(e any) bool { return containerOf(e) == "initexit" })
		// One shim publishes in order: the init's exit is the last.
		var exits []string
		for _, e := range events.all("/tasks/exit") {
			if x, ok := e.(*eventstypes.TaskExit); ok && x.ContainerID == "initexit" {
				exits = append(exits, x.ID)
			}
		}
		if want := []string{"sleeper", "initexit"}; !slices.Equal(exits, want) {
			t.Errorf("exit events of the container's processes: %q, want %q", exits, want)
		}
	})
	t.Run("crash_cleanup_uses_the_runtime_options", func(t *testing.T) {
		c := c.with(t)
		root := filepath.Join(c.dir, "options-root")
		c.newContainerWithRuntimeOptions(t, image, "crash", &options.Options{Root: root}, false, "ctrhelper", "sleep")
		c.ctrOK("task", "start", "-d", "crash")
		c.waitTaskStatus("crash", "RUNNING")
		pid := c.taskPid("crash")
		if out, code := c.runjState(root, "crash"); code != 0 {
			t.Fatalf("runj-go state under the runtime options' root: exit %d: %s", code, out)
		}
		var shims []int
		for _, p := range processesWithArg(t, "crash") {
			if slices.Contains(processesWithArg(t, c.address), p) {
				shims = append(shims, p)
			}
		}
		if len(shims) != 1 {
			t.Fatalf("shims of crash: %v, want one", shims)
		}
		// containerd cleans up after a dead shim with the shim's "delete"
		// action, which must run runj-go with the container's root.
		if err := syscall.Kill(shims[0], syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		events.want(t, "/tasks/delete", func(e any) bool {
			x, ok := e.(*eventstypes.TaskDelete)
			return ok && x.ContainerID == "crash" && x.ExitStatus == 128+uint32(syscall.SIGKILL)
		})
		if out, code := c.runjState(root, "crash"); code == 0 {
			t.Errorf("runj-go state after the cleanup of a dead shim: %s, want the container deleted", out)
		}
		waitFor(t, fmt.Sprintf("the init of crash (pid %d) to be gone", pid), func() bool { return !alive(pid) })
	})
	t.Run("failed_create_shows_runj_go_message", func(t *testing.T) {
		c := c.with(t)
		// ctr's default Linux spec mounts proc, sysfs, devpts, …: file
		// systems the (simulated) FreeBSD kernel does not have.
		out, code := c.ctr("run", "--runtime", runtimeName, "--snapshotter", "native", imageName, "badfs", "ctrhelper", "echo", "x")
		if code == 0 {
			t.Fatalf("ctr run with Linux mounts succeeded: %s", out)
		}
		// runj-go's own words, from its JSON log, through the shim.
		const want = `OCI runtime create failed: mounts[0] (proc on /proc): nmount proc on `
		if !strings.Contains(out, want) || !strings.Contains(out, `file system type "proc" is unknown to the kernel`) {
			t.Errorf("ctr run output %q: want runj-go's own message %q…", out, want)
		}
		c.ctr("container", "delete", "badfs")
	})
}

// checkCloseIO runs an exec whose stdin containerd's client has written
// and closed: the process sees its end only when CloseIO closes the
// shim's end too.
func (c *ctrd) checkCloseIO(task containerd.Task) {
	t := c.t
	t.Helper()
	ctx := c.ctx()
	ctr, err := c.client.LoadContainer(ctx, "svc")
	if err != nil {
		t.Fatal(err)
	}
	spec, err := ctr.Spec(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ps := *spec.Process
	ps.Args = []string{"ctrhelper", "hook", "/stdin.json"}
	p, err := task.Exec(ctx, "stdin", &ps, cio.NewCreator(cio.WithStreams(strings.NewReader("to stdin"), io.Discard, io.Discard)))
	if err != nil {
		t.Fatalf("exec: %v", err)
	}
	exitC, err := p.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(ctx); err != nil {
		t.Fatalf("start exec: %v", err)
	}
	select {
	case st := <-exitC:
		t.Fatalf("exec reading stdin exited (%d) before CloseIO", st.ExitCode())
	case <-time.After(300 * time.Millisecond):
	}
	if err := p.CloseIO(ctx, containerd.WithStdinCloser); err != nil {
		t.Fatalf("CloseIO: %v", err)
	}
	if st := <-exitC; st.ExitCode() != 0 {
		t.Errorf("exec after CloseIO: exit %d", st.ExitCode())
	}
	if _, err := p.Delete(ctx); err != nil {
		t.Errorf("delete exec: %v", err)
	}
	got := readFile(t, filepath.Join(c.dir, "state", "io.containerd.runtime.v2.task", ctrNamespace, "svc", "rootfs", "stdin.json"))
	if !strings.Contains(got, "to stdin") {
		t.Errorf("what the exec read from stdin: %q, want %q", got, "to stdin")
	}
}

// with is c for the subtest t.
func (c *ctrd) with(t *testing.T) *ctrd {
	d := *c
	d.t = t
	return &d
}

func containerOf(e any) string {
	switch x := e.(type) {
	case interface{ GetContainerID() string }:
		return x.GetContainerID()
	}
	return ""
}

// startContainerd runs containerd with its own root, state, socket and
// configuration in a temporary directory, the shim and runj-go on its
// PATH, and registers a cleanup that removes every container, stops
// containerd, kills every shim and unmounts what is left, also when the
// test failed.
func startContainerd(t *testing.T, containerdBin, ctrBin string) *ctrd {
	dir, err := os.MkdirTemp("", "runj-go-ctrd-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	c := &ctrd{t: t, dir: dir, address: filepath.Join(dir, "c.sock"), ctrBin: ctrBin, simDir: filepath.Join(dir, "simkernel")}
	bin := filepath.Join(dir, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "build", "-o", filepath.Join(bin, "containerd-shim-runj-go-v1"), "./cmd/containerd-shim-runj-go-v1")
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build the shim: %v\n%s", err, out)
	}
	data, err := os.ReadFile(runjBin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, "runj-go"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	config := fmt.Sprintf(`version = 3
root = %q
state = %q
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.cri.v1.images", "io.containerd.cri.v1.runtime", "io.containerd.snapshotter.v1.overlayfs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.blockfile", "io.containerd.snapshotter.v1.erofs"]
[grpc]
  address = %q
[ttrpc]
  address = %q
`, filepath.Join(dir, "root"), filepath.Join(dir, "state"), c.address, c.address+".ttrpc")
	configPath := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(configPath, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, "containerd.log"))
	if err != nil {
		t.Fatal(err)
	}
	d := exec.Command(containerdBin, "--config", configPath, "--log-level", "debug")
	d.Stdout, d.Stderr = logf, logf
	d.Env = append(cleanEnviron(),
		"PATH="+bin+":"+os.Getenv("PATH"),
		"RUNJ_GO_SIMKERNEL_DIR="+c.simDir,
		"RUNJ_GO_SHIM_ROOT="+filepath.Join(dir, "runj-go"),
	)
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { d.Wait(); logf.Close(); close(done) }()
	t.Cleanup(func() { c.cleanup(d, done) })

	waitFor(t, "containerd to answer", func() bool {
		_, code := c.ctr("version")
		return code == 0
	})
	c.client, err = containerd.New(c.address, containerd.WithDefaultNamespace(ctrNamespace))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (c *ctrd) cleanup(d *exec.Cmd, done chan struct{}) {
	for _, id := range strings.Fields(c.ctrQuiet("container", "ls", "-q")) {
		c.ctrQuiet("task", "kill", "--signal", "SIGKILL", id)
		c.ctrQuiet("task", "delete", "--force", id)
		c.ctrQuiet("container", "delete", id)
	}
	if c.client != nil {
		c.client.Close()
	}
	// containerd calls Shutdown once a container is deleted: its shim
	// exits by itself.
	if !c.t.Failed() {
		var left string
		waitFor(c.t, "every shim to exit after its container's delete", func() bool {
			left = fmt.Sprint(processesWithArg(c.t, c.address))
			return left == "[]"
		}, &left)
	}
	d.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		d.Process.Kill()
		<-done
	}
	// Shims outlive containerd by design; a test's shims name its socket.
	for _, pid := range processesWithArg(c.t, c.address) {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	for _, p := range processesUnder(c.dir) {
		syscall.Kill(p, syscall.SIGKILL)
		c.t.Errorf("cleanup: container process %d outlived its delete", p)
	}
	unmountUnder(c.dir)
	if c.t.Failed() {
		if b, err := os.ReadFile(filepath.Join(c.dir, "containerd.log")); err == nil {
			c.t.Logf("containerd log (last 8 KiB):\n%s", tail(b, 8<<10))
		}
	}
	if err := os.RemoveAll(c.dir); err != nil {
		c.t.Errorf("cleanup: %v", err)
	}
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// unmountUnder detaches every mount below dir, deepest first.
func unmountUnder(dir string) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return
	}
	var targets []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && strings.HasPrefix(f[4], dir+"/") {
			targets = append(targets, f[4])
		}
	}
	slices.SortFunc(targets, func(a, b string) int { return len(b) - len(a) })
	for _, m := range targets {
		unix.Unmount(m, unix.MNT_DETACH)
	}
}

func (c *ctrd) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	c.t.Cleanup(cancel)
	return ctx
}

// ctr runs ctr against the test's containerd and returns its standard
// output, and its standard error after it, and its exit status.
func (c *ctrd) ctr(args ...string) (string, int) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.ctrBin, append([]string{"--address", c.address, "--namespace", ctrNamespace}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if err != nil {
		code = -1
		if x, ok := err.(*exec.ExitError); ok {
			code = x.ExitCode()
		}
	}
	if code != 0 {
		return stdout.String() + stderr.String(), code
	}
	return stdout.String(), code
}

func (c *ctrd) ctrQuiet(args ...string) string {
	out, _ := c.ctr(args...)
	return out
}

func (c *ctrd) ctrOK(args ...string) string {
	c.t.Helper()
	out, code := c.ctr(args...)
	if code != 0 {
		c.t.Fatalf("ctr %s: exit %d\n%s", strings.Join(args, " "), code, out)
	}
	return out
}

// ctrTTY runs ctr with a pty as its terminal and returns what it wrote.
func (c *ctrd) ctrTTY(t *testing.T, args ...string) (string, int) {
	t.Helper()
	master, slave, err := console.NewPty()
	if err != nil {
		t.Fatal(err)
	}
	defer master.Close()
	tty, err := os.OpenFile(slave, os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.ctrBin, append([]string{"--address", c.address, "--namespace", ctrNamespace}, args...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	var buf bytes.Buffer
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); io.Copy(&buf, master) }()
	err = cmd.Run()
	tty.Close()
	// The master reads EIO once the last holder of the slave is gone.
	waitCh := make(chan struct{})
	go func() { wg.Wait(); close(waitCh) }()
	select {
	case <-waitCh:
	case <-time.After(5 * time.Second):
		master.Close()
		<-waitCh
	}
	code := 0
	if err != nil {
		code = -1
		if x, ok := err.(*exec.ExitError); ok {
			code = x.ExitCode()
		}
	}
	return buf.String(), code
}

// newContainer makes a container of image running args, with the image's
// rootfs from the native snapshotter and the runj-go runtime. Its spec
// has no mounts: ctr's Linux defaults are not file systems of FreeBSD.
func (c *ctrd) newContainer(t *testing.T, image containerd.Image, id string, tty bool, args ...string) {
	t.Helper()
	c.newContainerWithRuntimeOptions(t, image, id, nil, tty, args...)
}

// newContainerWithRuntimeOptions is newContainer with the runtime's
// options runtimeOpts.
func (c *ctrd) newContainerWithRuntimeOptions(t *testing.T, image containerd.Image, id string, runtimeOpts any, tty bool, args ...string) {
	t.Helper()
	ctx := c.ctx()
	opts := []oci.SpecOpts{oci.WithImageConfig(image), oci.WithProcessArgs(args...), noMounts}
	if tty {
		opts = append(opts, oci.WithTTY)
	}
	_, err := c.client.NewContainer(ctx, id,
		containerd.WithSnapshotter("native"),
		containerd.WithNewSnapshot(id+"-snapshot", image),
		containerd.WithRuntime(runtimeName, runtimeOpts),
		containerd.WithNewSpec(opts...),
	)
	if err != nil {
		t.Fatalf("new container %s: %v", id, err)
	}
}

func noMounts(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
	s.Mounts = nil
	return nil
}

// runjState runs `runj-go state id` with the state root the shim uses
// for the test's namespace under root.
func (c *ctrd) runjState(root, id string) (string, int) {
	c.t.Helper()
	cmd := exec.Command(runjBin, "--root", filepath.Join(root, ctrNamespace), "state", id)
	cmd.Env = append(cleanEnviron(), "RUNJ_GO_SIMKERNEL_DIR="+c.simDir)
	out, err := cmd.CombinedOutput()
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		c.t.Fatalf("runj-go state %s: %v", id, err)
	}
	return string(out), cmd.ProcessState.ExitCode()
}

func (c *ctrd) taskOf(id string) (containerd.Task, error) {
	ctr, err := c.client.LoadContainer(c.ctx(), id)
	if err != nil {
		return nil, err
	}
	return ctr.Task(c.ctx(), nil)
}

// rctlRules are the rctl rules the simulated kernel holds, for every jail.
func (c *ctrd) rctlRules() []string {
	b, err := os.ReadFile(filepath.Join(c.simDir, "jails.json"))
	if err != nil {
		c.t.Fatal(err)
	}
	var table struct {
		Rctl map[string][]string `json:"rctl"`
	}
	if err := json.Unmarshal(b, &table); err != nil {
		c.t.Fatal(err)
	}
	var out []string
	for _, rules := range table.Rctl {
		out = append(out, rules...)
	}
	return out
}

// taskStatus is the STATUS column of `ctr task ls` for id.
func (c *ctrd) taskStatus(id string) (status string, pid int) {
	for _, line := range strings.Split(c.ctrQuiet("task", "ls"), "\n") {
		f := strings.Fields(line)
		if len(f) == 3 && f[0] == id {
			pid, _ = strconv.Atoi(f[1])
			return f[2], pid
		}
	}
	return "", 0
}

func (c *ctrd) waitTaskStatus(id, want string) {
	c.t.Helper()
	var last string
	waitFor(c.t, id+" "+want, func() bool {
		last, _ = c.taskStatus(id)
		return last == want
	}, &last)
}

func (c *ctrd) taskPid(id string) int {
	_, pid := c.taskStatus(id)
	return pid
}

// eventLog collects containerd's task events.
type eventLog struct {
	mu     sync.Mutex
	events []eventOf
}

type eventOf struct {
	topic string
	event any
}

func (c *ctrd) subscribe() *eventLog {
	l := &eventLog{}
	ctx, cancel := context.WithCancel(context.Background())
	c.t.Cleanup(cancel)
	ch, errs := c.client.EventService().Subscribe(ctx, `topic~="/tasks/"`)
	go func() {
		for {
			select {
			case e := <-ch:
				if e == nil || e.Event == nil {
					continue
				}
				v, err := typeurl.UnmarshalAny(e.Event)
				if err != nil {
					continue
				}
				l.mu.Lock()
				l.events = append(l.events, eventOf{e.Topic, v})
				l.mu.Unlock()
			case <-errs:
				return
			}
		}
	}()
	return l
}

// all is every event on topic so far, in the order containerd sent them.
func (l *eventLog) all(topic string) []any {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []any
	for _, e := range l.events {
		if e.topic == topic {
			out = append(out, e.event)
		}
	}
	return out
}

// want waits for an event on topic that match accepts.
func (l *eventLog) want(t *testing.T, topic string, match func(any) bool) {
	t.Helper()
	var seen string
	waitFor(t, "event "+topic, func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		var topics []string
		for _, e := range l.events {
			topics = append(topics, e.topic)
			if e.topic == topic && match(e.event) {
				return true
			}
		}
		seen = strings.Join(topics, " ")
		return false
	}, &seen)
}

// imageTar writes an OCI image archive for `ctr images import`: one layer
// with /bin/ctrhelper and /dev/null, for linux and the host's
// architecture (containerd on Linux matches its own platform).
func (c *ctrd) imageTar() string {
	c.t.Helper()
	helper, err := os.ReadFile(helperBin)
	if err != nil {
		c.t.Fatal(err)
	}
	var layer bytes.Buffer
	tw := tar.NewWriter(&layer)
	now := time.Unix(0, 0)
	for _, h := range []*tar.Header{
		{Name: "bin/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: now},
		{Name: "dev/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: now},
		{Name: "dev/null", Typeflag: tar.TypeChar, Mode: 0o666, Devmajor: 1, Devminor: 3, ModTime: now},
		{Name: "bin/ctrhelper", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(helper)), ModTime: now},
	} {
		if err := tw.WriteHeader(h); err != nil {
			c.t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write(helper)
		}
	}
	if err := tw.Close(); err != nil {
		c.t.Fatal(err)
	}
	blobs := map[string][]byte{}
	add := func(b []byte) (string, int) {
		d := fmt.Sprintf("sha256:%x", sha256.Sum256(b))
		blobs[d] = b
		return d, len(b)
	}
	layerDigest, layerSize := add(layer.Bytes())
	arch := runtime.GOARCH
	cfg, _ := json.Marshal(map[string]any{
		"architecture": arch,
		"os":           "linux",
		"config":       map[string]any{"Env": []string{"PATH=/bin"}, "Cmd": []string{"ctrhelper", "echo", "hi"}, "WorkingDir": "/"},
		"rootfs":       map[string]any{"type": "layers", "diff_ids": []string{layerDigest}},
	})
	cfgDigest, cfgSize := add(cfg)
	manifest, _ := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.manifest.v1+json",
		"config":        map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cfgDigest, "size": cfgSize},
		"layers":        []any{map[string]any{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layerDigest, "size": layerSize}},
	})
	mDigest, mSize := add(manifest)
	index, _ := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.index.v1+json",
		"manifests": []any{map[string]any{
			"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": mDigest, "size": mSize,
			"platform":    map[string]string{"os": "linux", "architecture": arch},
			"annotations": map[string]string{"io.containerd.image.name": imageName, "org.opencontainers.image.ref.name": "test"},
		}},
	})
	path := filepath.Join(c.dir, "image.tar")
	f, err := os.Create(path)
	if err != nil {
		c.t.Fatal(err)
	}
	defer f.Close()
	out := tar.NewWriter(f)
	write := func(name string, b []byte) {
		if err := out.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(b)), ModTime: now, Typeflag: tar.TypeReg}); err != nil {
			c.t.Fatal(err)
		}
		out.Write(b)
	}
	write("oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`))
	write("index.json", index)
	for d, b := range blobs {
		write("blobs/sha256/"+strings.TrimPrefix(d, "sha256:"), b)
	}
	if err := out.Close(); err != nil {
		c.t.Fatal(err)
	}
	return path
}
