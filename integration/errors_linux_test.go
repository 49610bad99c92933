//go:build linux

package integration

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// snapshot is what a command that fails must leave unchanged.
type snapshot struct {
	ops   int
	state string
	ids   []string
}

func (e *env) snapshot(id string) snapshot {
	e.t.Helper()
	s := snapshot{ops: len(e.ops()), ids: e.listIDs()}
	if b, err := os.ReadFile(filepath.Join(e.root, id, "state.json")); err == nil {
		s.state = string(b)
	}
	return s
}

func (e *env) checkUnchanged(before snapshot, id string) {
	e.t.Helper()
	after := e.snapshot(id)
	if after.ops != before.ops {
		e.t.Errorf("kernel ops: %d recorded, want %d (no kernel operation): %v", after.ops, before.ops, e.ops()[before.ops:])
	}
	if after.state != before.state {
		e.t.Errorf("state.json of %s changed:\nbefore %s\nafter  %s", id, before.state, after.state)
	}
	if !slices.Equal(after.ids, before.ids) {
		e.t.Errorf("containers = %v, want %v", after.ids, before.ids)
	}
}

// checkRootEmpty checks that the state root holds nothing at all, not
// even a temporary directory of a failed create.
func (e *env) checkRootEmpty() {
	e.t.Helper()
	entries, err := os.ReadDir(e.root)
	if err != nil && !os.IsNotExist(err) {
		e.t.Fatal(err)
	}
	for _, d := range entries {
		e.t.Errorf("state root holds %s, want nothing", d.Name())
	}
}

func TestCreateDuplicateID(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.bundle(nil, "sleep")
	e.create("c1", b)
	st := e.state("c1")
	before := e.snapshot("c1")
	// Another bundle, so nothing of the second create can pass for the
	// first's.
	other := e.bundle(nil, "exit", "3")
	e.fails("container with id exists: c1", "create", "--bundle", other, "c1")
	e.checkUnchanged(before, "c1")
	if after := e.state("c1"); after.Pid != st.Pid || after.Bundle != b || after.Status != "created" {
		t.Errorf("state after the duplicate create = %+v, want %+v", after, st)
	}
	if !alive(st.Pid) {
		t.Error("the duplicate create killed the first container's init")
	}
	e.checkOps(0, createOps...)
}

func TestCreateInvalidID(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.bundle(nil, "sleep")
	for id, want := range map[string]string{
		"a.b":                    `contains '.'`,
		"a/b":                    `contains '/'`,
		"1234":                   "all digits",
		"has space":              "white space",
		"":                       "must not be empty",
		strings.Repeat("x", 256): "longer than 255 bytes",
	} {
		e.fails(want, "create", "--bundle", b, id)
	}
	e.fails("create: expects 1 argument(s) (container id), got 0", "create", "--bundle", b)
	e.fails("create: expects 1 argument(s) (container id), got 2", "create", "--bundle", b, "c1", "c2")
	e.fails(`contains '.'`, "state", "../c1")
	if ops := e.ops(); len(ops) != 0 {
		t.Errorf("kernel ops = %v, want none", ops)
	}
	e.checkRootEmpty()
}

func TestStartErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.fails("container does not exist", "start", "nope")
	e.create("c1", e.bundle(nil, "sleep"))
	e.mustRunj("start", "c1")
	st := e.state("c1")
	if st.Status != "running" {
		t.Fatalf("status after start = %s, want running", st.Status)
	}
	before := e.snapshot("c1")
	e.fails("container is not in created state (status running)", "start", "c1")
	e.checkUnchanged(before, "c1")
	if !alive(st.Pid) {
		t.Error("a second start killed the process")
	}
	e.mustRunj("kill", "c1", "KILL")
	e.waitStatus("c1", "stopped")
	before = e.snapshot("c1")
	e.fails("container is not in created state (status stopped)", "start", "c1")
	e.checkUnchanged(before, "c1")
}

func TestKillStopped(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.fails("container does not exist", "kill", "nope", "KILL")
	e.create("c1", e.bundle(nil, "exit", "0"))
	e.mustRunj("start", "c1")
	e.waitStatus("c1", "stopped")
	before := e.snapshot("c1")
	for _, args := range [][]string{{"kill", "c1"}, {"kill", "c1", "KILL"}} {
		r := e.fails("container not running", args...)
		if strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("%s\nwant one line of error", r)
		}
	}
	e.checkUnchanged(before, "c1")
	// With --all, what is left in the jail is signalled: here nothing,
	// which is not an error (runc's kill --all ignores "not running").
	// The jail's id is used only while the jail of the container's name
	// still has it.
	from := len(e.ops())
	e.mustRunj("kill", "--all", "c1", "9")
	e.checkOpsExact(from, jailGet("c1"))
	if s := e.state("c1"); s.Status != "stopped" {
		t.Errorf("status after kill = %s, want stopped", s.Status)
	}
	e.fails(`signal "NOSUCHSIG" is not a valid signal`, "kill", "c1", "NOSUCHSIG")
	e.fails("signal 0 is not a valid signal", "kill", "c1", "0")
}

