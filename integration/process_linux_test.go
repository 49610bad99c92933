//go:build linux

package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestKillAll: kill --all signals every process in the jail: the
// container process, its children and exec'd processes.
func TestKillAll(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.bundle(nil, "spawn", "3")
	e.create("c1", b)
	e.mustRunj("start", "c1")
	init := e.state("c1").Pid
	waitFor(t, "init and its 3 children", func() bool { return len(sessionMembers(t, init)) == 4 })
	pidFile := filepath.Join(e.dir, "exec.pid")
	e.mustRunj("exec", "--detach", "--pid-file", pidFile, "c1", "ctrhelper", "sleep")
	execPid := readPid(t, pidFile)
	all := append(sessionMembers(t, init), execPid)

	e.mustRunj("kill", "--all", "c1", "KILL")
	waitFor(t, "every process of the container to die", func() bool {
		return !slices.ContainsFunc(all, alive)
	})
	e.waitStatus("c1", "stopped")
	if p := processesUnder(b); len(p) != 0 {
		t.Errorf("processes %v left in the container after kill --all", p)
	}
	// kill --all left the jail; delete removes it.
	if j := e.liveJails(); !slices.Equal(j, []string{"c1"}) {
		t.Errorf("jails after kill --all = %v, want c1", j)
	}
	e.mustRunj("delete", "c1")
	e.checkNoJails()
}

// TestKillLeftovers: a jail's processes outlive its init, as in a
// container that shares its PID namespace. Once init is gone the
// container is stopped; ps still lists what is left, a plain kill is
// refused, and kill --all clears the jail (as containerd's shim does on
// init's exit) and succeeds when nothing is left.
func TestKillLeftovers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.bundle(nil, "spawn", "2")
	e.create("c1", b)
	e.mustRunj("start", "c1")
	init := e.state("c1").Pid
	waitFor(t, "init and its 2 children", func() bool { return len(sessionMembers(t, init)) == 3 })
	children := slices.DeleteFunc(sessionMembers(t, init), func(p int) bool { return p == init })
	if err := syscall.Kill(init, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	e.waitStatus("c1", "stopped")
	if got := e.psJSON("c1"); !slices.Equal(got, sorted(children)) {
		t.Errorf("ps of the stopped container = %v, want its leftovers %v", got, sorted(children))
	}
	e.fails("container not running", "kill", "c1", "TERM")
	e.mustRunj("kill", "--all", "c1", "KILL")
	waitFor(t, "the leftovers to die", func() bool { return !slices.ContainsFunc(children, alive) })
	if got := e.psJSON("c1"); len(got) != 0 {
		t.Errorf("ps after kill --all = %v, want none", got)
	}
	e.mustRunj("kill", "--all", "c1", "KILL")
	e.mustRunj("delete", "c1")
	e.checkNoJails()
}

// TestKillSIGKILLTakesTheWholeJail: SIGKILL without --all kills every
// process in the jail, not only init, as runc does for a container that
// shares its PID namespace: nothing outlives a killed container.
func TestKillSIGKILLTakesTheWholeJail(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.bundle(nil, "spawn", "2")
	e.create("c1", b)
	e.mustRunj("start", "c1")
	init := e.state("c1").Pid
	waitFor(t, "init and its 2 children", func() bool { return len(sessionMembers(t, init)) == 3 })
	pidFile := filepath.Join(e.dir, "exec.pid")
	e.mustRunj("exec", "--detach", "--pid-file", pidFile, "c1", "ctrhelper", "sleep")
	all := append(sessionMembers(t, init), readPid(t, pidFile))

	e.mustRunj("kill", "c1", "KILL")
	waitFor(t, "every process of the container to die", func() bool { return !slices.ContainsFunc(all, alive) })
	e.waitStatus("c1", "stopped")
	e.mustRunj("delete", "c1")
	e.checkNoJails()
}

func readPid(t *testing.T, path string) int {
	t.Helper()
	pid, err := strconv.Atoi(strings.TrimSpace(readFile(t, path)))
	if err != nil {
		t.Fatalf("pid file %s: %v", path, err)
	}
	return pid
}

// TestKillSignals: kill takes signals by name, with or without SIG, in
// any case, and by number; the default is TERM. A foreground run reports
// which signal killed the container as 128+n.
func TestKillSignals(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		sig  syscall.Signal
	}{
		{[]string{"TERM"}, syscall.SIGTERM},
		{[]string{"SIGTERM"}, syscall.SIGTERM},
		{[]string{"15"}, syscall.SIGTERM},
		{[]string{"kill"}, syscall.SIGKILL},
		{[]string{"sigint"}, syscall.SIGINT},
		{nil, syscall.SIGTERM},
	} {
		name := "default"
		if len(tc.args) > 0 {
			name = tc.args[0]
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			b := e.bundle(nil, "sleep")
			_, wait := e.background(cmdOpts{}, "run", "--bundle", b, "c1")
			e.waitStatus("c1", "running")
			e.mustRunj(append([]string{"kill", "c1"}, tc.args...)...)
			r := wait()
			if want := 128 + int(tc.sig); r.code != want {
				t.Errorf("run exited %d, want %d (killed by %v)\n%s", r.code, want, tc.sig, r)
			}
			e.checkGone("c1")
			e.checkNoJails()
		})
	}
}

