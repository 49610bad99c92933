//go:build linux

package integration

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// hookLine is one line `ctrhelper hook FILE` appends to FILE.
type hookLine struct {
	Argv  []string        `json:"argv"`
	Stdin json.RawMessage `json:"stdin"`
	Env   []string        `json:"env"`
}

// hookLog is where the hooks of a bundle write: one file inside the
// rootfs, so that hooks on the host (by its host path) and hooks in the
// jail (by its path inside the jail) append to the same file, in order.
type hookLog struct {
	host string // the file seen from the host
	// marker is an argument of every hook, unique to the test, to find
	// its processes.
	marker string
}

const hookLogInJail = "/hooks.log"

func newHookLog(bundle string) hookLog {
	return hookLog{host: filepath.Join(bundle, "rootfs", hookLogInJail), marker: "marker=" + bundle}
}

// hook is a hook running ctrhelper that logs its name. In the jail the
// program is the host's ctrhelper for createContainer (opened on the host,
// runtime.md: "path MUST resolve in the runtime namespace") and the
// container's /bin/ctrhelper for startContainer ("in the container
// namespace").
func (l hookLog) hook(name string, env ...string) specs.Hook {
	path, file := helperBin, l.host
	switch name {
	case "createContainer":
		file = hookLogInJail
	case "startContainer":
		path, file = "/bin/ctrhelper", hookLogInJail
	}
	return specs.Hook{Path: path, Args: []string{"ctrhelper", "hook", file, l.marker, name}, Env: env}
}

func (l hookLog) lines(t *testing.T) []hookLine {
	t.Helper()
	f, err := os.Open(l.host)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []hookLine
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l hookLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("hook log line %q: %v", sc.Text(), err)
		}
		out = append(out, l)
	}
	return out
}

// hookName is the name a hook was given: its last argument.
func hookName(args []string) string { return args[len(args)-1] }

// names is the hooks that ran, in order.
func (l hookLog) names(t *testing.T) []string {
	t.Helper()
	var names []string
	for _, line := range l.lines(t) {
		names = append(names, hookName(line.Argv))
	}
	return names
}

// hookBundle is a bundle running ctrhelper with args, with the hooks that
// hooks returns for its hook log.
func hookBundle(e *env, hooks func(hookLog) *specs.Hooks, args ...string) (string, hookLog) {
	e.t.Helper()
	b := e.bundle(func(s *specs.Spec) {
		s.Annotations = map[string]string{"com.example.hooks": "yes"}
	}, args...)
	log := newHookLog(b)
	var spec specs.Spec
	if err := json.Unmarshal([]byte(readFile(e.t, filepath.Join(b, "config.json"))), &spec); err != nil {
		e.t.Fatal(err)
	}
	spec.Hooks = hooks(log)
	writeSpec(e.t, b, &spec)
	return b, log
}

// TestHooks runs every kind of hook over a whole lifecycle and checks
// their order, where they ran and the state each got on stdin.
func TestHooks(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b, log := hookBundle(e, func(l hookLog) *specs.Hooks {
		return &specs.Hooks{
			//lint:ignore SA1019 prestart is deprecated but runtime.md still runs it.
			Prestart:        []specs.Hook{l.hook("prestart", "HOOK=prestart", "X=1")},
			CreateRuntime:   []specs.Hook{l.hook("createRuntime", "HOOK=createRuntime")},
			CreateContainer: []specs.Hook{l.hook("createContainer", "HOOK=createContainer")},
			StartContainer:  []specs.Hook{l.hook("startContainer", "HOOK=startContainer")},
			Poststart:       []specs.Hook{l.hook("poststart", "HOOK=poststart")},
			Poststop:        []specs.Hook{l.hook("poststop", "HOOK=poststop"), l.hook("poststop2", "HOOK=poststop2")},
		}
	}, "sleep")
	e.create("c1", b)
	if got, want := log.names(t), []string{"prestart", "createRuntime", "createContainer"}; !slices.Equal(got, want) {
		t.Errorf("hooks after create = %v, want %v", got, want)
	}
	st := e.state("c1")
	e.mustRunj("start", "c1")
	if got, want := log.names(t), []string{"prestart", "createRuntime", "createContainer", "startContainer", "poststart"}; !slices.Equal(got, want) {
		t.Errorf("hooks after start = %v, want %v", got, want)
	}
	e.mustRunj("kill", "c1", "KILL")
	e.waitStatus("c1", "stopped")
	e.mustRunj("delete", "c1")
	lines := log.lines(t)
	if got, want := log.names(t), []string{"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop", "poststop2"}; !slices.Equal(got, want) {
		t.Fatalf("hooks after delete = %v, want %v", got, want)
	}
	wantStatus := []string{"creating", "creating", "creating", "created", "running", "stopped", "stopped"}
	for i, line := range lines {
		name := hookName(line.Argv)
		var s ociState
		if err := json.Unmarshal(line.Stdin, &s); err != nil {
			t.Errorf("%s hook: stdin %s is not the state: %v", name, line.Stdin, err)
			continue
		}
		if s.ID != "c1" || s.Status != wantStatus[i] || s.Bundle != b || s.OCIVersion == "" {
			t.Errorf("%s hook: state %s, want id c1, status %s, bundle %s", name, line.Stdin, wantStatus[i], b)
		}
		if i < 5 && s.Pid != st.Pid {
			t.Errorf("%s hook: state pid %d, want %d", name, s.Pid, st.Pid)
		}
		if s.Annotations["com.example.hooks"] != "yes" || s.Annotations["org.freebsd.jail.jid"] == "" {
			t.Errorf("%s hook: annotations %v", name, s.Annotations)
		}
		wantEnv := []string{"HOOK=" + name}
		if name == "prestart" {
			wantEnv = append(wantEnv, "X=1")
		}
		if !slices.Equal(line.Env, wantEnv) {
			t.Errorf("%s hook: env %q, want %q", name, line.Env, wantEnv)
		}
	}
	// Each hook in the jail attaches to it before it executes; the
	// createContainer program is executed by descriptor.
	ops := e.checkOps(0, "jail_get!", "jail_set", "jail_attach", "jail_attach", "fexecve", "jail_attach", "jail_get", "jail_remove")
	if want := []string{"ctrhelper", "hook", hookLogInJail, log.marker, "createContainer"}; !slices.Equal(ops[4].Argv, want) {
		t.Errorf("fexecve argv = %q, want %q", ops[4].Argv, want)
	}
	for _, i := range []int{3, 5} {
		if ops[i].Jid != ops[2].Jid {
			t.Errorf("hook attached to jail %d, want the container's %d", ops[i].Jid, ops[2].Jid)
		}
	}
	e.checkNoJails()
}