func TestDeleteNotStopped(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.bundle(nil, "spawn", "2")
	e.create("created", b)
	e.create("running", b)
	e.mustRunj("start", "running")
	running := e.state("running")
	waitFor(t, "the children of the running container", func() bool {
		return len(sessionMembers(t, running.Pid)) == 3
	})
	for id, status := range map[string]string{"created": "created", "running": "running"} {
		before := e.snapshot(id)
		e.fails("cannot delete container "+id+" that is not stopped: "+status, "delete", id)
		e.checkUnchanged(before, id)
		if s := e.state(id); s.Status != status || !alive(s.Pid) {
			t.Errorf("after a refused delete %s is %s, pid %d alive %t; want %s and alive", id, s.Status, s.Pid, alive(s.Pid), status)
		}
	}
	created := e.state("created")
	for _, id := range []string{"created", "running"} {
		from := len(e.ops())
		if r := e.mustRunj("delete", "--force", id); r.stderr != "" {
			t.Errorf("delete --force %s: %s", id, r)
		}
		e.checkGone(id)
		e.checkOps(from, deleteOps...)
	}
	for _, pid := range []int{created.Pid, running.Pid} {
		if alive(pid) {
			t.Errorf("process %d alive after delete --force", pid)
		}
	}
	if left := sessionMembers(t, running.Pid); len(left) != 0 {
		t.Errorf("processes %v of the running container alive after delete --force", left)
	}
	e.checkNoJails()
}

func TestDeleteUnknown(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.fails("container does not exist: nope", "delete", "nope")
	r := e.mustRunj("delete", "--force", "nope")
	if r.stdout != "" || r.stderr != "" {
		t.Errorf("delete --force of an unknown id printed: %s", r)
	}
	if ops := e.ops(); len(ops) != 0 {
		t.Errorf("kernel ops = %v, want none", ops)
	}
}

// TestCreateProgramNotFound: init finds no program to execute, so create
// fails and undoes everything: no state, no jail, no process.
func TestCreateProgramNotFound(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ arg0, want string }{
		{"nothere", `exec: "nothere": executable file not found in $PATH`},
		{"/bin/nothere", `exec: "/bin/nothere": no such file or directory`},
		{"/work", `exec: "/work": is a directory`},
	} {
		t.Run(strings.TrimPrefix(tc.arg0, "/"), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			b := e.bundle(func(s *specs.Spec) { s.Process.Args = []string{tc.arg0} })
			e.fails(tc.want, "create", "--bundle", b, "c1")
			e.checkRootEmpty()
			e.checkOps(0, slices.Concat(createOps, deleteOps)...)
			e.checkNoJails()
			if p := processesUnder(b); len(p) != 0 {
				t.Errorf("processes %v left in the container", p)
			}
			e.fails("container does not exist", "state", "c1")
		})
	}
}

func TestConsoleSocketRules(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tty := e.bundle(func(s *specs.Spec) { s.Process.Terminal = true }, "print")
	e.fails("process.terminal is set: --console-socket is required", "create", "--bundle", tty, "c1")
	noTTY := e.bundle(nil, "print")
	e.fails("--console-socket is given but process.terminal is false", "create", "--bundle", noTTY, "--console-socket", filepath.Join(e.dir, "sock"), "c1")
	e.fails("--console-socket: ", "create", "--bundle", tty, "--console-socket", filepath.Join(e.dir, "nosuchsock"), "c1")
	e.checkRootEmpty()
	e.checkNoJails()
	// The last create got as far as the kernel: its jail was removed.
	for _, op := range e.ops() {
		if op.Op == "jail_attach" {
			t.Errorf("kernel ops %v: nothing may attach to a jail without a console", e.ops())
		}
	}
}

func TestExecStopped(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.fails("container does not exist", "exec", "nope", "ctrhelper", "echo", "hi")
	e.create("c1", e.bundle(nil, "exit", "0"))
	e.mustRunj("start", "c1")
	e.waitStatus("c1", "stopped")
	before := e.snapshot("c1")
	r := e.fails("cannot exec in a stopped container: container not running", "exec", "c1", "ctrhelper", "echo", "hi")
	if r.stdout != "" {
		t.Errorf("exec printed %q", r.stdout)
	}
	e.checkUnchanged(before, "c1")
}