// TestExec runs processes in a running container with exec, in the
// foreground and detached.
func TestExec(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.bundle(func(s *specs.Spec) { s.Process.Env = []string{"PATH=/bin", "BASE=1"} }, "sleep")
	e.create("c1", b)
	e.mustRunj("start", "c1")
	init := e.state("c1").Pid

	t.Run("output", func(t *testing.T) {
		r := e.mustRunj("exec", "c1", "ctrhelper", "print", "a b")
		rep := parseReport(t, r.stdout)
		if !slices.Equal(rep.Args, []string{"ctrhelper", "print", "a b"}) || !slices.Equal(rep.Env, []string{"PATH=/bin", "BASE=1"}) {
			t.Errorf("exec'd process args %q env %q, want its args and the container's env", rep.Args, rep.Env)
		}
		if rep.Cwd != "/" || rep.UID != 0 || rep.Tty || !slices.Equal(rep.OpenFds, []int{0, 1, 2}) {
			t.Errorf("exec'd process = %+v", rep)
		}
		if rep.SessionID != rep.Pid || rep.SessionID == init {
			t.Errorf("exec'd process sid %d, want a session of its own", rep.SessionID)
		}
	})
	t.Run("flags", func(t *testing.T) {
		r := e.mustRunj("exec", "--cwd", "/work", "-e", "EXTRA=x y", "--user", "1000:1001", "--additional-gids", "10", "-g", "11", "c1", "ctrhelper", "print")
		rep := parseReport(t, r.stdout)
		if rep.Cwd != "/work" || rep.UID != 1000 || rep.GID != 1001 || !slices.Equal(rep.Groups, []int{10, 11}) {
			t.Errorf("exec'd process cwd %s uid %d gid %d groups %v, want /work 1000 1001 [10 11]", rep.Cwd, rep.UID, rep.GID, rep.Groups)
		}
		if !slices.Equal(rep.Env, []string{"PATH=/bin", "BASE=1", "EXTRA=x y"}) {
			t.Errorf("exec'd process env %q", rep.Env)
		}
	})
	t.Run("process file", func(t *testing.T) {
		p := specs.Process{Args: []string{"ctrhelper", "print", "from-file"}, Env: []string{"PATH=/bin", "ONLY=this"}, Cwd: "/work", User: specs.User{UID: 7, GID: 8}}
		data, _ := json.Marshal(p)
		file := filepath.Join(e.dir, "process.json")
		if err := os.WriteFile(file, data, 0o644); err != nil {
			t.Fatal(err)
		}
		rep := parseReport(t, e.mustRunj("exec", "--process", file, "c1").stdout)
		if !slices.Equal(rep.Args, p.Args) || !slices.Equal(rep.Env, p.Env) || rep.Cwd != "/work" || rep.UID != 7 || rep.GID != 8 {
			t.Errorf("exec --process: %+v, want %+v", rep, p)
		}
		bad := filepath.Join(e.dir, "bad.json")
		if err := os.WriteFile(bad, []byte(`{"args":["ctrhelper"],"cwd":"relative"}`), 0o644); err != nil {
			t.Fatal(err)
		}
		e.fails(bad+`: process.cwd: "relative" is not an absolute path`, "exec", "--process", bad, "c1")
	})
	t.Run("exit status", func(t *testing.T) {
		for _, code := range []int{0, 1, 5, 42} {
			r := e.runj("exec", "c1", "ctrhelper", "exit", strconv.Itoa(code))
			if r.code != code || r.stderr != "" {
				t.Errorf("exec of exit %d: %s", code, r)
			}
		}
		e.fails(`exec: "nothere": executable file not found in $PATH`, "exec", "c1", "nothere")
	})
	t.Run("forwards signals", func(t *testing.T) {
		pidFile := filepath.Join(e.dir, "foreground.pid")
		exec, wait := e.background(cmdOpts{}, "exec", "--pid-file", pidFile, "c1", "ctrhelper", "sleep")
		waitFor(t, "the pid file", func() bool {
			_, err := os.Stat(pidFile)
			return err == nil
		})
		pid := readPid(t, pidFile)
		if err := exec.Process.Signal(syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		if r := wait(); r.code != 128+int(syscall.SIGINT) {
			t.Errorf("%s\nwant exit status %d", r, 128+int(syscall.SIGINT))
		}
		if alive(pid) {
			t.Errorf("exec'd process %d alive after runj-go exec got SIGINT", pid)
		}
	})
	t.Run("detach", func(t *testing.T) {
		pidFile := filepath.Join(e.dir, "detached.pid")
		r := e.mustRunj("exec", "--detach", "--pid-file", pidFile, "c1", "ctrhelper", "sleep")
		if r.stdout != "" || r.stderr != "" {
			t.Errorf("exec --detach printed: %s", r)
		}
		pid := readPid(t, pidFile)
		if !alive(pid) {
			t.Fatalf("detached process %d is not running", pid)
		}
		if root, _ := os.Readlink("/proc/" + strconv.Itoa(pid) + "/root"); root != filepath.Join(b, "rootfs") {
			t.Errorf("detached process root %q, want the jail's %s", root, filepath.Join(b, "rootfs"))
		}
		if !slices.Contains(processesUnder(b), pid) {
			t.Errorf("detached process %d not in the container", pid)
		}
		// The container stays running; delete --force ends the
		// detached process too.
		if s := e.state("c1"); s.Status != "running" || s.Pid != init {
			t.Errorf("state after exec = %+v", s)
		}
		e.mustRunj("delete", "--force", "c1")
		if alive(pid) {
			t.Errorf("detached process %d alive after delete --force", pid)
		}
		e.checkNoJails()
	})
}

// TestRun: a foreground run exits with the container's status and
// deletes it; --keep leaves it stopped; --detach returns while it runs.
func TestRun(t *testing.T) {
	t.Parallel()
	t.Run("foreground", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		r := e.runj("run", "--bundle", e.bundle(nil, "exit", "7"), "c1")
		if r.code != 7 || r.stderr != "" {
			t.Errorf("%s\nwant exit status 7 and no error", r)
		}
		e.checkGone("c1")
		e.checkOps(0, slices.Concat(createOps, deleteOps)...)
		e.checkNoJails()
	})
	t.Run("output", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		r := e.mustRunj("run", "--bundle", e.bundle(nil, "print", "run"), "c1")
		if rep := parseReport(t, r.stdout); !slices.Equal(rep.Args, []string{"ctrhelper", "print", "run"}) {
			t.Errorf("run's output = %q", r.stdout)
		}
		e.checkGone("c1")
	})
	t.Run("keep", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		r := e.runj("run", "--keep", "--bundle", e.bundle(nil, "exit", "3"), "c1")
		if r.code != 3 {
			t.Errorf("%s\nwant exit status 3", r)
		}
		if s := e.state("c1"); s.Status != "stopped" {
			t.Errorf("status after run --keep = %s, want stopped", s.Status)
		}
		if j := e.liveJails(); !slices.Equal(j, []string{"c1"}) {
			t.Errorf("jails after run --keep = %v, want c1", j)
		}
		e.mustRunj("delete", "c1")
		e.checkGone("c1")
		e.checkNoJails()
	})
	t.Run("detach", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		pidFile := filepath.Join(e.dir, "run.pid")
		r := e.mustRunj("run", "--detach", "--pid-file", pidFile, "--bundle", e.bundle(nil, "sleep"), "c1")
		if r.stdout != "" || r.stderr != "" {
			t.Errorf("run --detach printed: %s", r)
		}
		s := e.state("c1")
		if s.Status != "running" || s.Pid != readPid(t, pidFile) || !alive(s.Pid) {
			t.Errorf("state after run --detach = %+v, want running with the pid of --pid-file", s)
		}
		e.mustRunj("delete", "--force", "c1")
		e.checkGone("c1")
		e.checkNoJails()
	})
	t.Run("forwards signals", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		run, wait := e.background(cmdOpts{}, "run", "--bundle", e.bundle(nil, "sleep"), "c1")
		// As soon as the container runs, a signal to runj-go goes to
		// the container, which it kills: run reports it and deletes
		// the container.
		e.waitStatus("c1", "running")
		if err := run.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if r := wait(); r.code != 128+int(syscall.SIGTERM) {
			t.Errorf("%s\nwant exit status %d", r, 128+int(syscall.SIGTERM))
		}
		e.checkGone("c1")
		e.checkNoJails()
	})
	t.Run("fails", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.fails(`exec: "nothere": executable file not found in $PATH`, "run", "--bundle", e.bundle(func(s *specs.Spec) { s.Process.Args = []string{"nothere"} }), "c1")
		e.checkRootEmpty()
		e.checkNoJails()
	})
}

