//go:build integration && freebsd

// The FreeBSD integration suite: the real runj-go binary, real jails. Each
// test builds a bundle whose root file system holds nothing but the static
// ctrhelper (bin/ctrhelper) and the dev and tmp directories, drives the
// runtime through its command line with its own --root, and checks what
// the kernel says with the calls the runtime itself uses: jail_get(2)
// (jailspec.Lookup and jailParams below) and the process table
// (procs.InJail).
//
// Run as root on FreeBSD: make integration, or
//
//	RUNJ_GO_BINARY=/path/to/runj-go go test -tags integration -count=1 -v ./integration
//
// RUNJ_GO_BINARY is required. ctrhelper is built with CGO_ENABLED=0 go
// build for every test; RUNJ_GO_CTRHELPER names a prebuilt static
// ctrhelper instead (for a test binary copied to a host without Go).
//
// Only the tests in freebsd_mount_test.go mount anything; no other test
// needs a mount. A pty is allocated by init on the host before jail_attach (oci/init.go:
// setupConsole), so the terminal tests need no devfs in the jail. The Go
// runtime reads /dev/urandom at start-up and falls back to the clock
// without it; the helper modes that need a device, those that start
// children (spawn, forkbomb, forkloop: os/exec opens /dev/null for the
// children's stdio), get a plain empty file at /dev/null in the root file
// system.

package integration

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/runj-go/runj-go/integration/internal/ctrreport"
	"github.com/runj-go/runj-go/jailspec"
	"github.com/runj-go/runj-go/oci/procs"
)

const (
	// cmdTimeout bounds every runj-go command, so that a hung command
	// fails its test rather than the whole run.
	cmdTimeout = 60 * time.Second
	// pollTimeout bounds every wait for the kernel or a container to
	// reach a state.
	pollTimeout = 20 * time.Second
	// annotationJID is the state annotation with the jail id
	// (oci.AnnotationJID).
	annotationJID = "org.freebsd.jail.jid"
	// helperInJail is where ctrhelper is inside every container.
	helperInJail = "/bin/ctrhelper"
)

// suite is one test's runtime: the binary under test and a state root of
// the test's own.
type suite struct {
	t    *testing.T
	bin  string
	dir  string
	root string
	seq  int
}

// newSuite skips the test unless it runs as root, and fails it when
// RUNJ_GO_BINARY is not set.
func newSuite(t *testing.T) *suite {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the FreeBSD integration tests create jails and must run as root (make integration)")
	}
	bin := os.Getenv("RUNJ_GO_BINARY")
	if bin == "" {
		t.Fatal("RUNJ_GO_BINARY must name the runj-go binary to test (make integration sets it)")
	}
	abs, err := filepath.Abs(bin)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(abs); err != nil {
		t.Fatalf("RUNJ_GO_BINARY: %v", err)
	}
	dir := t.TempDir()
	return &suite{t: t, bin: abs, dir: dir, root: filepath.Join(dir, "state")}
}

// result is the outcome of one runj-go command.
type result struct {
	args           []string
	code           int
	stdout, stderr string
	err            error // the command could not run or timed out
}

func (r result) String() string {
	return fmt.Sprintf("runj-go %s: exit %d (err %v)\nstdout: %s\nstderr: %s",
		strings.Join(r.args, " "), r.code, r.err, r.stdout, r.stderr)
}

// newFile creates a file in the test's directory for a command's output.
func (s *suite) newFile(name string) *os.File {
	s.t.Helper()
	s.seq++
	f, err := os.Create(filepath.Join(s.dir, fmt.Sprintf("%03d-%s", s.seq, name)))
	if err != nil {
		s.t.Fatal(err)
	}
	return f
}

// runj runs runj-go with the suite's --root. Output goes to files, never to
// pipes: a container or exec'd process inherits the runtime's stdio, and a
// pipe held by a process that outlives the command would hold up Wait.
func (s *suite) runj(args ...string) result {
	s.t.Helper()
	out, errf := s.newFile("stdout"), s.newFile("stderr")
	defer out.Close()
	defer errf.Close()
	return s.runjTo(out, errf, args...)
}

