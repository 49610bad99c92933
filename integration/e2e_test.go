//go:build linux

// The Linux end-to-end suite: the real runj-go binary, built with the
// simulated kernel (-tags simkernel), driven through its command line.
// Containers are real processes chrooted into their bundle's rootfs; the
// tests assert on what the commands print and on the kernel operations the
// simulated kernel records in ops.jsonl.
//
// Run as root (chroot needs it): go test -race -count=1 ./integration
// RUNJ_GO_SIM_BINARY names a prebuilt simkernel runj-go to test instead of
// building one.

package integration

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/runj-go/runj-go/integration/internal/ctrreport"
	"github.com/runj-go/runj-go/oci/procs"
	"github.com/runj-go/runj-go/rootfs"
)

// Paths of the binaries under test, set by TestMain.
var (
	runjBin   string
	helperBin string
)

// commandTimeout bounds every runj-go command: a hung command fails its
// test instead of the whole suite.
const commandTimeout = 30 * time.Second

// pollTimeout bounds every wait for a condition.
const pollTimeout = 10 * time.Second

func TestMain(m *testing.M) {
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "integration: the Linux end-to-end tests chroot container processes and must run as root; skipping")
		os.Exit(0)
	}
	dir, err := os.MkdirTemp("", "runj-go-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := 1
	if err := buildBinaries(dir); err != nil {
		fmt.Fprintln(os.Stderr, "integration:", err)
	} else {
		code = m.Run()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// buildBinaries builds runj-go with the simulated kernel (unless
// RUNJ_GO_SIM_BINARY names one) and the static ctrhelper into dir.
func buildBinaries(dir string) error {
	build := func(out string, env []string, args ...string) error {
		cmd := exec.Command("go", append([]string{"build", "-o", out}, args...)...)
		cmd.Dir = ".." // the module root
		cmd.Env = append(os.Environ(), env...)
		if b, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build %s: %v\n%s", strings.Join(args, " "), err, b)
		}
		return nil
	}
	runjBin = os.Getenv("RUNJ_GO_SIM_BINARY")
	if runjBin == "" {
		runjBin = filepath.Join(dir, "runj-go")
		if err := build(runjBin, nil, "-tags", "simkernel", "./cmd/runj-go"); err != nil {
			return err
		}
	} else if abs, err := filepath.Abs(runjBin); err == nil {
		runjBin = abs
	}
	helperBin = filepath.Join(dir, "ctrhelper")
	return build(helperBin, []string{"CGO_ENABLED=0"}, "./integration/ctrhelper")
}

// env is one test's world: its own state root and simulated kernel.
type env struct {
	t      *testing.T
	dir    string
	root   string
	simDir string
	// extra is added to the environment of every command.
	extra []string
}

// newEnv makes a fresh state root and simulated kernel for t and registers
// a cleanup that force-deletes every container left and fails the test if
// a container process outlives that.
func newEnv(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	e := &env{t: t, dir: dir, root: filepath.Join(dir, "root"), simDir: filepath.Join(dir, "simkernel")}
	t.Cleanup(e.cleanup)
	return e
}

func (e *env) cleanup() {
	ids := e.listIDs()
	for _, id := range ids {
		if r := e.runj("delete", "--force", id); r.code != 0 {
			e.t.Errorf("cleanup: delete --force %s: %s", id, r)
		}
	}
	for _, p := range processesUnder(e.dir) {
		syscall.Kill(p, syscall.SIGKILL)
		e.t.Errorf("cleanup: process %d still runs in a container of this test after delete --force", p)
	}
}

func (e *env) listIDs() []string {
	entries, err := os.ReadDir(e.root)
	if err != nil {
		return nil
	}
	var ids []string
	for _, d := range entries {
		if d.IsDir() && !strings.HasPrefix(d.Name(), ".") {
			ids = append(ids, d.Name())
		}
	}
	return ids
}

// processesUnder returns the live processes whose root directory is dir
// or below it: container processes chrooted into a bundle of the test.
func processesUnder(dir string) []int {
	ps, err := procs.All()
	if err != nil {
		return nil
	}
	var out []int
	for _, p := range ps {
		if p.Exited() {
			continue
		}
		root, err := os.Readlink("/proc/" + strconv.Itoa(p.Pid) + "/root")
		if err == nil && (root == dir || strings.HasPrefix(root, dir+"/")) {
			out = append(out, p.Pid)
		}
	}
	return out
}

// result is what one runj-go command did.
type result struct {
	args   []string
	stdout string
	stderr string
	code   int
	// outPath is the file that was the command's stdout; a container
	// created by the command keeps writing to it.
	outPath string
}

func (r result) String() string {
	return fmt.Sprintf("runj-go %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(r.args, " "), r.code, r.stdout, r.stderr)
}

// cmdOpts are the less common settings of a command.
type cmdOpts struct {
	// files are passed as descriptors 3, 4, ... (--preserve-fds).
	files []*os.File
	// stdin, if not nil, is the command's standard input.
	stdin io.Reader
}

// command prepares runj-go with the test's root and kernel. Its stdout
// and stderr are files, never pipes: a container inherits them and may
// outlive the command.
func (e *env) command(o cmdOpts, args ...string) (*exec.Cmd, *os.File, *os.File) {
	e.t.Helper()
	out, err := os.CreateTemp(e.dir, "stdout-")
	if err != nil {
		e.t.Fatal(err)
	}
	errf, err := os.CreateTemp(e.dir, "stderr-")
	if err != nil {
		e.t.Fatal(err)
	}
	cmd := exec.Command(runjBin, append([]string{"--root", e.root}, args...)...)
	cmd.Env = append(cleanEnviron(), "RUNJ_GO_SIMKERNEL_DIR="+e.simDir)
	cmd.Env = append(cmd.Env, e.extra...)
	cmd.Stdout, cmd.Stderr = out, errf
	cmd.ExtraFiles = o.files
	cmd.Stdin = o.stdin
	return cmd, out, errf
}

// cleanEnviron is the test's environment without the simulated kernel's
// variables, which each command sets for itself.
func cleanEnviron() []string {
	return slices.DeleteFunc(os.Environ(), func(v string) bool {
		return strings.HasPrefix(v, "RUNJ_GO_SIMKERNEL_")
	})
}

// runj runs runj-go and waits for it.
func (e *env) runj(args ...string) result {
	e.t.Helper()
	return e.runjWith(cmdOpts{}, args...)
}

func (e *env) runjWith(o cmdOpts, args ...string) result {
	e.t.Helper()
	cmd, out, errf := e.command(o, args...)
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	return e.wait(cmd, out, errf, args)
}

// wait waits for a started command, killing it after commandTimeout. It
// reports failures with Errorf, not Fatal: tests run commands from
// several goroutines.
func (e *env) wait(cmd *exec.Cmd, out, errf *os.File, args []string) result {
	e.t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(commandTimeout):
		cmd.Process.Kill()
		<-done
		e.t.Errorf("runj-go %s: killed, still running after %v", strings.Join(args, " "), commandTimeout)
	}
	out.Close()
	errf.Close()
	r := result{args: args, code: cmd.ProcessState.ExitCode(), outPath: out.Name()}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		e.t.Errorf("runj-go %s: %v", strings.Join(args, " "), err)
	}
	for _, f := range []struct {
		dst  *string
		name string
	}{{&r.stdout, out.Name()}, {&r.stderr, errf.Name()}} {
		b, err := os.ReadFile(f.name)
		if err != nil {
			e.t.Error(err)
		}
		*f.dst = string(b)
	}
	return r
}