// TestDeleteAfterKill9: a container whose init was killed outside the
// runtime is stopped, and a plain delete removes it.
func TestDeleteAfterKill9(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.create("c1", e.bundle(nil, "sleep"))
	e.mustRunj("start", "c1")
	pid := e.state("c1").Pid
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if s := e.waitStatus("c1", "stopped"); s.Pid != 0 {
		t.Errorf("stopped state has pid %d", s.Pid)
	}
	e.mustRunj("delete", "c1")
	e.checkGone("c1")
	e.checkOps(0, slices.Concat(createOps, deleteOps)...)
	e.checkNoJails()
}

// TestKillCreated: a created container can be killed (runc does it; runj
// refused it).
func TestKillCreated(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.create("c1", e.bundle(nil, "sleep"))
	pid := e.state("c1").Pid
	e.mustRunj("kill", "c1", "KILL")
	e.waitStatus("c1", "stopped")
	if alive(pid) {
		t.Errorf("init %d alive after kill", pid)
	}
	e.fails("container is not in created state (status stopped)", "start", "c1")
	e.mustRunj("delete", "c1")
	e.checkNoJails()
}

// TestPreserveFds: --preserve-fds passes descriptors after stdio to the
// container process, and no others.
func TestPreserveFds(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var files []*os.File
	for range 2 {
		f, err := os.CreateTemp(e.dir, "preserved-")
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		files = append(files, f)
	}
	r := e.runjWith(cmdOpts{files: files}, "run", "--preserve-fds", "2", "--bundle", e.bundle(nil, "print"), "c1")
	if r.code != 0 {
		t.Fatalf("%s", r)
	}
	if rep := parseReport(t, r.stdout); !slices.Equal(rep.OpenFds, []int{0, 1, 2, 3, 4}) {
		t.Errorf("open fds of the process = %v, want stdio and 3, 4", rep.OpenFds)
	}
	r = e.runjWith(cmdOpts{files: files}, "run", "--bundle", e.bundle(nil, "print"), "c2")
	if rep := parseReport(t, r.stdout); !slices.Equal(rep.OpenFds, []int{0, 1, 2}) {
		t.Errorf("open fds of the process without --preserve-fds = %v, want stdio", rep.OpenFds)
	}
}