// TestBadConfig: an invalid config.json fails create with an error that
// names the setting, before anything is done.
func TestBadConfig(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		config string
		want   string
	}{
		{"relative cwd", `{"ociVersion":"1.3.0","root":{"path":"rootfs"},"process":{"args":["ctrhelper"],"cwd":"work"}}`,
			`config.json: process.cwd: "work" is not an absolute path`},
		{"args not a list", `{"ociVersion":"1.3.0","root":{"path":"rootfs"},"process":{"args":"ctrhelper","cwd":"/"}}`,
			`config.json: process.args: cannot use JSON string`},
		{"no root", `{"ociVersion":"1.3.0","process":{"args":["ctrhelper"],"cwd":"/"}}`,
			`config.json: root.path: is required`},
		{"missing rootfs", `{"ociVersion":"1.3.0","root":{"path":"nosuchdir"},"process":{"args":["ctrhelper"],"cwd":"/"}}`,
			`config.json: root.path: "nosuchdir"`},
		{"old version", `{"ociVersion":"0.9.0","root":{"path":"rootfs"},"process":{"args":["ctrhelper"],"cwd":"/"}}`,
			`config.json: ociVersion: "0.9.0" is not supported`},
		{"bad env", `{"ociVersion":"1.3.0","root":{"path":"rootfs"},"process":{"args":["ctrhelper"],"cwd":"/","env":["NOEQUALS"]}}`,
			`config.json: process.env[0]: "NOEQUALS" is not KEY=VALUE`},
		{"hook path", `{"ociVersion":"1.3.0","root":{"path":"rootfs"},"process":{"args":["ctrhelper"],"cwd":"/"},"hooks":{"prestart":[{"path":"hook"}]}}`,
			`config.json: hooks.prestart[0].path: "hook" is not an absolute path`},
		{"syntax", `{"ociVersion":"1.3.0",`, `config.json: unexpected EOF`},
		{"no process", `{"ociVersion":"1.3.0","root":{"path":"rootfs"}}`, `config.json: process: is required`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			b := e.bundle(nil)
			if err := os.WriteFile(filepath.Join(b, "config.json"), []byte(tc.config), 0o644); err != nil {
				t.Fatal(err)
			}
			r := e.fails(tc.want, "create", "--bundle", b, "c1")
			if r.stdout != "" {
				t.Errorf("create printed %q", r.stdout)
			}
			if ops := e.ops(); len(ops) != 0 {
				t.Errorf("kernel ops = %v, want none", ops)
			}
			e.checkRootEmpty()
		})
	}
	t.Run("no config.json", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.fails("config.json: no such file or directory", "create", "--bundle", e.dir, "c1")
		e.checkRootEmpty()
	})
}

// TestJSONLog: with --log and --log-format json, an error is a JSON line
// in the log file, the last error line being the command's error (what
// containerd reports), and it still goes to stderr.
func TestJSONLog(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	log := filepath.Join(e.dir, "runj-go.log")
	b := e.bundle(func(s *specs.Spec) { s.Process.Args = []string{"nothere"} })
	want := `exec: "nothere": executable file not found in $PATH`
	e.fails(want, "--log", log, "--log-format", "json", "create", "--bundle", b, "c1")
	if msg := lastLogError(t, log); !strings.Contains(msg, want) {
		t.Errorf("last error in the log = %q, want %q", msg, want)
	}
	e.fails("container does not exist: c2", "--log", log, "--log-format=json", "delete", "c2")
	if msg := lastLogError(t, log); msg != "container does not exist: c2" {
		t.Errorf("last error in the log = %q, want the delete's", msg)
	}
	e.fails(`--log-format: "yaml" is not text or json`, "--log-format", "yaml", "list")
}

// lastLogError reads a JSON log as containerd does (getLastRuntimeError):
// every line must be JSON; it returns the msg of the last error line and
// checks its shape.
func lastLogError(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var msg string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var line struct {
			Level string `json:"level"`
			Msg   string `json:"msg"`
			Time  string `json:"time"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("log line %q is not JSON: %v", sc.Text(), err)
		}
		if _, err := time.Parse(time.RFC3339, line.Time); err != nil {
			t.Errorf("log line %q: time: %v", sc.Text(), err)
		}
		if line.Level == "error" {
			msg = line.Msg
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return msg
}