// mustRunj runs runj-go and fails the test unless it exits 0.
func (e *env) mustRunj(args ...string) result {
	e.t.Helper()
	r := e.runj(args...)
	if r.code != 0 {
		e.t.Fatalf("%s", r)
	}
	return r
}

// fails runs runj-go and checks that it exits 1 with want in its error.
func (e *env) fails(want string, args ...string) result {
	e.t.Helper()
	r := e.runj(args...)
	checkFails(e.t, r, want)
	return r
}

func checkFails(t *testing.T, r result, want string) {
	t.Helper()
	if r.code != 1 {
		t.Errorf("%s\nwant exit status 1", r)
	}
	if !strings.Contains(r.stderr, want) {
		t.Errorf("%s\nwant %q in stderr", r, want)
	}
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// bundle makes a bundle whose rootfs holds /bin/ctrhelper, /dev/null and
// a /work directory, with a config.json running ctrhelper with args as root in /.
// edit, if not nil, changes the spec before it is written.
func (e *env) bundle(edit func(*specs.Spec), args ...string) string {
	e.t.Helper()
	dir, err := os.MkdirTemp(e.dir, "bundle-")
	if err != nil {
		e.t.Fatal(err)
	}
	rootfs := filepath.Join(dir, "rootfs")
	for _, d := range []string{"bin", "dev", "work"} {
		if err := os.MkdirAll(filepath.Join(rootfs, d), 0o755); err != nil {
			e.t.Fatal(err)
		}
	}
	// os/exec opens /dev/null for the children of `ctrhelper spawn`; create
	// mounts no devfs, so the test makes the one device it needs.
	if err := unix.Mknod(filepath.Join(rootfs, "dev", "null"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))); err != nil {
		e.t.Fatal(err)
	}
	installHelper(e.t, filepath.Join(rootfs, "bin", "ctrhelper"))
	spec := &specs.Spec{
		Version: "1.3.0",
		Root:    &specs.Root{Path: "rootfs"},
		Process: &specs.Process{
			Args: append([]string{"ctrhelper"}, args...),
			Env:  []string{"PATH=/bin"},
			Cwd:  "/",
		},
	}
	if edit != nil {
		edit(spec)
	}
	writeSpec(e.t, dir, spec)
	return dir
}