// runjTo runs runj-go with stdout and stderr going to the given files. It
// does not touch the test, so a test may run it in a goroutine (for a
// command that blocks until the test does something).
func (s *suite) runjTo(out, errf *os.File, args ...string) result {
	return s.runjWith(nil, out, errf, args...)
}

// runjWith is runjTo with stdin (none when nil).
func (s *suite) runjWith(stdin io.Reader, out, errf *os.File, args ...string) result {
	full := append([]string{"--root", s.root}, args...)
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.bin, full...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, out, errf
	r := result{args: full}
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		r.err = fmt.Errorf("timed out after %v", cmdTimeout)
		r.code = -1
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		r.err = err
		r.code = -1
	}
	stdout, err1 := os.ReadFile(out.Name())
	stderr, err2 := os.ReadFile(errf.Name())
	r.stdout, r.stderr = string(stdout), string(stderr)
	if r.err == nil {
		r.err = errors.Join(err1, err2)
	}
	return r
}

// mustRunj runs runj-go and fails the test unless it exits 0.
func (s *suite) mustRunj(args ...string) result {
	s.t.Helper()
	r := s.runj(args...)
	if r.code != 0 || r.err != nil {
		s.t.Fatalf("%v", r)
	}
	return r
}

// failsWith runs runj-go and fails the test unless it exits 1 with want
// in its error message.
func (s *suite) failsWith(want string, args ...string) result {
	s.t.Helper()
	r := s.runj(args...)
	if r.code != 1 || r.err != nil || !strings.Contains(r.stderr, want) {
		s.t.Fatalf("want exit 1 and %q on stderr, got %v", want, r)
	}
	return r
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// container is a bundle the test creates a container from.
type container struct {
	s      *suite
	id     string
	jail   string // the jail's full name: the id, or "<parent>.<id>"
	bundle string
	rootfs string
	// stdout and stderr are the files create (and run) write to, which
	// the container process inherits.
	stdout, stderr string
}

// newID returns a container id unique to this run, so that a jail left
// behind by another run cannot collide with it.
func newID(prefix string) string {
	var b [4]byte
	rand.Read(b[:])
	return fmt.Sprintf("rjg-%s-%x", prefix, b)
}

// baseSpec is a container running ctrhelper with args as root in /, with
// PATH=/bin and no mounts, hooks, terminal or hostname.
func baseSpec(args ...string) *specs.Spec {
	return &specs.Spec{
		Version: specs.Version,
		Root:    &specs.Root{Path: "rootfs"},
		Process: &specs.Process{
			Args: append([]string{helperInJail}, args...),
			Env:  []string{"PATH=/bin"},
			Cwd:  "/",
		},
	}
}

// newContainer writes a bundle for spec (baseSpec(args...) edited by edit,
// if not nil) and registers a cleanup that force-deletes the container and
// makes sure its jail is gone.
func (s *suite) newContainer(prefix string, edit func(*specs.Spec), args ...string) *container {
	s.t.Helper()
	id := newID(prefix)
	c := &container{s: s, id: id, jail: id, bundle: filepath.Join(s.dir, id)}
	c.rootfs = filepath.Join(c.bundle, "rootfs")
	c.stdout = filepath.Join(c.bundle, "ctr.stdout")
	c.stderr = filepath.Join(c.bundle, "ctr.stderr")
	makeRootfs(s.t, c.rootfs)
	spec := baseSpec(args...)
	if edit != nil {
		edit(spec)
	}
	c.writeSpec(spec)
	s.t.Cleanup(c.cleanup)
	return c
}

// makeRootfs builds a root file system: bin/ctrhelper, dev (with a plain
// file as dev/null for os/exec, see the top of this file) and tmp.
func makeRootfs(t *testing.T, rootfs string) {
	t.Helper()
	for _, d := range []struct {
		path string
		mode os.FileMode
	}{{"", 0o755}, {"bin", 0o755}, {"dev", 0o755}, {"tmp", 0o1777}} {
		p := filepath.Join(rootfs, d.path)
		if err := os.MkdirAll(p, d.mode); err != nil {
			t.Fatal(err)
		}
		// Chmod: MkdirAll applies the umask and drops the sticky bit.
		if err := os.Chmod(p, d.mode); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(rootfs, "dev", "null"), nil, 0o666); err != nil {
		t.Fatal(err)
	}
	installHelper(t, filepath.Join(rootfs, "bin", "ctrhelper"))
}

// installHelper builds the static ctrhelper into dst, or copies the one
// RUNJ_GO_CTRHELPER names.
func installHelper(t *testing.T, dst string) {
	t.Helper()
	if src := os.Getenv("RUNJ_GO_CTRHELPER"); src != "" {
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatalf("RUNJ_GO_CTRHELPER: %v", err)
		}
		if err := os.WriteFile(dst, data, 0o755); err != nil {
			t.Fatal(err)
		}
		return
	}
	// go test puts its own GOROOT/bin first in the test's PATH.
	cmd := exec.Command("go", "build", "-trimpath", "-o", dst, "./ctrhelper")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build ctrhelper (run from the integration directory, or set RUNJ_GO_CTRHELPER to a static ctrhelper): %v\n%s", err, out)
	}
	if err := os.Chmod(dst, 0o755); err != nil {
		t.Fatal(err)
	}
}