// TestHookFailures: a failing or timed-out hook fails its command and
// stops the container; a failing poststop hook is only a warning.
func TestHookFailures(t *testing.T) {
	t.Parallel()
	one := 1
	for _, tc := range []struct {
		name   string
		failed string // the failing hook
		env    []string
		want   string
	}{
		{"prestart fails", "prestart", []string{"HOOK_EXIT=3"}, "prestart hook #0 (" + helperBin + "): exit status 3: hook failing on purpose"},
		{"createRuntime fails", "createRuntime", []string{"HOOK_EXIT=4"}, "createRuntime hook #0"},
		{"createContainer fails", "createContainer", []string{"HOOK_EXIT=5"}, "createContainer hook #0 (" + helperBin + "): exit status 5"},
		{"prestart times out", "prestart", []string{"HOOK_SLEEP=1"}, "prestart hook #0 (" + helperBin + "): timed out after 1s"},
		{"createContainer times out", "createContainer", []string{"HOOK_SLEEP=1"}, "createContainer hook #0 (" + helperBin + "): timed out after 1s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			b, log := hookBundle(e, func(l hookLog) *specs.Hooks {
				h := &specs.Hooks{
					//lint:ignore SA1019 prestart is deprecated but runtime.md still runs it.
					Prestart:        []specs.Hook{l.hook("prestart")},
					CreateRuntime:   []specs.Hook{l.hook("createRuntime")},
					CreateContainer: []specs.Hook{l.hook("createContainer")},
					Poststop:        []specs.Hook{l.hook("poststop")},
				}
				//lint:ignore SA1019 prestart is deprecated but runtime.md still runs it.
				for _, list := range []*[]specs.Hook{&h.Prestart, &h.CreateRuntime, &h.CreateContainer} {
					if hk := &(*list)[0]; hookName(hk.Args) == tc.failed {
						hk.Env = tc.env
						hk.Timeout = &one
					}
				}
				return h
			}, "sleep")
			e.fails(tc.want, "create", "--bundle", b, "c1")
			// The hooks up to the failing one ran, then delete's
			// poststop (runtime.md: "continue the lifecycle at step 12").
			all := []string{"prestart", "createRuntime", "createContainer"}
			want := append(all[:slices.Index(all, tc.failed)+1:slices.Index(all, tc.failed)+1], "poststop")
			if got := log.names(t); !slices.Equal(got, want) {
				t.Errorf("hooks = %v, want %v", got, want)
			}
			e.checkRootEmpty()
			e.checkNoJails()
			ops := opNames(e.ops())
			if !slices.Equal(ops[:3], createOps) || !slices.Equal(ops[len(ops)-2:], deleteOps) {
				t.Errorf("kernel ops = %v, want create's then delete's", ops)
			}
			if p := processesUnder(b); len(p) != 0 {
				t.Errorf("container processes %v left", p)
			}
			// A timed-out hook is killed, not left running.
			if p := processesWithArg(t, log.marker); len(p) != 0 {
				t.Errorf("hook processes %v left", p)
			}
		})
	}
}