// installHelper puts ctrhelper at dst: a hard link when it can, a copy
// when the bundle is on another file system.
func installHelper(t *testing.T, dst string) {
	t.Helper()
	if os.Link(helperBin, dst) == nil {
		return
	}
	data, err := os.ReadFile(helperBin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, data, 0o755); err != nil {
		t.Fatal(err)
	}
}

func writeSpec(t *testing.T, bundle string, spec *specs.Spec) {
	t.Helper()
	data, err := json.MarshalIndent(spec, "", "\t")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bundle, "config.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// ociState is the output of `runj-go state`.
type ociState struct {
	OCIVersion  string            `json:"ociVersion"`
	ID          string            `json:"id"`
	Status      string            `json:"status"`
	Pid         int               `json:"pid"`
	Bundle      string            `json:"bundle"`
	Rootfs      string            `json:"rootfs"`
	Created     string            `json:"created"`
	Annotations map[string]string `json:"annotations"`
}

func (e *env) state(id string) ociState {
	e.t.Helper()
	r := e.mustRunj("state", id)
	var s ociState
	if err := json.Unmarshal([]byte(r.stdout), &s); err != nil {
		e.t.Fatalf("state %s: %v\n%s", id, err, r.stdout)
	}
	return s
}

// waitStatus polls state until the container exists and has status want.
func (e *env) waitStatus(id, want string) ociState {
	e.t.Helper()
	var s ociState
	last := "no state yet"
	waitFor(e.t, "container "+id+" "+want, func() bool {
		r := e.runj("state", id)
		if r.code != 0 {
			last = r.String()
			return false
		}
		s = ociState{}
		if err := json.Unmarshal([]byte(r.stdout), &s); err != nil {
			e.t.Fatalf("state %s: %v\n%s", id, err, r.stdout)
		}
		last = r.stdout
		return s.Status == want
	}, &last)
	return s
}

// checkGone checks that container id no longer exists: state says so and
// its directory is gone from the root.
func (e *env) checkGone(id string) {
	e.t.Helper()
	e.fails("container does not exist", "state", id)
	if _, err := os.Stat(filepath.Join(e.root, id)); !errors.Is(err, os.ErrNotExist) {
		e.t.Errorf("state directory of %s: %v, want it gone", id, err)
	}
}

// create creates container id from bundle and registers nothing else:
// newEnv's cleanup deletes what is left.
func (e *env) create(id, bundle string, args ...string) result {
	e.t.Helper()
	return e.mustRunj(append([]string{"create", "--bundle", bundle}, append(args, id)...)...)
}

// waitFor polls cond until it holds, failing the test after pollTimeout.
// last, if given, is what the test last saw, for the failure message.
func waitFor(t *testing.T, what string, cond func() bool, last ...*string) {
	t.Helper()
	deadline := time.Now().Add(pollTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			msg := fmt.Sprintf("timed out after %v waiting for %s", pollTimeout, what)
			for _, l := range last {
				msg += "\nlast seen: " + *l
			}
			t.Fatal(msg)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitOutput waits until the file at path holds a complete line and
// returns its content.
func waitOutput(t *testing.T, path string) string {
	t.Helper()
	var out string
	waitFor(t, "output in "+path, func() bool {
		out = readFile(t, path)
		return strings.HasSuffix(out, "\n")
	})
	return out
}

// report is what `ctrhelper print` prints.
type report = ctrreport.Report

func parseReport(t *testing.T, out string) report {
	t.Helper()
	var r report
	line := strings.TrimSpace(strings.ReplaceAll(out, "\r", ""))
	if err := json.Unmarshal([]byte(line), &r); err != nil {
		t.Fatalf("ctrhelper print output: %v\n%q", err, out)
	}
	return r
}

// kernelOp is one line of the simulated kernel's ops.jsonl.
type kernelOp struct {
	Op     string          `json:"op"`
	Jid    int             `json:"jid"`
	Name   string          `json:"name"`
	Params json.RawMessage `json:"params"`
	Argv   []string        `json:"argv"`
	Error  string          `json:"error"`
}

func (o kernelOp) String() string {
	s := o.Op
	if o.Name != "" {
		s += " " + o.Name
	}
	if o.Jid != 0 {
		s += " jid=" + strconv.Itoa(o.Jid)
	}
	if o.Error != "" {
		s += " (error)"
	}
	return s
}

// ops returns the kernel operations recorded so far.
func (e *env) ops() []kernelOp {
	e.t.Helper()
	data, err := os.ReadFile(filepath.Join(e.simDir, "ops.jsonl"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		e.t.Fatal(err)
	}
	var out []kernelOp
	dec := json.NewDecoder(bytes.NewReader(data))
	for {
		var op kernelOp
		err := dec.Decode(&op)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			e.t.Fatalf("ops.jsonl: %v\n%s", err, data)
		}
		out = append(out, op)
	}
}

// opNames is the sequence of operation names, "!" appended to failed ones.
func opNames(ops []kernelOp) []string {
	names := make([]string, len(ops))
	for i, o := range ops {
		names[i] = o.Op
		if o.Error != "" {
			names[i] += "!"
		}
	}
	return names
}

// The kernel operations of a create that gets as far as init, and of the
// delete of its container: create checks that the jail name is free
// (jail_get fails), creates the jail and attaches init to it; delete finds
// the jail by name and removes it.
var (
	createOps = []string{"jail_get!", "jail_set", "jail_attach"}
	deleteOps = []string{"jail_get", "jail_remove"}
)

// checkOps checks that the recorded operations, from index from on, are
// exactly want (names as opNames gives them), and returns them.
func (e *env) checkOps(from int, want ...string) []kernelOp {
	e.t.Helper()
	ops := e.ops()
	if from > len(ops) {
		e.t.Fatalf("kernel ops: %d recorded, want more than %d", len(ops), from)
	}
	ops = ops[from:]
	if got := opNames(ops); !slices.Equal(got, want) {
		e.t.Errorf("kernel ops = %v, want %v\nops: %v", got, want, ops)
	}
	return ops
}

// liveJails returns the names of the jails the simulated kernel has.
func (e *env) liveJails() []string {
	e.t.Helper()
	data, err := os.ReadFile(filepath.Join(e.simDir, "jails.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		e.t.Fatal(err)
	}
	var table struct {
		Jails map[string]struct {
			Name string `json:"name"`
		} `json:"jails"`
	}
	if err := json.Unmarshal(data, &table); err != nil {
		e.t.Fatalf("jails.json: %v", err)
	}
	var names []string
	for _, j := range table.Jails {
		names = append(names, j.Name)
	}
	slices.Sort(names)
	return names
}

func (e *env) checkNoJails() {
	e.t.Helper()
	if j := e.liveJails(); len(j) != 0 {
		e.t.Errorf("jails left in the kernel: %v", j)
	}
}

// jsonParams decodes a JSON object keeping the order of its keys.
func jsonParams(t *testing.T, raw json.RawMessage) []param {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("params %s: not an object", raw)
	}
	var out []param
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatalf("params %s: %v", raw, err)
		}
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("params %s: %v", raw, err)
		}
		out = append(out, param{tok.(string), v})
	}
	return out
}