func (c *container) writeSpec(spec *specs.Spec) {
	c.s.t.Helper()
	data, err := json.MarshalIndent(spec, "", "\t")
	if err != nil {
		c.s.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(c.bundle, "config.json"), data, 0o644); err != nil {
		c.s.t.Fatal(err)
	}
}

// hostPath is the host path of a path inside the container.
func (c *container) hostPath(p string) string { return filepath.Join(c.rootfs, p) }

// cleanup force-deletes the container and fails the test if its jail
// survives; it then removes the jail itself, so that no test leaves a jail
// behind on the host.
func (c *container) cleanup() {
	t := c.s.t
	if r := c.s.runj("delete", "--force", c.id); r.code != 0 || r.err != nil {
		t.Errorf("cleanup: %v", r)
	}
	for _, m := range mountsUnder(t, c.rootfs) {
		t.Errorf("cleanup: %s is still mounted after delete --force; unmounting it", m)
		if err := unix.Unmount(m, unix.MNT_FORCE); err != nil {
			t.Errorf("cleanup: unmount %s: %v", m, err)
		}
	}
	jid, err := jailspec.Lookup(c.jail)
	if errors.Is(err, jailspec.ErrNotFound) {
		return
	}
	if err != nil {
		t.Errorf("cleanup: look up jail %s: %v", c.jail, err)
		return
	}
	t.Errorf("cleanup: jail %s (jid %d) survived delete --force; removing it", c.jail, jid)
	if err := jailspec.Remove(jid); err != nil {
		t.Errorf("cleanup: jail_remove %d: %v", jid, err)
	}
}

// mountsUnder lists the mount points at or under dir, deepest first, from
// getfsstat(2). The test directory is removed after the test: a file
// system left mounted there (a devfs above all) must be unmounted first.
func mountsUnder(t *testing.T, dir string) []string {
	t.Helper()
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return nil // never created, or already removed
	}
	n, err := unix.Getfsstat(nil, unix.MNT_NOWAIT)
	if err != nil {
		t.Fatalf("getfsstat: %v", err)
	}
	buf := make([]unix.Statfs_t, n+16) // room for mounts made meanwhile
	n, err = unix.Getfsstat(buf, unix.MNT_NOWAIT)
	if err != nil {
		t.Fatalf("getfsstat: %v", err)
	}
	var out []string
	for _, st := range buf[:n] {
		on := unix.ByteSliceToString(st.Mntonname[:])
		if on == real || strings.HasPrefix(on, real+"/") {
			out = append(out, on)
		}
	}
	slices.SortFunc(out, func(a, b string) int { return len(b) - len(a) })
	return out
}

// create runs create for the container with its stdout and stderr files
// as create's (and so the container process's) stdio.
func (c *container) create(flags ...string) result {
	c.s.t.Helper()
	out, errf := openAppend(c.s.t, c.stdout), openAppend(c.s.t, c.stderr)
	defer out.Close()
	defer errf.Close()
	args := append(append([]string{"create", "--bundle", c.bundle}, flags...), c.id)
	return c.s.runjTo(out, errf, args...)
}