func TestStartHookFailures(t *testing.T) {
	t.Parallel()
	for _, failed := range []string{"startContainer", "poststart"} {
		t.Run(failed, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			b, log := hookBundle(e, func(l hookLog) *specs.Hooks {
				return &specs.Hooks{
					StartContainer: []specs.Hook{l.hook("startContainer", hookEnv(failed == "startContainer")...)},
					Poststart:      []specs.Hook{l.hook("poststart", hookEnv(failed == "poststart")...)},
					Poststop:       []specs.Hook{l.hook("poststop")},
				}
			}, "sleep")
			e.create("c1", b)
			pid := e.state("c1").Pid
			e.fails(failed+" hook #0", "start", "c1")
			// The container is stopped; delete undoes it.
			e.waitStatus("c1", "stopped")
			if alive(pid) {
				t.Errorf("init %d alive after a failed %s hook", pid, failed)
			}
			e.mustRunj("delete", "c1")
			e.checkGone("c1")
			e.checkNoJails()
			want := []string{"startContainer", "poststop"}
			if failed == "poststart" {
				want = []string{"startContainer", "poststart", "poststop"}
			}
			if got := log.names(t); !slices.Equal(got, want) {
				t.Errorf("hooks = %v, want %v", got, want)
			}
		})
	}
}

func hookEnv(fail bool) []string {
	if fail {
		return []string{"HOOK_EXIT=1"}
	}
	return nil
}

// TestStartContainerHookPath: a startContainer hook's path resolves in
// the container (runtime.md), not on the host.
func TestStartContainerHookPath(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b, log := hookBundle(e, func(l hookLog) *specs.Hooks {
		h := l.hook("startContainer")
		h.Path = helperBin // a host path, absent from the container
		return &specs.Hooks{StartContainer: []specs.Hook{h}}
	}, "sleep")
	e.create("c1", b)
	e.fails("startContainer hook #0 ("+helperBin+")", "start", "c1")
	if got := log.names(t); len(got) != 0 {
		t.Errorf("hooks = %v, want none to run", got)
	}
}

func TestPoststopFailureIsAWarning(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b, log := hookBundle(e, func(l hookLog) *specs.Hooks {
		return &specs.Hooks{Poststop: []specs.Hook{l.hook("poststop", "HOOK_EXIT=2"), l.hook("poststop2")}}
	}, "exit", "0")
	e.create("c1", b)
	e.mustRunj("start", "c1")
	e.waitStatus("c1", "stopped")
	r := e.mustRunj("delete", "c1")
	if !strings.Contains(r.stderr, "level=warning") || !strings.Contains(r.stderr, "poststop hook #0") {
		t.Errorf("delete: %s\nwant a warning naming the poststop hook", r)
	}
	e.checkGone("c1")
	e.checkNoJails()
	// runtime.md: "the remaining hooks and lifecycle continue as if the
	// hook had succeeded".
	if got, want := log.names(t), []string{"poststop", "poststop2"}; !slices.Equal(got, want) {
		t.Errorf("hooks = %v, want %v", got, want)
	}
}

// processesWithArg returns the live processes with arg in their command
// line.
func processesWithArg(t *testing.T, arg string) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var out []int
	for _, d := range entries {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile("/proc/" + d.Name() + "/cmdline")
		if err != nil || !alive(pid) {
			continue
		}
		if slices.Contains(strings.Split(string(cmdline), "\x00"), arg) {
			out = append(out, pid)
		}
	}
	return out
}

// TestHooksRunBeforeTheProcessIsResolved: the create hooks run before init
// changes to the working directory and looks the program up, as runc's
// do, so hooks can provide both: here a prestart hook makes the working
// directory and a createRuntime hook installs the program.
func TestHooksRunBeforeTheProcessIsResolved(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.bundle(func(s *specs.Spec) {
		s.Process.Args = []string{"newbin", "print"}
		s.Process.Cwd = "/made-by-hook"
	})
	rootfs := filepath.Join(b, "rootfs")
	hostTool := func(name string) string {
		path, err := exec.LookPath(name)
		if err != nil {
			t.Fatalf("the host needs %s: %v", name, err)
		}
		return path
	}
	var spec specs.Spec
	if err := json.Unmarshal([]byte(readFile(t, filepath.Join(b, "config.json"))), &spec); err != nil {
		t.Fatal(err)
	}
	spec.Hooks = &specs.Hooks{
		//lint:ignore SA1019 prestart is deprecated but runtime.md still runs it.
		Prestart:      []specs.Hook{{Path: hostTool("mkdir"), Args: []string{"mkdir", filepath.Join(rootfs, "made-by-hook")}}},
		CreateRuntime: []specs.Hook{{Path: hostTool("cp"), Args: []string{"cp", helperBin, filepath.Join(rootfs, "bin", "newbin")}}},
	}
	writeSpec(t, b, &spec)

	r := e.mustRunj("run", "--bundle", b, "c1")
	rep := parseReport(t, r.stdout)
	if rep.Cwd != "/made-by-hook" || !slices.Equal(rep.Args, []string{"newbin", "print"}) {
		t.Errorf("process ran with args %q in %s, want newbin in /made-by-hook", rep.Args, rep.Cwd)
	}
	e.checkGone("c1")
}