type param struct {
	Name  string
	Value any
}

func paramValue(ps []param, name string) (any, bool) {
	for _, p := range ps {
		if p.Name == name {
			return p.Value, true
		}
	}
	return nil, false
}

// alive reports whether pid is a live process (not a zombie).
func alive(pid int) bool {
	info, err := procs.Get(pid)
	return err == nil && !info.Exited()
}

// sessionMembers returns the live processes of session sid.
func sessionMembers(t *testing.T, sid int) []int {
	t.Helper()
	ps, err := procs.InSessions(sid)
	if err != nil {
		t.Fatal(err)
	}
	var out []int
	for _, p := range ps {
		if !p.Exited() {
			out = append(out, p.Pid)
		}
	}
	return out
}

// background starts a long-running runj-go command (run, exec in the
// foreground) and returns a function that waits for it.
func (e *env) background(o cmdOpts, args ...string) (*exec.Cmd, func() result) {
	e.t.Helper()
	cmd, out, errf := e.command(o, args...)
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	waited := false
	wait := func() result {
		e.t.Helper()
		waited = true
		return e.wait(cmd, out, errf, args)
	}
	e.t.Cleanup(func() {
		if !waited {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return cmd, wait
}

// simOp is one line of ops.jsonl with every field the simulated kernel
// writes, for exact comparisons: a zero field is one the line lacks.
type simOp struct {
	Op         string            `json:"op"`
	Jid        int               `json:"jid,omitempty"`
	Name       string            `json:"name,omitempty"`
	Params     json.RawMessage   `json:"params,omitempty"`
	Argv       []string          `json:"argv,omitempty"`
	FSType     string            `json:"fstype,omitempty"`
	Target     string            `json:"target,omitempty"`
	Flags      int               `json:"flags,omitempty"`
	Iov        [][2]string       `json:"iov,omitempty"`
	Mountpoint string            `json:"mountpoint,omitempty"`
	Ruleset    uint16            `json:"ruleset,omitempty"`
	Rule       *rootfs.DevfsRule `json:"rule,omitempty"`
	MTU        int               `json:"mtu,omitempty"`
	Error      string            `json:"error,omitempty"`
}

// rawOps returns the lines of ops.jsonl from index from on.
func (e *env) rawOps(from int) []string {
	e.t.Helper()
	data, err := os.ReadFile(filepath.Join(e.simDir, "ops.jsonl"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		e.t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(data) == 0 {
		lines = nil
	}
	if from > len(lines) {
		e.t.Fatalf("kernel ops: %d recorded, want more than %d", len(lines), from)
	}
	return lines[from:]
}

// checkOpsExact checks that the operations recorded from index from on
// are exactly want, in order and in every field. Params (jail_set) are
// compared as written, so the order of the parameters counts too.
func (e *env) checkOpsExact(from int, want ...simOp) {
	e.t.Helper()
	got := e.rawOps(from)
	ok := len(got) == len(want)
	wantLines := make([]string, len(want))
	for i, w := range want {
		b, err := json.Marshal(w)
		if err != nil {
			e.t.Fatal(err)
		}
		wantLines[i] = string(b)
		if ok && !sameOp(got[i], wantLines[i]) {
			ok = false
		}
	}
	if !ok {
		e.t.Errorf("kernel ops from %d:\ngot:\n\t%s\nwant:\n\t%s", from, strings.Join(got, "\n\t"), strings.Join(wantLines, "\n\t"))
	}
}

// sameOp compares two ops.jsonl lines field by field: the same fields,
// equal values, and params byte for byte once compacted.
func sameOp(a, b string) bool {
	var ma, mb map[string]json.RawMessage
	if json.Unmarshal([]byte(a), &ma) != nil || json.Unmarshal([]byte(b), &mb) != nil || len(ma) != len(mb) {
		return false
	}
	for k, ra := range ma {
		rb, ok := mb[k]
		if !ok {
			return false
		}
		var ca, cb bytes.Buffer
		if json.Compact(&ca, ra) != nil || json.Compact(&cb, rb) != nil {
			return false
		}
		if k == "params" {
			if !bytes.Equal(ca.Bytes(), cb.Bytes()) {
				return false
			}
			continue
		}
		var va, vb any
		da, db := json.NewDecoder(&ca), json.NewDecoder(&cb)
		da.UseNumber()
		db.UseNumber()
		if da.Decode(&va) != nil || db.Decode(&vb) != nil || !reflect.DeepEqual(va, vb) {
			return false
		}
	}
	return true
}

// The operations of the jail's life that most tests expect.
func jailGetMissing(name string) simOp {
	return simOp{Op: "jail_get", Name: name, Error: fmt.Sprintf("jail_get %q: jail not found", name)}
}

func jailGet(name string) simOp { return simOp{Op: "jail_get", Name: name} }

func jailRemove(jid int) simOp { return simOp{Op: "jail_remove", Jid: jid} }

func jailAttach(jid int) simOp { return simOp{Op: "jail_attach", Jid: jid} }

// jailSetOp is the jail_set of container id of bundle: its name and
// exactly the parameters `runj-go plan` shows.
func (e *env) jailSetOp(bundle, id string) simOp {
	e.t.Helper()
	p := e.plan(bundle, id)
	return simOp{Op: "jail_set", Name: p.Jail.Name, Params: p.Jail.Params}
}

// planOut is the output of `runj-go plan --format json`.
type planOut struct {
	Jail struct {
		Name   string          `json:"name"`
		Parent string          `json:"parent"`
		Params json.RawMessage `json:"params"`
	} `json:"jail"`
	Mounts  []planMount     `json:"mounts"`
	Network []planNetOp     `json:"network"`
	Rctl    []string        `json:"rctl"`
	Devices json.RawMessage `json:"devices"`
}

type planMount struct {
	Type        string   `json:"type"`
	Source      string   `json:"source"`
	Destination string   `json:"destination"`
	Options     []string `json:"options"`
}

type planNetOp struct {
	Op        string `json:"op"`
	Interface string `json:"interface"`
	Address   string `json:"address,omitempty"`
}

// plan runs `runj-go plan --format json` for container id of bundle.
func (e *env) plan(bundle, id string) planOut {
	e.t.Helper()
	r := e.mustRunj("plan", "--format", "json", "--bundle", bundle, id)
	var p planOut
	if err := json.Unmarshal([]byte(r.stdout), &p); err != nil {
		e.t.Fatalf("plan: %v\n%s", err, r.stdout)
	}
	return p
}

// simTable is the part of the simulated kernel's jails.json the tests
// look at: what is mounted, the devfs rulesets made, the rctl rules and
// the interfaces.
type simTable struct {
	Mounts []struct {
		Target string `json:"target"`
		FSType string `json:"fstype"`
		Source string `json:"source"`
	} `json:"mounts"`
	Rulesets map[string]json.RawMessage `json:"rulesets"`
	Rctl     map[string][]string        `json:"rctl"`
	Ifaces   []simIface                 `json:"ifaces"`
}

type simIface struct {
	Name  string   `json:"name"`
	Vnet  int      `json:"vnet"`
	Up    bool     `json:"up"`
	Addrs []string `json:"addrs"`
}

func (e *env) simTable() simTable {
	e.t.Helper()
	var t simTable
	data, err := os.ReadFile(filepath.Join(e.simDir, "jails.json"))
	if errors.Is(err, os.ErrNotExist) {
		return t
	}
	if err != nil {
		e.t.Fatal(err)
	}
	if err := json.Unmarshal(data, &t); err != nil {
		e.t.Fatalf("jails.json: %v", err)
	}
	return t
}

// checkNothingMounted checks that the simulated kernel has no mount and no
// devfs ruleset of the runtime's left.
func (e *env) checkNothingMounted() {
	e.t.Helper()
	t := e.simTable()
	if len(t.Mounts) != 0 || len(t.Rulesets) != 0 {
		e.t.Errorf("left in the kernel: mounts %+v, devfs rulesets %v", t.Mounts, t.Rulesets)
	}
}