// mustCreate creates the container and returns its state, which must be
// "created".
func (c *container) mustCreate(flags ...string) specs.State {
	c.s.t.Helper()
	if r := c.create(flags...); r.code != 0 || r.err != nil {
		c.s.t.Fatalf("%v\ncontainer stderr: %s", r, readFile(c.s.t, c.stderr))
	}
	st := c.state()
	if st.Status != specs.StateCreated {
		c.s.t.Fatalf("after create: status %q, want created", st.Status)
	}
	return st
}

func (c *container) mustStart() {
	c.s.t.Helper()
	c.s.mustRunj("start", c.id)
}

func openAppend(t *testing.T, name string) *os.File {
	t.Helper()
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// state runs `runj-go state`.
func (c *container) state() specs.State {
	c.s.t.Helper()
	r := c.s.mustRunj("state", c.id)
	var st specs.State
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		c.s.t.Fatalf("state %s: %v\n%s", c.id, err, r.stdout)
	}
	if st.ID != c.id {
		c.s.t.Fatalf("state %s: id %q", c.id, st.ID)
	}
	return st
}

// stateJID is the jail id from a state's annotation.
func stateJID(t *testing.T, st specs.State) int {
	t.Helper()
	v, ok := st.Annotations[annotationJID]
	if !ok {
		t.Fatalf("state of %s has no %s annotation: %+v", st.ID, annotationJID, st.Annotations)
	}
	jid, err := strconv.Atoi(v)
	if err != nil || jid <= 0 {
		t.Fatalf("state of %s: %s = %q is not a jail id", st.ID, annotationJID, v)
	}
	return jid
}

// waitStatus polls the state until the status is want.
func (c *container) waitStatus(want specs.ContainerState) specs.State {
	c.s.t.Helper()
	var st specs.State
	eventually(c.s.t, fmt.Sprintf("container %s to be %s", c.id, want), func() (bool, string) {
		st = c.state()
		return st.Status == want, string(st.Status)
	})
	return st
}

// output is what the container process wrote to its stdout so far.
func (c *container) output() string {
	c.s.t.Helper()
	return readFile(c.s.t, c.stdout)
}

// checkGone checks that delete undid everything: no state, no jail.
func (c *container) checkGone() {
	c.s.t.Helper()
	if _, err := os.Stat(filepath.Join(c.s.root, c.id)); !errors.Is(err, os.ErrNotExist) {
		c.s.t.Errorf("state directory of %s still there after delete (%v)", c.id, err)
	}
	c.s.failsWith("container does not exist", "state", c.id)
	checkNoJail(c.s.t, c.jail)
}

// checkNoJail checks that the kernel has no live jail named name.
func checkNoJail(t *testing.T, name string) {
	t.Helper()
	if jid, err := jailspec.Lookup(name); !errors.Is(err, jailspec.ErrNotFound) {
		t.Errorf("jail %s: want not found, got jid %d, error %v", name, jid, err)
	}
}

// lookupJail returns the jid of the live jail name, failing the test if
// there is none.
func lookupJail(t *testing.T, name string) int {
	t.Helper()
	jid, err := jailspec.Lookup(name)
	if err != nil {
		t.Fatalf("jail %s: %v", name, err)
	}
	return jid
}