// TestRunTerminal: run and exec in the foreground with a terminal and no
// console socket: runj-go holds the pty and copies all of the process's
// output to its stdout before it exits.
func TestRunTerminal(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	big := strings.Repeat("x", 60000)
	b := e.bundle(func(s *specs.Spec) {
		s.Process.Terminal = true
		s.Process.ConsoleSize = &specs.Box{Height: 10, Width: 20}
	}, "print", big)
	for i := range 3 {
		id := "c" + strconv.Itoa(i)
		// --keep: run returns as soon as the process has exited.
		r := e.mustRunj("run", "--keep", "--bundle", b, id)
		rep := parseReport(t, r.stdout)
		if !rep.Tty || rep.TtyRows != 10 || rep.TtyCols != 20 || len(rep.Args) != 3 || rep.Args[2] != big {
			t.Errorf("run with a terminal: tty %t %dx%d, args of %d bytes", rep.Tty, rep.TtyRows, rep.TtyCols, len(strings.Join(rep.Args, "")))
		}
		e.mustRunj("delete", id)
	}
	e.create("sleeper", e.bundle(nil, "sleep"))
	e.mustRunj("start", "sleeper")
	for range 3 {
		r := e.mustRunj("exec", "--tty", "sleeper", "ctrhelper", "print", big)
		if rep := parseReport(t, r.stdout); !rep.Tty || rep.Args[2] != big {
			t.Errorf("exec --tty: tty %t, args of %d bytes", rep.Tty, len(strings.Join(rep.Args, "")))
		}
	}
}

// TestExecThatCannotExecute: when execve fails (here a file that is no
// program), exec fails with the reason, detached too, and writes no pid
// file: init keeps its pipe to the runtime open until the exec and
// reports its failure there.
func TestExecThatCannotExecute(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.bundle(nil, "sleep")
	if err := os.WriteFile(filepath.Join(b, "rootfs", "bin", "bad"), []byte("no program\x00"), 0o755); err != nil {
		t.Fatal(err)
	}
	e.create("c1", b)
	e.mustRunj("start", "c1")
	pidFile := filepath.Join(e.dir, "exec.pid")
	e.fails("exec in container c1: exec bad: exec format error", "exec", "--detach", "--pid-file", pidFile, "c1", "bad")
	if _, err := os.Stat(pidFile); !os.IsNotExist(err) {
		t.Errorf("pid file of a failed exec: %v, want none", err)
	}
	e.fails("exec in container c1: exec bad: exec format error", "exec", "c1", "bad")
	if s := e.state("c1"); s.Status != "running" {
		t.Errorf("status after the failed execs = %s, want running", s.Status)
	}
	e.mustRunj("delete", "--force", "c1")
}