// eventually polls cond until it holds or pollTimeout passes. cond returns
// whether it holds and what it saw, for the failure message.
func eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(pollTimeout)
	for {
		ok, saw := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s; last saw: %s", pollTimeout, what, saw)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// liveInJail lists the processes of jail jid that have not exited.
func liveInJail(t *testing.T, jid int) []procs.Info {
	t.Helper()
	ps, err := procs.InJail(jid)
	if err != nil {
		t.Fatalf("processes of jail %d: %v", jid, err)
	}
	return slices.DeleteFunc(ps, procs.Info.Exited)
}

func pids(ps []procs.Info) []int {
	out := make([]int, len(ps))
	for i, p := range ps {
		out[i] = p.Pid
	}
	return out
}

// waitJailEmpty polls until jail jid has no live process.
func waitJailEmpty(t *testing.T, jid int) {
	t.Helper()
	eventually(t, fmt.Sprintf("jail %d to have no live process", jid), func() (bool, string) {
		ps := liveInJail(t, jid)
		return len(ps) == 0, fmt.Sprint(pids(ps))
	})
}

// report is what `ctrhelper print` prints.
type report = ctrreport.Report

// parseReport decodes the one report in out. A pty turns "\n" into "\r\n",
// which JSON reads as white space.
func parseReport(t *testing.T, out string) report {
	t.Helper()
	var r report
	dec := json.NewDecoder(strings.NewReader(out))
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("ctrhelper print output: %v\n%q", err, out)
	}
	if rest, _ := io.ReadAll(dec.Buffered()); strings.TrimSpace(string(rest)) != "" {
		t.Fatalf("ctrhelper print output: more than one report: %q", out)
	}
	return r
}

// jailParam is a parameter to read back with jail_get(2) and the size of
// the buffer the kernel writes it into.
type jailParam struct {
	name string
	kind jailspec.Kind
	size int
}

// The kernel writes ints and booleans as C ints (vfs_setopt), strings with
// strlcpy into the buffer (vfs_setopts; a path is up to MAXPATHLEN, 1024),
// and address lists into a buffer at least as large as the list
// (vfs_setopt_part). sys/kern/kern_jail.c: kern_jail_get.
func intParam(name string) jailParam    { return jailParam{name, jailspec.Int, 4} }
func boolParam(name string) jailParam   { return jailParam{name, jailspec.Bool, 4} }
func sysParam(name string) jailParam    { return jailParam{name, jailspec.Sys, 4} }
func stringParam(name string) jailParam { return jailParam{name, jailspec.String, 1024} }
func ip4Param(name string, n int) jailParam {
	return jailParam{name, jailspec.IP4, 4 * max(n, 1)}
}
func ip6Param(name string, n int) jailParam {
	return jailParam{name, jailspec.IP6, 16 * max(n, 1)}
}

// jailParams reads parameters of the live jail name back from the kernel
// with jail_get(2), keyed by name as jailspec.LookupRequest does, and
// decodes them with jailspec.Decode. kern_jail_get writes each value's
// length back into its iovec (sys_jail_get copies the iovecs out), which
// is how an address list shorter than its buffer is read.
func jailParams(t *testing.T, name string, want ...jailParam) jailspec.Params {
	t.Helper()
	req := jailspec.Request{cstr("name"), cstr(name)}
	kinds := map[string]jailspec.Kind{"name": jailspec.String}
	for _, p := range want {
		req = append(req, cstr(p.name), make([]byte, p.size))
		kinds[p.name] = p.kind
	}
	req = append(req, cstr("errmsg"), make([]byte, 1024))
	iov := make([]unix.Iovec, len(req))
	for i, b := range req {
		iov[i].Base = &b[0]
		iov[i].SetLen(len(b))
	}
	_, _, errno := unix.Syscall(unix.SYS_JAIL_GET, uintptr(unsafe.Pointer(&iov[0])), uintptr(len(iov)), 0)
	runtime.KeepAlive(iov)
	runtime.KeepAlive(req)
	if errno != 0 {
		t.Fatalf("jail_get %s: %s: %v", name, req.Errmsg(), errno)
	}
	for i := 1; i < len(req); i += 2 {
		if n := int(iov[i].Len); n <= len(req[i]) {
			req[i] = req[i][:n]
		}
	}
	ps, err := jailspec.Decode(req, kinds)
	if err != nil {
		t.Fatalf("jail_get %s: decode: %v", name, err)
	}
	return ps
}

// jailParamValue reads one parameter of jail name, as Param.Value gives it.
func jailParamValue(t *testing.T, name string, p jailParam) any {
	t.Helper()
	got, ok := jailParams(t, name, p).Get(p.name)
	if !ok {
		t.Fatalf("jail_get %s: no %s in the answer", name, p.name)
	}
	return got.Value()
}

func cstr(s string) []byte { return append([]byte(s), 0) }

// consoleSocket is a unix socket that receives a pty master the way
// go-runc's console socket does: one message whose data is the pty's name
// and whose SCM_RIGHTS carries the descriptor.
type consoleSocket struct {
	path string
	ln   *net.UnixListener
}

// newConsoleSocket listens in a directory of its own under the system's
// temporary directory: sun_path holds only 104 bytes on FreeBSD
// (sys/sys/un.h), too few for a test's TempDir.
func newConsoleSocket(t *testing.T) *consoleSocket {
	t.Helper()
	dir, err := os.MkdirTemp("", "rjg")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "console.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return &consoleSocket{path: path, ln: ln}
}

// received is the pty master a console socket got, or why it got none.
type received struct {
	master *os.File
	err    error
}

// receive accepts one connection in the background and takes the pty
// master from it. Start it before the runtime command that sends.
func (c *consoleSocket) receive() <-chan received {
	ch := make(chan received, 1)
	go func() {
		f, err := c.accept()
		ch <- received{f, err}
	}()
	return ch
}

func (c *consoleSocket) accept() (*os.File, error) {
	if err := c.ln.SetDeadline(time.Now().Add(cmdTimeout)); err != nil {
		return nil, err
	}
	conn, err := c.ln.AcceptUnix()
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(cmdTimeout)); err != nil {
		return nil, err
	}
	name := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(4))
	n, oobn, _, _, err := conn.ReadMsgUnix(name, oob)
	if err != nil {
		return nil, err
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return nil, fmt.Errorf("console socket: want one control message, got %d (%v)", len(msgs), err)
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		return nil, fmt.Errorf("console socket: want one descriptor, got %d (%v)", len(fds), err)
	}
	unix.CloseOnExec(fds[0])
	if !strings.HasPrefix(string(name[:n]), "/dev/pts/") {
		unix.Close(fds[0])
		return nil, fmt.Errorf("console socket: pty name %q is not /dev/pts/N", name[:n])
	}
	return os.NewFile(uintptr(fds[0]), string(name[:n])), nil
}

// waitMaster waits for the pty master a receive started for.
func waitMaster(t *testing.T, ch <-chan received) *os.File {
	t.Helper()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatalf("console socket: %v", r.err)
		}
		t.Cleanup(func() { r.master.Close() })
		return r.master
	case <-time.After(cmdTimeout):
		t.Fatal("console socket: no pty master arrived")
		return nil
	}
}

// readMaster reads a pty master in the background until the slave side
// is closed by its last holder: FreeBSD's pts master then reads 0 bytes
// (sys/kern/tty_pts.c: PTS_FINISHED); EIO is taken as the end too.
func readMaster(master *os.File) <-chan string {
	ch := make(chan string, 1)
	go func() {
		var out []byte
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			out = append(out, buf[:n]...)
			if err != nil {
				break
			}
		}
		ch <- string(out)
	}()
	return ch
}

// waitOutput waits for what readMaster read.
func waitOutput(t *testing.T, ch <-chan string) string {
	t.Helper()
	select {
	case s := <-ch:
		return s
	case <-time.After(pollTimeout):
		t.Fatal("the pty's slave side was not closed: the process is still running or a descriptor leaked")
		return ""
	}
}

// alive reports whether the process pid with start time start is live.
func alive(t *testing.T, p procs.Info) bool {
	t.Helper()
	ok, err := procs.Alive(p.Pid, p.Start)
	if err != nil {
		t.Fatalf("process %d: %v", p.Pid, err)
	}
	return ok
}

// waitDead polls until none of ps is alive.
func waitDead(t *testing.T, ps []procs.Info) {
	t.Helper()
	eventually(t, fmt.Sprintf("processes %v to be gone", pids(ps)), func() (bool, string) {
		var left []int
		for _, p := range ps {
			if alive(t, p) {
				left = append(left, p.Pid)
			}
		}
		return len(left) == 0, fmt.Sprint(left)
	})
}

// hostname is the host's own hostname.
func hostname(t *testing.T) string {
	t.Helper()
	h, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	return h
}
